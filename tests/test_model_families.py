"""Every supported architecture, as a tiny random model built by `transformers` and loaded by
path offline: log-probs equal HF's (float32, atol 1e-4) on single prompts and on a padded
batch of mixed lengths, one prompt longer than every sliding window."""

from __future__ import annotations

import copy
import json

import pytest
import torch
import transformers
from conftest import PROMPTS
from families import tiny_configs
from transformers import AutoModelForCausalLM

from interp.models import SUPPORTED_ARCHITECTURES, UnsupportedArchitectureError, load_model

#: A prompt longer than every tiny model's sliding window (4 tokens).
LONG = "What is the capital of France? The capital of France is Paris. " * 3


@pytest.fixture(scope="module")
def configs(tiny_tokenizer):
    t = tiny_tokenizer
    return tiny_configs(len(t), t.bos_token_id, t.eos_token_id, t.pad_token_id)


def test_every_supported_architecture_has_a_tiny_model(configs):
    assert sorted(configs) == sorted(SUPPORTED_ARCHITECTURES)
    for family in ("GemmaForCausalLM", "Gemma2ForCausalLM", "Gemma3ForCausalLM"):
        assert family in SUPPORTED_ARCHITECTURES


def _save(arch, configs, tokenizer, tmp_path):
    """A tiny random model on disk, and HF's reference: eager attention, the one that applies
    Gemma 2's attention soft-capping (HF's default SDPA attention drops it)."""
    torch.manual_seed(0)
    hf = getattr(transformers, arch)(configs[arch])
    with torch.no_grad():  # weights large enough that logits spread over many nats
        for p in hf.parameters():
            p.normal_(0, 0.3)
    path = tmp_path / arch.lower()
    hf.save_pretrained(path)
    tokenizer.save_pretrained(path)
    reference = AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager")
    return reference.eval(), path


@pytest.mark.parametrize("arch", SUPPORTED_ARCHITECTURES)
def test_log_probs_equal_hf(arch, configs, tiny_tokenizer, tmp_path):
    hf, path = _save(arch, configs, tiny_tokenizer, tmp_path)
    model = load_model(path, device="cpu")
    assert model.cfg.original_architecture == arch
    prompts = [*PROMPTS, LONG]
    rows = [model.to_tokens(p)[0].tolist() for p in prompts]
    with torch.no_grad():
        for row in rows:
            tokens = torch.tensor([row])
            ours = model(tokens).log_softmax(-1)
            torch.testing.assert_close(ours, hf(tokens).logits.log_softmax(-1), atol=1e-4, rtol=0)
        width = max(map(len, rows))  # left-padded batch of mixed lengths
        tokens = torch.full((len(rows), width), tiny_tokenizer.pad_token_id)
        mask = torch.zeros_like(tokens)
        for i, row in enumerate(rows):
            tokens[i, width - len(row) :], mask[i, width - len(row) :] = torch.tensor(row), 1
        ours = model(tokens, attention_mask=mask).log_softmax(-1)
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        ref = hf(tokens, attention_mask=mask, position_ids=position_ids).logits.log_softmax(-1)
        for i in range(len(rows)):
            keep = mask[i].bool()
            torch.testing.assert_close(ours[i, keep], ref[i, keep], atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    ("arch", "why"),
    [
        ("MambaForCausalLM", "cannot convert to TransformerLens hooks"),
        ("GptOssForCausalLM", "its attention sinks and expert routing differ from HF's"),
    ],
)
def test_an_architecture_that_does_not_convert_is_refused_with_the_list(
    arch, why, tmp_path, tiny_llama_dir
):
    path = tmp_path / arch
    path.mkdir()
    config = json.loads((tiny_llama_dir / "config.json").read_text())
    config["architectures"] = [arch]
    (path / "config.json").write_text(json.dumps(config))
    (path / "model.safetensors").write_bytes((tiny_llama_dir / "model.safetensors").read_bytes())
    with pytest.raises(UnsupportedArchitectureError, match=f"holds a {arch}.*{why}.*Supported "
                       "architectures: GPT2LMHeadModel.*Gemma3ForCausalLM"):  # fmt: skip
        load_model(path)


@pytest.mark.parametrize("arch", SUPPORTED_ARCHITECTURES)
def test_stored_layout_changes_no_output(arch, configs, tiny_tokenizer, tmp_path):
    """`load_model` stores the matrices the forward pass reads transposed in that order
    (`interp.models.layout`): logits, KV-cached greedy tokens and weight gradients are the same
    bits as with every parameter stored contiguous in its own shape."""
    _, path = _save(arch, configs, tiny_tokenizer, tmp_path)
    model = load_model(path, device="cpu")
    plain = copy.deepcopy(model)
    moved = [n for n, p in plain.named_parameters() if not p.is_contiguous()]
    assert any("W_U" in n for n in moved) and any("W_O" in n for n in moved), moved
    for p in plain.parameters():
        p.data = p.data.contiguous()
    tokens = model.to_tokens(LONG)
    logits = [m(tokens) for m in (model, plain)]
    for out in logits:
        out.log_softmax(-1)[0, -1, 0].backward()
    assert torch.equal(*logits)
    for (name, p), q in zip(model.named_parameters(), plain.parameters(), strict=True):
        assert (p.grad is None and q.grad is None) or torch.equal(p.grad, q.grad), name
    kwargs = {"max_new_tokens": 8, "do_sample": False, "verbose": False}
    assert torch.equal(model.generate(tokens, **kwargs), plain.generate(tokens, **kwargs))
