"""Local Hugging Face directories load into hooks and compute exactly what HF computes."""

from __future__ import annotations

import pytest
import torch
from conftest import PROMPTS
from transformers import AutoModelForCausalLM

from interp.models import format_chat, generate, load_model


@pytest.fixture(scope="module", params=["tiny_gpt2_dir", "tiny_llama_dir"])
def pair(request):
    """(hooked model, HF reference model) for each tiny architecture."""
    path = request.getfixturevalue(request.param)
    hf = AutoModelForCausalLM.from_pretrained(path, local_files_only=True).eval()
    return load_model(path, device="cpu"), hf


def _hf_logprobs(hf, tokens, mask=None):
    with torch.no_grad():
        if mask is None:
            return hf(tokens).logits.log_softmax(-1)
        position_ids = (mask.cumsum(-1) - 1).clamp(min=0)
        out = hf(tokens, attention_mask=mask, position_ids=position_ids)
        return out.logits.log_softmax(-1)


def _pad(rows: list[list[int]], pad_id: int, side: str):
    width = max(map(len, rows))
    tokens = torch.full((len(rows), width), pad_id)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        span = slice(0, len(row)) if side == "right" else slice(width - len(row), width)
        tokens[i, span] = torch.tensor(row)
        mask[i, span] = 1
    return tokens, mask


def test_single_prompt_logprobs_match_hf(pair):
    model, hf = pair
    for prompt in PROMPTS:
        tokens = model.to_tokens(prompt)
        with torch.no_grad():
            ours = model(tokens).log_softmax(-1)
        torch.testing.assert_close(ours, _hf_logprobs(hf, tokens), atol=1e-4, rtol=0)


def test_tokenization_follows_the_directory_tokenizer(pair, tiny_tokenizer):
    model, _ = pair
    for prompt in PROMPTS:
        assert model.to_tokens(prompt)[0].tolist() == tiny_tokenizer(prompt).input_ids


@pytest.mark.parametrize("side", ["right", "left"])
def test_padded_batches_match_single_prompt_runs(pair, side):
    model, hf = pair
    rows = [model.to_tokens(p)[0].tolist() for p in PROMPTS]
    tokens, mask = _pad(rows, model.tokenizer.pad_token_id, side)
    with torch.no_grad():
        batch = model(tokens, attention_mask=mask).log_softmax(-1)
    hf_batch = _hf_logprobs(hf, tokens, mask)
    for i, row in enumerate(rows):
        keep = mask[i].bool()
        with torch.no_grad():
            single = model(torch.tensor([row])).log_softmax(-1)[0]
        torch.testing.assert_close(batch[i, keep], single, atol=1e-4, rtol=0)
        torch.testing.assert_close(hf_batch[i, keep], single, atol=1e-4, rtol=0)


def test_rope_base_comes_from_the_model_config(tiny_llama_dir):
    assert load_model(tiny_llama_dir, device="cpu").cfg.rotary_base == 50_000.0


def test_greedy_generation_matches_hf(tiny_llama_dir):
    model = load_model(tiny_llama_dir, device="cpu")
    hf = AutoModelForCausalLM.from_pretrained(tiny_llama_dir, local_files_only=True).eval()
    prompts = [format_chat(model, p) for p in PROMPTS]
    ours = generate(model, prompts, max_new_tokens=12, batch_size=4, progress=False)
    assert all(ours), "a random model should not end every turn at once"
    for prompt, completion in zip(prompts, ours, strict=True):
        ids = model.to_tokens(prompt)
        ref = hf.generate(
            ids,
            attention_mask=torch.ones_like(ids),
            max_new_tokens=12,
            do_sample=False,
            eos_token_id=model.tokenizer.eos_token_id,
            pad_token_id=model.tokenizer.pad_token_id,
        )[0, ids.shape[1] :].tolist()
        eos = model.tokenizer.eos_token_id
        ref = ref[: ref.index(eos)] if eos in ref else ref
        assert completion == model.tokenizer.decode(ref)


def test_sampling_repeats_with_the_same_seed(tiny_llama_dir):
    model = load_model(tiny_llama_dir, device="cpu")
    prompts = [format_chat(model, p) for p in PROMPTS[:2]]
    first = generate(model, prompts, temperature=1.0, seed=3, max_new_tokens=8, progress=False)
    again = generate(model, prompts, temperature=1.0, seed=3, max_new_tokens=8, progress=False)
    assert first == again


def test_format_chat_uses_the_chat_template(tiny_llama_dir):
    model = load_model(tiny_llama_dir, device="cpu")
    assert format_chat(model, "hi") == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"
    assert format_chat(model, "hi", system="be kind").startswith("<|im_start|>system\nbe kind")


def test_transformerlens_name_loads_from_the_local_hf_cache(tmp_path, monkeypatch, tiny_gpt2_dir):
    snapshot = tmp_path / "models--gpt2" / "snapshots" / "abc123"
    snapshot.mkdir(parents=True)
    for file in tiny_gpt2_dir.iterdir():
        (snapshot / file.name).symlink_to(file)
    (tmp_path / "models--gpt2" / "refs").mkdir()
    (tmp_path / "models--gpt2" / "refs" / "main").write_text("abc123")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    model = load_model("gpt2", device="cpu")
    assert model.cfg.model_name == "gpt2"
    assert model.cfg.n_layers == 2
