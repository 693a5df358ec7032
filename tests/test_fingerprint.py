from __future__ import annotations

import torch

from interp.models import fingerprint, load_model


def test_fingerprint_is_stable_across_loads(tiny_llama_dir):
    first = load_model(tiny_llama_dir, device="cpu")
    second = load_model(tiny_llama_dir, device="cpu", n_ctx=64)
    assert fingerprint(first) == fingerprint(second)
    assert len(fingerprint(first)) == 64


def test_fingerprint_changes_when_one_weight_changes(tiny_llama_dir):
    model = load_model(tiny_llama_dir, device="cpu")
    before = fingerprint(model)
    with torch.no_grad():
        model.blocks[1].mlp.W_out[3, 5] += 1e-3
    assert fingerprint(model) != before


def test_fingerprint_tells_architectures_apart(tiny_llama_dir, tiny_gpt2_dir):
    llama = load_model(tiny_llama_dir, device="cpu")
    gpt2 = load_model(tiny_gpt2_dir, device="cpu")
    assert fingerprint(llama) != fingerprint(gpt2)


def test_smollm2_fingerprint_is_stable(smollm2):
    again = load_model("smollm2", device="cpu")
    assert fingerprint(again) == fingerprint(smollm2)
