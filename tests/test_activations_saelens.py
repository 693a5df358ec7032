"""Stores export to the cached-activations dataset SAELens trains from, and SAELens reads it."""

from __future__ import annotations

import datasets
import pytest
import torch
from conftest import PROMPTS
from sae_lens.training.activations_store import ActivationsStore

from interp.activations import ActivationsError, cache_activations
from interp.models import load_model

HOOKS = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
TEXTS = [f"{PROMPTS[i % 4]} {i}" for i in range(13)]


@pytest.fixture(scope="module")
def model(tiny_llama_dir):
    return load_model(tiny_llama_dir, device="cpu")


def saelens_rows(path, hook: str, d_in: int, context: int, n_rows: int, batch: int = 1):
    """Every row through SAELens's own cached-activations loader."""
    store = ActivationsStore(
        model=None,
        dataset=None,
        streaming=False,
        hook_name=hook,
        hook_head_index=None,
        context_size=context,
        d_in=d_in,
        n_batches_in_buffer=2,
        total_training_tokens=n_rows * context,
        store_batch_size_prompts=batch,
        train_batch_size_tokens=batch * context,
        prepend_bos=False,
        normalize_activations="none",
        device=torch.device("cpu"),
        dtype="float32",
        cached_activations_path=str(path),
    )
    acts, tokens = zip(*(store.get_raw_llm_batch() for _ in range(n_rows // batch)), strict=True)
    return torch.cat(acts), None if tokens[0] is None else torch.cat(tokens)


@pytest.mark.parametrize("positions", ["last", "all", [-1, -2]], ids=str)
def test_saelens_reads_back_what_was_stored(model, tmp_path, positions):
    store = cache_activations(
        model, TEXTS, HOOKS, positions, store=tmp_path / "s", shard_size=4, progress=False
    )
    out = store.to_saelens(tmp_path / "saelens", progress=False)
    ds = datasets.load_from_disk(str(out))
    context = 2 if isinstance(positions, list) else 1
    d = model.cfg.d_model
    assert ds.features[HOOKS[0]] == datasets.Array2D(shape=(context, d), dtype="float32")
    assert ds.features["token_ids"] == datasets.Sequence(datasets.Value("int32"), length=context)
    for hook in HOOKS:
        flat = store[hook].reshape(-1, d)
        acts, tokens = saelens_rows(out, hook, d, context, n_rows=len(ds))
        torch.testing.assert_close(acts, flat, atol=0, rtol=0)
        assert tokens.tolist() == store.token_ids.reshape(-1).tolist()


def test_in_memory_sets_export_too_and_mean_rows_have_no_token_ids(model, tmp_path):
    acts = cache_activations(model, TEXTS, HOOKS, "mean", progress=False)
    out = acts.to_saelens(tmp_path / "saelens", HOOKS[1], progress=False)
    ds = datasets.load_from_disk(str(out))
    assert ds.column_names == [HOOKS[1]]
    got, tokens = saelens_rows(out, HOOKS[1], model.cfg.d_model, 1, n_rows=len(TEXTS))
    torch.testing.assert_close(got, acts[HOOKS[1]], atol=0, rtol=0)
    assert tokens is None


def test_export_refuses_a_non_empty_directory(model, tmp_path):
    acts = cache_activations(model, TEXTS, HOOKS, progress=False)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "x").write_text("keep")
    with pytest.raises(ActivationsError, match="not empty"):
        acts.to_saelens(tmp_path / "out", progress=False)
