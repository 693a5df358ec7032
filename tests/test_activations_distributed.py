"""Two gloo ranks under torchrun split the shards and write the store one process writes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from activations_worker import (
    WORKER,
    assert_identical,
    reference_store,
    worker_env,
)


@pytest.fixture(scope="module")
def reference(tiny_llama_dir, tmp_path_factory) -> Path:
    return reference_store(tiny_llama_dir, tmp_path_factory.mktemp("single") / "store")


def torchrun(model_dir: Path, store: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node",
               "2", str(WORKER), str(model_dir), str(store)]  # fmt: skip
    return subprocess.run(command, env=worker_env(), capture_output=True, text=True, timeout=300)


def test_two_ranks_write_the_single_process_store(reference, tiny_llama_dir, tmp_path):
    store = tmp_path / "store"
    proc = torchrun(tiny_llama_dir, store)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "done rank=0 rows=30 wrote=[0, 2, 4, 6]" in proc.stdout
    assert "done rank=1 rows=30 wrote=[1, 3, 5, 7]" in proc.stdout
    assert_identical(store, reference)


def test_two_ranks_resume_a_store_one_process_began(reference, tiny_llama_dir, tmp_path):
    store = tmp_path / "store"
    manifest = json.loads((reference / "manifest.json").read_text())
    store.mkdir()
    for name in ["examples.jsonl", "shard-00000.safetensors", "shard-00003.safetensors"]:
        (store / name).write_bytes((reference / name).read_bytes())
    manifest["shards"] = [s for s in manifest["shards"] if s["index"] in (0, 3)]
    manifest["complete"] = False
    (store / "manifest.json").write_text(json.dumps(manifest))
    proc = torchrun(tiny_llama_dir, store)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    assert "done rank=0 rows=30 wrote=[1, 4, 6]" in proc.stdout
    assert "done rank=1 rows=30 wrote=[2, 5, 7]" in proc.stdout
    assert_identical(store, reference)
