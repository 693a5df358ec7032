"""A caching job run in its own process by the crash-safety and multi-rank tests.

    python tests/activations_worker.py MODEL_DIR STORE_DIR [--kill-at POINT:N]
    torchrun --standalone --nproc_per_node 2 tests/activations_worker.py MODEL_DIR STORE_DIR

`--kill-at` makes the process SIGKILL itself at a chosen moment of the N-th shard:
`after_commit` (shard written and recorded), `before_record` (shard file renamed into place,
not yet recorded), `mid_write` (half of the shard's temporary file written).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

import torch

from interp.prompts import PromptSet

WORKER = Path(__file__)
HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
N_PROMPTS = 30
SHARD_SIZE = 4
BATCH_SIZE = 3

_WORDS = "the quick brown fox jumps over the lazy dog what is the capital of france".split()


def worker_prompts(n: int = N_PROMPTS) -> PromptSet:
    """Prompts of mixed lengths, the same in every process."""
    records = []
    for i in range(n):
        words = [_WORDS[(i * 7 + j * 3) % len(_WORDS)] for j in range(2 + (i * 5) % 11)]
        records.append((" ".join(words), i % 2, f"family{i % 3}"))
    return PromptSet.from_records(records, name="worker", chat=False)


def cache_kwargs() -> dict:
    return {"shard_size": SHARD_SIZE, "batch_size": BATCH_SIZE, "progress": False}


def reference_store(model_dir: Path, path: Path) -> Path:
    """The store one uninterrupted single-thread process writes: what other runs must equal."""
    from interp.activations import cache_activations
    from interp.models import load_model

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model = load_model(model_dir, device="cpu")
        cache_activations(model, worker_prompts(), HOOKS, store=path, **cache_kwargs())
    finally:
        torch.set_num_threads(before)
    return path


def worker_env() -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def assert_identical(path: Path, reference: Path) -> None:
    """The store at `path` holds the same rows, shards and bytes as the one at `reference`."""
    from interp.activations import ActivationStore

    got, ref = ActivationStore(path), ActivationStore(reference)
    got.verify()
    assert len(got) == N_PROMPTS and got.ids == [str(i) for i in range(N_PROMPTS)]
    for hook in HOOKS:
        assert got[hook].shape[0] == N_PROMPTS
        torch.testing.assert_close(got[hook], ref[hook], atol=0, rtol=0)
    torch.testing.assert_close(got.labels, ref.labels, atol=0, rtol=0)
    ours = json.loads((path / "manifest.json").read_text())
    theirs = json.loads((reference / "manifest.json").read_text())
    assert ours == theirs, "same shards, row ranges and sha256"
    starts = [s["start"] for s in ours["shards"]]
    assert starts == list(range(0, N_PROMPTS, SHARD_SIZE)), "no duplicate or missing shard"
    leftovers = [p.name for p in path.iterdir() if p.name.startswith((".", "progress"))]
    assert not leftovers


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(point: str, n: int) -> None:
    from interp.activations import writer

    calls = {"count": 0}
    if point == "after_commit":
        original = writer.StoreWriter.commit

        def commit(self, index, result):
            record = original(self, index, result)
            calls["count"] += 1
            if calls["count"] == n:
                _die()
            return record

        writer.StoreWriter.commit = commit
    elif point == "before_record":
        original_record = writer.StoreWriter._record

        def record(self, shard):
            calls["count"] += 1
            if calls["count"] == n:
                _die()
            return original_record(self, shard)

        writer.StoreWriter._record = record
    elif point == "mid_write":
        original_write = writer.write_atomic

        def write_atomic(path, data):
            if path.name.startswith("shard-"):
                calls["count"] += 1
                if calls["count"] == n:
                    tmp = path.with_name(f".{path.name}.tmp.{os.getpid()}")
                    with open(tmp, "wb") as fh:
                        fh.write(data[: len(data) // 2])
                        fh.flush()
                    _die()
            return original_write(path, data)

        writer.write_atomic = write_atomic
    else:
        raise SystemExit(f"unknown kill point {point!r}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model_dir")
    parser.add_argument("store_dir")
    parser.add_argument("--kill-at", default=None, help="POINT:N")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.kill_at:
        point, _, n = args.kill_at.partition(":")
        _arm(point, int(n))

    from interp.activations import cache_activations, writer
    from interp.models import load_model

    written: list[int] = []
    commit = writer.StoreWriter.commit

    def counted(self, index, result):
        record = commit(self, index, result)
        written.append(index)
        return record

    writer.StoreWriter.commit = counted

    model = load_model(args.model_dir, device="cpu")
    store = cache_activations(
        model, worker_prompts(), HOOKS, store=args.store_dir, **cache_kwargs()
    )
    rank = os.environ.get("RANK", "0")
    print(f"done rank={rank} rows={len(store)} wrote={written}", flush=True)


if __name__ == "__main__":
    main()
