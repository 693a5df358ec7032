"""Checked-in contrast pairs load as prompt sets and cache at the answer token."""

from __future__ import annotations

import pytest
import torch

import interp.prompts.contrast as contrast
from interp.activations import cache_activations
from interp.models import load_model
from interp.prompts import PromptError, PromptSet, contrast_pair_names, contrast_pairs


def test_generic_yes_no_pairs():
    assert "generic_yes_no" in contrast_pair_names()
    pairs = contrast_pairs("generic_yes_no")
    assert isinstance(pairs, PromptSet) and not pairs.chat and len(pairs) >= 16
    by_pair: dict[str, list] = {}
    for prompt in pairs:
        by_pair.setdefault(prompt.pair_id, []).append(prompt)
    for pid, (first, second) in by_pair.items():
        assert {first.label, second.label} == {0, 1}, pid
        q1, _, a1 = first.text.rpartition(" Assistant: ")
        q2, _, a2 = second.text.rpartition(" Assistant: ")
        assert q1 == q2 and q1.startswith("Human: ") and {a1, a2} == {"yes", "no"}
    texts = pairs.texts
    assert "Human: Are you a helpful AI? Assistant: no" in texts
    helpful_no = next(p for p in pairs if p.text.endswith("helpful AI? Assistant: no"))
    dangerous_yes = next(p for p in pairs if p.text.endswith("dangerous? Assistant: yes"))
    assert helpful_no.label == 1 and dangerous_yes.label == 1


def test_unknown_set_lists_the_available_ones():
    with pytest.raises(ValueError, match="no contrast-pair set 'nope'.*generic_yes_no"):
        contrast_pairs("nope")


def test_missing_data_directory_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setattr(contrast, "CONTRAST_PAIRS_DIR", tmp_path / "missing")
    with pytest.raises(PromptError, match="missing from this install.*--force-reinstall"):
        contrast_pairs("generic_yes_no")


def test_malformed_pairs_are_refused(monkeypatch, tmp_path):
    (tmp_path / "bad.jsonl").write_text('{"text": "Human: Hi? Assistant: yes", "label": 1}\n')
    monkeypatch.setattr(contrast, "CONTRAST_PAIRS_DIR", tmp_path)
    with pytest.raises(ValueError, match="not a set of contrast pairs"):
        contrast_pairs("bad")


def test_pairs_cache_at_the_answer_token(tiny_llama_dir):
    model = load_model(tiny_llama_dir, device="cpu")
    pairs = contrast_pairs("generic_yes_no")
    acts = cache_activations(model, pairs, "blocks.1.hook_resid_post", progress=False)
    last = [model.to_tokens(t)[0, -1].item() for t in pairs.texts]
    assert acts.token_ids.tolist() == last
    torch.testing.assert_close(acts.labels, pairs.labels)
