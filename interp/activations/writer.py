"""Writing a store shard by shard, so that a run killed at any moment resumes where it stopped.

A shard is written to a temporary name, flushed and renamed into place; only then is it
recorded (in `manifest.json` for one process, in the rank's `progress-rank-R.json` when
several ranks write), again by an atomic rename. A shard file that no record names is
recomputed on resume, so a kill between the rename and the record costs one shard of work.
When every shard is recorded, rank 0 folds the progress files into the manifest and marks
it complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Sequence
from pathlib import Path

from safetensors.torch import save as save_safetensors

from interp.activations.distributed import Ranks
from interp.activations.engine import ChunkResult
from interp.activations.errors import ActivationsError, StoreMismatchError
from interp.activations.inputs import CachedPrompt
from interp.activations.manifest import (
    EXAMPLES,
    FORMAT,
    MANIFEST,
    ShardRecord,
    StoreManifest,
    shard_name,
    write_atomic,
)

logger = logging.getLogger(__name__)

_PROGRESS = "progress-rank-{rank:05d}.json"


class StoreWriter:
    """Creates or resumes the store at `path` for the job described by `request`."""

    def __init__(self, path: str | Path, request: StoreManifest, ranks: Ranks, *, overwrite: bool):
        self.path = Path(path)
        self.request = request
        self.ranks = ranks
        self.overwrite = overwrite
        self.manifest = request
        self._progress: list[ShardRecord] = []

    # --- set-up ---------------------------------------------------------------------------
    def prepare(self, examples: Sequence[CachedPrompt]) -> StoreManifest:
        """Check any existing store against the request, then create or resume it."""
        existing = self._inspect()  # every rank checks, so every rank raises the same error
        self.ranks.barrier()
        if self.ranks.is_main:
            if existing is None:
                self._remove_store_files()
                self.path.mkdir(parents=True, exist_ok=True)
                _write_examples(self.path / EXAMPLES, examples)
                self.request.write(self.path)
            else:
                self._remove_temporaries()
                kept = self._committed(existing.shards + self._leftovers())
                complete = existing.complete and len(kept) == existing.n_shards
                merged = existing.with_shards(kept, complete=complete)
                merged.write(self.path)
                self._remove_progress_files()
        self.ranks.barrier()
        self.manifest = StoreManifest.read(self.path)
        if self.manifest.shard_size != self.request.shard_size:
            logger.info("resuming with the store's shard size %d", self.manifest.shard_size)
        return self.manifest

    def pending(self) -> list[int]:
        """Indices of the shards this rank still has to write."""
        done = {s.index for s in self.manifest.shards}
        todo = [i for i in range(self.manifest.n_shards) if i not in done]
        return todo[self.ranks.rank :: self.ranks.world]

    # --- writing --------------------------------------------------------------------------
    def commit(self, index: int, result: ChunkResult) -> ShardRecord:
        """Write shard `index` durably, then record it."""
        start, stop = self.manifest.shard_range(index)
        tensors = {h: t.contiguous() for h, t in result.tensors.items()}
        if result.lengths is not None:
            tensors["lengths"] = result.lengths.contiguous()
        if result.token_ids is not None:
            tensors["token_ids"] = result.token_ids.contiguous()
        rows = next(iter(result.tensors.values())).shape[0]
        # One metadata key: safetensors writes several in random order, and equal shards
        # should be equal files (same sha256 whichever process or rank wrote them).
        metadata = {FORMAT: json.dumps({"start": start, "stop": stop, "index": index})}
        data = save_safetensors(tensors, metadata=metadata)
        name = shard_name(index)
        write_atomic(self.path / name, data)
        record = ShardRecord(
            index=index,
            file=name,
            start=start,
            stop=stop,
            rows=rows,
            sha256=hashlib.sha256(data).hexdigest(),
            bytes=len(data),
        )
        self._record(record)
        return record

    def _record(self, record: ShardRecord) -> None:
        if self.ranks.world == 1:
            self.manifest = self.manifest.with_shards([*self.manifest.shards, record])
            self.manifest.write(self.path)
        else:
            self._progress.append(record)
            data = json.dumps({"shards": [r.to_dict() for r in self._progress]}, indent=1)
            write_atomic(self.path / _PROGRESS.format(rank=self.ranks.rank), data.encode())

    def finish(self) -> StoreManifest:
        """After every rank is done: fold progress into the manifest and mark it complete."""
        self.ranks.barrier()
        if self.ranks.is_main:
            manifest = StoreManifest.read(self.path)
            shards = self._committed(manifest.shards + self._leftovers())
            missing = sorted(set(range(manifest.n_shards)) - {s.index for s in shards})
            if missing:
                raise ActivationsError(
                    f"shards {missing} of {self.path} were not written; re-run the same call "
                    "to finish the store."
                )
            manifest.with_shards(shards, complete=True).write(self.path)
            self._remove_progress_files()
        self.ranks.barrier()
        self.manifest = StoreManifest.read(self.path)
        return self.manifest

    # --- state on disk --------------------------------------------------------------------
    def _inspect(self) -> StoreManifest | None:
        """The existing store to resume, or None to start afresh; raises on a mismatch."""
        if not self.path.exists():
            return None
        if not self.path.is_dir():
            raise ActivationsError(f"{self.path} exists and is not a directory; pick another path.")
        if not (self.path / MANIFEST).is_file():
            others = [p.name for p in self.path.iterdir() if not _is_store_file(p.name)]
            if others:
                raise ActivationsError(
                    f"{self.path} is not empty ({', '.join(sorted(others)[:5])}) and holds no "
                    f"{MANIFEST}, so it is not an activation store; pass a new directory."
                )
            return None
        if self.overwrite:
            return None
        existing = StoreManifest.read(self.path)
        differences = existing.differences(self.request)
        if differences:
            raise StoreMismatchError(
                f"{self.path} holds a different activation store, so it is not reused: "
                + "; ".join(differences)
                + ". Pass a new directory, or overwrite=True (--overwrite) to replace it."
            )
        return existing

    def _committed(self, records: Sequence[ShardRecord]) -> list[ShardRecord]:
        """The records whose shard file is present with the recorded size."""
        kept = []
        for record in records:
            file = self.path / record.file
            if file.is_file() and file.stat().st_size == record.bytes:
                kept.append(record)
            else:
                logger.warning("%s is missing or changed; it will be recomputed", record.file)
        return kept

    def _leftovers(self) -> tuple[ShardRecord, ...]:
        records: list[ShardRecord] = []
        for file in sorted(self.path.glob("progress-rank-*.json")):
            try:
                records += [ShardRecord(**s) for s in json.loads(file.read_text())["shards"]]
            except (json.JSONDecodeError, KeyError, TypeError):
                logger.warning("ignoring unreadable progress file %s", file.name)
        return tuple(records)

    def _remove_progress_files(self) -> None:
        for file in self.path.glob("progress-rank-*.json"):
            file.unlink(missing_ok=True)

    def _remove_temporaries(self) -> None:
        for file in self.path.glob(".*.tmp.*"):
            file.unlink(missing_ok=True)

    def discard(self) -> None:
        """Remove the store files this job wrote, and the directory if nothing else is in it."""
        self._remove_temporaries()
        self._remove_store_files()
        if self.path.is_dir() and not any(self.path.iterdir()):
            self.path.rmdir()

    def _remove_store_files(self) -> None:
        if not self.path.is_dir():
            return
        for file in self.path.iterdir():
            if _is_store_file(file.name) and file.is_file():
                file.unlink()


def _is_store_file(name: str) -> bool:
    return (
        name in (MANIFEST, EXAMPLES)
        or (name.startswith("shard-") and name.endswith(".safetensors"))
        or (name.startswith("progress-rank-") and name.endswith(".json"))
        or (name.startswith(".") and ".tmp." in name)
    )


def _write_examples(path: Path, examples: Sequence[CachedPrompt]) -> None:
    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
    with open(tmp, "w") as fh:
        for example in examples:
            fh.write(json.dumps(example.to_dict()) + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
