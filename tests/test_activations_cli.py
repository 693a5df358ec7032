"""`interp cache`, `interp store info` and `interp store verify`."""

from __future__ import annotations

import json

import torch
from typer.testing import CliRunner

from interp.activations import ActivationStore, cache_activations
from interp.cli import app
from interp.models import load_model
from interp.prompts import PromptSet, contrast_pairs

runner = CliRunner()


def test_cache_a_contrast_pair_set_then_inspect_and_verify(tiny_llama_dir, tmp_path):
    out = tmp_path / "store"
    args = ["cache", str(tiny_llama_dir), "--prompts", "generic_yes_no", "--hooks",
            "blocks.0.hook_resid_post,blocks.1.hook_resid_post", "--out", str(out),
            "--shard-size", "10"]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "complete" in result.output and "blocks.1.hook_resid_post  [24, 64]" in result.output

    model = load_model(tiny_llama_dir, device="cpu")
    expected = cache_activations(
        model, contrast_pairs("generic_yes_no"), "resid_post", progress=False
    )
    store = ActivationStore(out, model=model)
    torch.testing.assert_close(
        store["blocks.1.hook_resid_post"], expected["blocks.1.hook_resid_post"]
    )

    info = runner.invoke(app, ["store", "info", str(out), "--json"])
    assert info.exit_code == 0, info.output
    assert json.loads(info.output)["n_shards"] == 3

    ok = runner.invoke(app, ["store", "verify", str(out)])
    assert ok.exit_code == 0 and "all checksums match" in ok.output

    shard = out / "shard-00001.safetensors"
    data = bytearray(shard.read_bytes())
    data[-1] ^= 0x01
    shard.write_bytes(bytes(data))
    bad = runner.invoke(app, ["store", "verify", str(out)])
    assert bad.exit_code == 1
    assert "shard-00001.safetensors does not match its sha256" in bad.output


def test_cache_a_jsonl_file_with_index_positions(tiny_gpt2_dir, tmp_path):
    path = PromptSet.from_records(["Hello there", "The quick brown fox"], chat=False).to_jsonl(
        tmp_path / "mine.jsonl"
    )
    out = tmp_path / "store"
    args = ["cache", str(tiny_gpt2_dir), "--prompts", str(path), "--hooks", "resid_post",
            "--positions", "-1,-2", "--out", str(out)]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert ActivationStore(out)["blocks.1.hook_resid_post"].shape == (2, 2, 64)


def test_cache_errors_exit_2_with_the_reason(tiny_llama_dir, tmp_path):
    result = runner.invoke(
        app, ["cache", str(tiny_llama_dir), "--prompts", "nope", "--hooks", "resid_post"]
    )
    assert result.exit_code == 2 and "no contrast-pair set 'nope'" in result.output
    result = runner.invoke(
        app,
        [
            "cache",
            str(tiny_llama_dir),
            "--prompts",
            "generic_yes_no",
            "--hooks",
            "blocks.7.x",
            "--out",
            str(tmp_path / "s"),
        ],  # fmt: skip
    )
    assert result.exit_code == 2 and "unknown hook 'blocks.7.x'" in result.output
    result = runner.invoke(app, ["store", "info", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not an activation store" in result.output
