from __future__ import annotations

import json
import shlex

import pytest
from conftest import parse_command
from typer.main import get_command
from typer.testing import CliRunner

from interp.cli import app

runner = CliRunner()


def _commands(group=None, path=()):
    """Every leaf command's path, walked from the app."""
    group = group or get_command(app)
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield [*path, name]


COMMANDS = list(_commands())


def test_the_walk_finds_every_command():
    assert len(COMMANDS) >= 30 and ["safety", "red-team"] in COMMANDS and ["demo"] in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help_with_an_example(command):
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output
    assert f"Example: interp {' '.join(command)}" in " ".join(result.output.split())
    leaf = get_command(app)
    for name in command:
        leaf = leaf.commands[name]
    example = leaf.help.split("Example: interp ", 1)[1].split("\n\n")[0]
    parse_command(shlex.split(example.split(" && ")[0]))  # the example parses as written


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
