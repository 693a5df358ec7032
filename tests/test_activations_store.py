"""The on-disk store: same values as in memory, lazy reads, resume, refusal of other jobs,
checksums."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import PROMPTS
from safetensors import safe_open

from interp.activations import (
    ActivationSet,
    ActivationStore,
    StoreCorruptedError,
    StoreIncompleteError,
    StoreManifest,
    StoreMismatchError,
    cache_activations,
    store_info,
)
from interp.models import fingerprint, load_model
from interp.prompts import PromptSet

HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]


@pytest.fixture(scope="module")
def model(tiny_llama_dir):
    return load_model(tiny_llama_dir, device="cpu")


@pytest.fixture(scope="module")
def other_model(tiny_gpt2_dir):
    return load_model(tiny_gpt2_dir, device="cpu")


def prompt_set(n: int = 23) -> PromptSet:
    return PromptSet.from_records(
        [(f"{PROMPTS[i % 4]} {i}", i % 2, f"family{i % 3}") for i in range(n)], name="mixed"
    )


def cache(model, store, **kwargs):
    kwargs = {"shard_size": 5, "batch_size": 4, "progress": False, **kwargs}
    return cache_activations(
        model, kwargs.pop("prompts", prompt_set()), HOOKS, store=store, **kwargs
    )


def test_store_reads_like_the_in_memory_set(model, tmp_path):
    store = cache(model, tmp_path / "s")
    memory = cache(model, None)
    assert isinstance(store, ActivationStore) and isinstance(memory, ActivationSet)
    assert len(store) == len(memory) == 23 and store.hooks == memory.hooks == tuple(HOOKS)
    for hook in HOOKS:
        torch.testing.assert_close(store[hook], memory[hook], atol=0, rtol=0)
    torch.testing.assert_close(store.labels, prompt_set().labels)
    assert store.groups == prompt_set().groups and store.ids == memory.ids
    assert store.token_ids.tolist() == memory.token_ids.tolist()
    assert [e.text for e in store.examples] == prompt_set().texts


def test_layout_on_disk(model, tmp_path):
    cache(model, tmp_path / "s")
    files = sorted(p.name for p in (tmp_path / "s").iterdir())
    assert files == ["examples.jsonl", "manifest.json"] + [
        f"shard-{i:05d}.safetensors" for i in range(5)
    ]
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["format_version"] == 1 and manifest["complete"] is True
    assert manifest["model"]["fingerprint"] == fingerprint(model)
    assert manifest["prompts"]["hash"] == prompt_set().content_hash()
    assert manifest["hooks"] == HOOKS and manifest["positions"] == "last"
    assert manifest["dtype"] == "float32"
    assert manifest["shapes"][HOOKS[0]] == [23, model.cfg.d_model]
    rows = [(s["start"], s["stop"]) for s in manifest["shards"]]
    assert rows == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 23)]
    assert all(len(s["sha256"]) == 64 for s in manifest["shards"])
    with safe_open(tmp_path / "s" / "shard-00004.safetensors", framework="pt") as fh:
        assert set(fh.keys()) == {*HOOKS, "token_ids"}
        assert fh.get_tensor(HOOKS[1]).shape == (3, model.cfg.d_model)
    example = json.loads((tmp_path / "s" / "examples.jsonl").read_text().splitlines()[4])
    assert example == {
        "id": "4",
        "label": 0,
        "group": "family1",
        "text": prompt_set()[4].text,
        "pair_id": None,
        "trigger": None,
    }


def test_iter_batches_streams_rows_in_order(model, tmp_path):
    store = cache(model, tmp_path / "s")
    batches = list(store.iter_batches(HOOKS[1], 7))
    assert [b.shape[0] for b in batches] == [7, 7, 7, 2]
    torch.testing.assert_close(torch.cat(batches), store[HOOKS[1]], atol=0, rtol=0)
    memory = cache(model, None)
    torch.testing.assert_close(torch.cat(list(memory.iter_batches(HOOKS[1], 7))), memory[HOOKS[1]])


def test_ragged_rule_round_trips(model, tmp_path):
    store = cache(model, tmp_path / "s", positions="all")
    memory = cache(model, None, positions="all")
    torch.testing.assert_close(store.lengths, memory.lengths)
    for got, ref in zip(store.per_prompt(HOOKS[0]), memory.per_prompt(HOOKS[0]), strict=True):
        torch.testing.assert_close(got, ref, atol=0, rtol=0)
    assert store.info().shapes[HOOKS[0]] == [int(memory.lengths.sum()), model.cfg.d_model]


def test_rerunning_a_finished_job_reuses_the_store(model, tmp_path):
    first = cache(model, tmp_path / "s")
    stamp = {p.name: p.stat().st_mtime_ns for p in (tmp_path / "s").glob("shard-*")}
    again = cache(model, tmp_path / "s")
    assert {p.name: p.stat().st_mtime_ns for p in (tmp_path / "s").glob("shard-*")} == stamp
    torch.testing.assert_close(again[HOOKS[0]], first[HOOKS[0]], atol=0, rtol=0)


@pytest.mark.parametrize(
    ("change", "what"),
    [
        ({"prompts": prompt_set(22)}, "prompt_hash"),
        ({"positions": "mean"}, "positions"),
        ({"dtype": "bfloat16"}, "dtype"),
    ],
)
def test_a_different_job_is_never_reused_silently(model, tmp_path, change, what):
    cache(model, tmp_path / "s")
    with pytest.raises(StoreMismatchError, match=f"{what}: store has .*new directory.*overwrite"):
        cache(model, tmp_path / "s", **change)


def test_different_hooks_or_model_are_refused(model, other_model, tmp_path):
    cache(model, tmp_path / "s")
    with pytest.raises(StoreMismatchError, match="hooks: store has"):
        cache_activations(model, prompt_set(), HOOKS[:1], store=tmp_path / "s", progress=False)
    with pytest.raises(StoreMismatchError, match="fingerprint: store has"):
        cache(other_model, tmp_path / "s")


def test_overwrite_replaces_a_different_store(model, tmp_path):
    cache(model, tmp_path / "s")
    replaced = cache(model, tmp_path / "s", positions="mean", overwrite=True)
    torch.testing.assert_close(replaced[HOOKS[0]], cache(model, None, positions="mean")[HOOKS[0]])
    assert replaced.positions.kind == "mean"


def test_opening_with_another_model_is_refused(model, other_model, tmp_path):
    cache(model, tmp_path / "s")
    assert ActivationStore(tmp_path / "s", model=model).fingerprint == fingerprint(model)
    with pytest.raises(StoreMismatchError, match="fingerprint .* do not describe this model"):
        ActivationStore(tmp_path / "s", model=other_model)


def test_a_flipped_byte_is_caught_and_the_shard_named(model, tmp_path):
    cache(model, tmp_path / "s")
    shard = tmp_path / "s" / "shard-00002.safetensors"
    data = bytearray(shard.read_bytes())
    data[-5] ^= 0xFF
    shard.write_bytes(bytes(data))
    store = ActivationStore(tmp_path / "s")  # sizes still match: opening is cheap
    with pytest.raises(
        StoreCorruptedError, match="shard-00002.safetensors does not match its sha256"
    ):
        store.verify()
    with pytest.raises(StoreCorruptedError, match="shard-00002"):
        store[HOOKS[0]]
    with pytest.raises(StoreCorruptedError, match="shard-00002"):
        ActivationStore(tmp_path / "s", verify="open")


def test_a_truncated_shard_is_caught_on_open(model, tmp_path):
    cache(model, tmp_path / "s")
    shard = tmp_path / "s" / "shard-00001.safetensors"
    shard.write_bytes(shard.read_bytes()[:100])
    with pytest.raises(StoreCorruptedError, match="shard-00001.safetensors is truncated"):
        ActivationStore(tmp_path / "s")


def test_a_deleted_shard_is_recomputed_on_rerun(model, tmp_path):
    first = cache(model, tmp_path / "s")
    expected = first[HOOKS[1]]
    (tmp_path / "s" / "shard-00003.safetensors").unlink()
    with pytest.raises(StoreCorruptedError, match="shard-00003.safetensors is missing"):
        ActivationStore(tmp_path / "s")
    again = cache(model, tmp_path / "s")
    torch.testing.assert_close(again[HOOKS[1]], expected, atol=0, rtol=0)
    again.verify()


def test_an_incomplete_store_says_how_to_resume(model, tmp_path):
    cache(model, tmp_path / "s")
    manifest = StoreManifest.read(tmp_path / "s")
    manifest.with_shards(manifest.shards[:2], complete=False).write(tmp_path / "s")
    with pytest.raises(StoreIncompleteError, match="2 of 5 shards.*Re-run the same"):
        ActivationStore(tmp_path / "s")
    info = store_info(tmp_path / "s")
    assert not info.complete and info.shards_written == 2
    assert "INCOMPLETE" in str(info)


def test_a_non_empty_directory_that_is_not_a_store_is_left_alone(model, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="not empty .*notes.txt.* not an activation store"):
        cache(model, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_info_and_repr(model, tmp_path):
    store = cache(model, tmp_path / "s")
    info = store.info()
    assert info.n_prompts == 23 and info.n_shards == 5 and info.complete
    assert info.to_dict()["hooks"] == tuple(HOOKS)
    assert "blocks.1.hook_resid_post  [23, 64]" in str(info)
    assert repr(store).startswith("ActivationStore(") and "shards=5" in repr(store)
    assert store.verify().n_shards == 5
