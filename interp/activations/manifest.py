"""`manifest.json`: what a store holds, who made it, and which shards are complete.

Every write of the manifest (and of every other store file) goes to a temporary name in the
same directory, is flushed to disk, and is renamed over the old file, so a reader sees the old
version or the new one and never half of either.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from interp.activations.errors import ActivationsError
from interp.activations.positions import Positions

FORMAT = "interp-activation-store"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
EXAMPLES = "examples.jsonl"
#: Fields that must agree before an existing store is resumed or reused.
IDENTITY = ("fingerprint", "prompt_hash", "hooks", "positions", "dtype", "interventions")


def shard_name(index: int) -> str:
    return f"shard-{index:05d}.safetensors"


@dataclass(frozen=True)
class ShardRecord:
    """One committed shard: prompts `start:stop`, its `rows` (tokens for 'all'), checksum."""

    index: int
    file: str
    start: int
    stop: int
    rows: int
    sha256: str
    bytes: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StoreManifest:
    """The contents of `manifest.json`.

    Example:
        >>> StoreManifest.read("activations/run1").hooks
        ('blocks.10.hook_resid_post', 'blocks.15.hook_resid_post')
    """

    model_name: str
    fingerprint: str
    prompt_set: str
    prompt_hash: str
    n_prompts: int
    hooks: tuple[str, ...]
    positions: Positions
    dtype: str
    row_shapes: dict[str, tuple[int, ...]]
    shard_size: int
    shards: tuple[ShardRecord, ...] = ()
    complete: bool = False
    settings: dict = field(default_factory=dict)  # batch size, padding side: not identity
    interventions: tuple[dict, ...] = ()
    """The interventions active on the model while it was cached (steering, ablation, ...)."""

    @property
    def n_shards(self) -> int:
        return math.ceil(self.n_prompts / self.shard_size)

    @property
    def n_rows(self) -> int:
        """Rows per hook: prompts, or tokens for the 'all' rule (committed shards only)."""
        return sum(s.rows for s in self.shards)

    def shard_range(self, index: int) -> tuple[int, int]:
        """Prompts `start:stop` of shard `index`."""
        start = index * self.shard_size
        return start, min(self.n_prompts, start + self.shard_size)

    def shape(self, hook: str) -> tuple[int, ...]:
        return (self.n_rows, *self.positions.row_prefix, *self.row_shapes[hook])

    def with_shards(self, shards, *, complete: bool | None = None) -> StoreManifest:
        ordered = tuple(sorted({s.index: s for s in shards}.values(), key=lambda s: s.index))
        return replace(
            self, shards=ordered, complete=self.complete if complete is None else complete
        )

    def differences(self, other: StoreManifest) -> list[str]:
        """What makes `other` a different job: one line per differing identity field."""
        mine, theirs = self.identity(), other.identity()
        return [
            f"{k}: store has {mine[k]!r}, request has {theirs[k]!r}"
            for k in IDENTITY
            if mine[k] != theirs[k]
        ]

    def identity(self) -> dict:
        return {
            "fingerprint": self.fingerprint,
            "prompt_hash": self.prompt_hash,
            "hooks": list(self.hooks),
            "positions": self.positions.to_json(),
            "dtype": self.dtype,
            "interventions": json.loads(json.dumps(list(self.interventions))),
        }

    def to_dict(self) -> dict:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "model": {"name": self.model_name, "fingerprint": self.fingerprint},
            "prompts": {"name": self.prompt_set, "hash": self.prompt_hash, "n": self.n_prompts},
            "hooks": list(self.hooks),
            "positions": self.positions.to_json(),
            "dtype": self.dtype,
            "row_shapes": {h: list(s) for h, s in self.row_shapes.items()},
            "shapes": {h: list(self.shape(h)) for h in self.hooks},
            "shard_size": self.shard_size,
            "n_shards": self.n_shards,
            "complete": self.complete,
            "settings": self.settings,
            "interventions": list(self.interventions),
            "shards": [s.to_dict() for s in self.shards],
        }

    @classmethod
    def from_dict(cls, data: dict) -> StoreManifest:
        if data.get("format") != FORMAT:
            raise ActivationsError(
                f"not an activation store manifest (format {data.get('format')!r})."
            )
        if data.get("format_version") != FORMAT_VERSION:
            raise ActivationsError(
                f"store format version {data.get('format_version')} is not {FORMAT_VERSION}, the "
                "one this version of interp reads; re-cache into a new directory."
            )
        return cls(
            model_name=data["model"]["name"],
            fingerprint=data["model"]["fingerprint"],
            prompt_set=data["prompts"]["name"],
            prompt_hash=data["prompts"]["hash"],
            n_prompts=data["prompts"]["n"],
            hooks=tuple(data["hooks"]),
            positions=Positions.from_json(data["positions"]),
            dtype=data["dtype"],
            row_shapes={h: tuple(s) for h, s in data["row_shapes"].items()},
            shard_size=data["shard_size"],
            shards=tuple(ShardRecord(**s) for s in data["shards"]),
            complete=data["complete"],
            settings=data.get("settings", {}),
            interventions=tuple(data.get("interventions", ())),
        )

    def write(self, directory: str | Path) -> None:
        write_atomic(Path(directory) / MANIFEST, json.dumps(self.to_dict(), indent=1).encode())

    @classmethod
    def read(cls, directory: str | Path) -> StoreManifest:
        path = Path(directory) / MANIFEST
        if not path.is_file():
            raise ActivationsError(
                f"{directory} is not an activation store: it has no {MANIFEST}. Create one with "
                "cache_activations(model, prompts, hooks, store=DIR)."
            )
        try:
            data = json.loads(path.read_text())
            return cls.from_dict(data)
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ActivationsError(
                f"{path} is not a valid store manifest ({err}); re-cache into a new directory."
            ) from None


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that `path` is always either the old file or the new one."""
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
