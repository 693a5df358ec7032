"""A caching run killed with SIGKILL at any moment resumes into the store an uninterrupted run
writes: the same bytes, no duplicate or missing rows."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from activations_worker import (
    HOOKS,
    WORKER,
    assert_identical,
    cache_kwargs,
    reference_store,
    worker_env,
    worker_prompts,
)

from interp.activations import ActivationStore, StoreIncompleteError, cache_activations
from interp.models import load_model


@pytest.fixture(scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def model(tiny_llama_dir, one_thread):
    return load_model(tiny_llama_dir, device="cpu")


@pytest.fixture(scope="module")
def uninterrupted(tiny_llama_dir, tmp_path_factory) -> Path:
    return reference_store(tiny_llama_dir, tmp_path_factory.mktemp("uninterrupted") / "store")


@pytest.mark.parametrize(
    ("kill_at", "recorded", "left_behind"),
    [
        ("after_commit:2", 2, None),
        ("before_record:3", 2, "shard-00002.safetensors"),
        ("mid_write:2", 1, ".shard-00001.safetensors.tmp."),
    ],
)
def test_killed_run_resumes_to_the_same_store(
    model, uninterrupted, tiny_llama_dir, tmp_path, kill_at, recorded, left_behind
):
    store = tmp_path / "store"
    proc = subprocess.run(
        [sys.executable, str(WORKER), str(tiny_llama_dir), str(store), "--kill-at", kill_at],
        env=worker_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
    manifest = json.loads((store / "manifest.json").read_text())
    assert not manifest["complete"] and len(manifest["shards"]) == recorded
    if left_behind:
        assert any(p.name.startswith(left_behind) for p in store.iterdir())
    with pytest.raises(StoreIncompleteError, match="Re-run the same"):
        ActivationStore(store)

    resumed = cache_activations(model, worker_prompts(), HOOKS, store=store, **cache_kwargs())
    assert isinstance(resumed, ActivationStore)
    assert_identical(store, uninterrupted)
