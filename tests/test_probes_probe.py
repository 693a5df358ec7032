"""Probe save/load, scoring checks and the errors a user can cause."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from interp.activations import ActivationSet, CachedPrompt, Positions
from interp.probes import Probe, ProbeError, ProbeMismatchError, train_probe

HOOK = "blocks.1.hook_resid_post"


def _acts(fingerprint="a" * 64, hooks=(HOOK,), positions="last", n=40, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    labels = [i % 2 for i in range(n)]
    shift = torch.tensor(labels, dtype=torch.float32)[:, None] * torch.ones(d)
    return ActivationSet(
        tensors={h: torch.randn(n, d, generator=g) + shift for h in hooks},
        example_records=tuple(CachedPrompt(id=str(i), label=lab) for i, lab in enumerate(labels)),
        rule=Positions.parse(positions),
        model_fingerprint=fingerprint,
        prompt_hash="p",
    )


def test_save_and_load_round_trip(tmp_path):
    acts = _acts()
    probe = train_probe(acts, method="logistic")
    path = probe.save(tmp_path / "probe")
    assert sorted(p.name for p in path.iterdir()) == ["probe.json", "probe.safetensors"]
    assert set(load_file(path / "probe.safetensors")) == {"direction"}  # no pickle anywhere
    meta = json.loads((path / "probe.json").read_text())
    assert meta["hook"] == HOOK and meta["positions"] == "last" and meta["method"] == "logistic"
    assert meta["fingerprint"] == "a" * 64 and meta["train_hash"] == probe.train_hash
    loaded = Probe.load(path)
    torch.testing.assert_close(loaded.direction, probe.direction)
    assert loaded.bias == probe.bias and loaded.config == probe.config
    assert loaded.metrics == pytest.approx(probe.metrics)
    torch.testing.assert_close(loaded.score(acts), probe.score(acts))
    assert "Probe(method='logistic'" in repr(loaded)


def test_a_changed_probe_file_is_refused(tmp_path):
    path = train_probe(_acts()).save(tmp_path / "probe")
    data = bytearray((path / "probe.safetensors").read_bytes())
    data[-1] ^= 1
    (path / "probe.safetensors").write_bytes(bytes(data))
    with pytest.raises(ProbeError, match="does not match the sha256"):
        Probe.load(path)
    with pytest.raises(ProbeError, match="not a saved probe"):
        Probe.load(tmp_path / "nothing")


def test_single_class_labels():
    with pytest.raises(ProbeError, match=r"all 6 labels are 1.*both classes.*clean"):
        train_probe(torch.randn(6, 3), [1] * 6)


def test_mismatched_lengths():
    with pytest.raises(ProbeError, match="x has 6 rows but labels has 5.*same PromptSet"):
        train_probe(torch.randn(6, 3), [0, 1, 0, 1, 0])


def test_nans():
    x = torch.randn(6, 3)
    x[4, 1] = float("nan")
    with pytest.raises(ProbeError, match=r"NaN or infinite values in 1 of 6 rows \(first: row 4\)"):
        train_probe(x, [0, 1] * 3)


def test_labels_must_be_binary_and_tensors_need_labels():
    with pytest.raises(ProbeError, match="0 \\(clean\\) or 1"):
        train_probe(torch.randn(4, 3), [0, 1, 2, 1])
    with pytest.raises(ProbeError, match="labels must be passed"):
        train_probe(torch.randn(4, 3))


def test_probe_on_another_models_activations():
    probe = train_probe(_acts())
    other = _acts(fingerprint="b" * 64)
    with pytest.raises(
        ProbeMismatchError,
        match=r"trained on activations of model a{16}.*from model b{16}.*allow_other_model=True",
    ):
        probe.score(other)
    assert probe.score(other, allow_other_model=True).shape == (40,)


def test_probe_on_another_hook_or_position_rule_or_width():
    probe = train_probe(_acts())
    with pytest.raises(ProbeMismatchError, match="reads 'blocks.1.hook_resid_post'.*another"):
        probe.score(_acts(hooks=("blocks.0.hook_resid_post",)))
    with pytest.raises(ProbeMismatchError, match="positions 'last'.*'mean'"):
        probe.score(_acts(positions="mean"))
    with pytest.raises(ProbeMismatchError, match=r"shape \(5, 7\) do not fit.*\[n, 8\]"):
        probe.score(torch.randn(5, 7))


def test_a_set_with_several_hooks_needs_a_hook_name():
    acts = _acts(hooks=(HOOK, "blocks.0.hook_resid_post"))
    with pytest.raises(ProbeError, match="holds 2 hooks.*hook="):
        train_probe(acts)
    with pytest.raises(ProbeMismatchError, match="no hook 'blocks.9.hook_resid_post'"):
        train_probe(acts, hook="blocks.9.hook_resid_post")
    assert train_probe(acts, hook=HOOK).hook == HOOK


def test_ragged_positions_are_refused():
    acts = _acts()
    ragged = ActivationSet(
        tensors=acts.tensors,
        example_records=acts.example_records,
        rule=Positions.parse("all"),
        model_fingerprint="a" * 64,
        prompt_hash="p",
        lengths_tensor=torch.ones(40, dtype=torch.long),
    )
    with pytest.raises(ProbeError, match="one row per prompt"):
        train_probe(ragged)
