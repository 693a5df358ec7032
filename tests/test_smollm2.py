"""The real base model: SmolLM2-135M-Instruct from the fetched GGUF."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from transformers import AutoModelForCausalLM

from interp.models import ModelNotFoundError, chat, ensure_smollm2, format_chat, load_model
from interp.models.smollm2 import verify_conversion

pytestmark = pytest.mark.smollm2


def test_architecture(smollm2):
    cfg = smollm2.cfg
    assert (cfg.n_layers, cfg.d_model, cfg.n_heads, cfg.n_key_value_heads) == (30, 576, 9, 3)
    assert cfg.rotary_base == 100_000.0
    assert "blocks.15.hook_resid_post" in smollm2.hook_dict


def test_logprobs_match_hugging_face(smollm2):
    hf = AutoModelForCausalLM.from_pretrained(ensure_smollm2(), local_files_only=True).eval()
    tokens = smollm2.to_tokens(format_chat(smollm2, "Write a haiku about the sea."))
    assert tokens[0, 0].item() == smollm2.tokenizer.convert_tokens_to_ids("<|im_start|>")
    assert tokens[0, 1].item() != tokens[0, 0].item(), "the chat template's BOS is not doubled"
    with torch.no_grad():
        ours = smollm2(tokens).log_softmax(-1)
        ref = hf(tokens).logits.log_softmax(-1)
    torch.testing.assert_close(ours, ref, atol=1e-3, rtol=0)


def test_greedy_answer_mentions_paris(smollm2):
    assert "Paris" in chat(smollm2, "What is the capital of France?", max_new_tokens=24)


def test_chat_turns_end_at_im_end(smollm2):
    assert smollm2.tokenizer.eos_token == "<|im_end|>"
    assert smollm2.tokenizer.pad_token_id not in (
        smollm2.tokenizer.bos_token_id,
        smollm2.tokenizer.eos_token_id,
    )


def test_corrupted_conversion_is_detected_and_rebuilt(tmp_path, monkeypatch):
    source = ensure_smollm2()
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    shutil.copytree(source, home / "models" / "smollm2")
    (home / "downloads").symlink_to(source.parent.parent / "downloads")
    monkeypatch.setenv("INTERP_HOME", str(home))
    weights = home / "models" / "smollm2" / "model.safetensors"
    with open(weights, "r+b") as fh:
        fh.seek(weights.stat().st_size // 2)
        fh.write(b"\x00\x01\x02\x03")
    problem = verify_conversion(weights.parent)
    assert problem is not None and "model.safetensors" in problem

    rebuilt = ensure_smollm2()
    assert verify_conversion(rebuilt) is None
    checksums = "interp-checksums.json"
    expected = json.loads((source / checksums).read_text())["files"]
    assert json.loads((rebuilt / checksums).read_text())["files"] == expected


def test_missing_gguf_says_how_to_fetch_it(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(tmp_path))
    monkeypatch.delenv("INTERP_SMOLLM2_GGUF", raising=False)
    with pytest.raises(ModelNotFoundError, match="make fetch-model"):
        load_model("smollm2")
