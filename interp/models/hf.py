"""Load a local Hugging Face causal LM directory as a TransformerLens `HookedTransformer`.

Offline only: nothing is looked up on a hub. The weights go through TransformerLens's own
conversion for the architecture, with a config built from the directory's `config.json`.
No weight processing is applied (no folding or centering), so the hooked model computes
exactly what the Hugging Face model computes and its residual stream equals HF's hidden states.
"""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path

import torch
from transformer_lens import HookedTransformer, HookedTransformerConfig
from transformer_lens.loading_from_pretrained import (
    get_pretrained_model_config,
    get_pretrained_state_dict,
)
from transformers import AutoModelForCausalLM, AutoTokenizer

from interp.models.architectures import (
    CONFIG_BUILDERS,
    SUPPORTED_ARCHITECTURES,
    adjust_config,
    check_architecture,
)
from interp.models.devices import resolve_device, resolve_dtype
from interp.models.errors import ModelLoadError, ModelNotFoundError, UnsupportedArchitectureError
from interp.models.layout import relayout

logger = logging.getLogger(__name__)

#: Longest context a loaded model accepts unless asked otherwise (memory: n_ctx² per layer).
DEFAULT_MAX_CONTEXT = 2048

_WEIGHT_FILES = ("*.safetensors", "pytorch_model*.bin")


def read_architecture(path: Path) -> str:
    """The architecture named in `path/config.json` (e.g. `LlamaForCausalLM`)."""
    config_file = path / "config.json"
    if not config_file.is_file():
        raise ModelNotFoundError(
            f"{str(path)!r} holds no model: there is no config.json in it. Point at the "
            "directory that `save_pretrained` wrote (config.json, weights, tokenizer files)."
        )
    try:
        config = json.loads(config_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ModelLoadError(
            f"{config_file} is not valid JSON ({err}); the directory is damaged: save the "
            "model again with `save_pretrained`."
        ) from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{config_file} is not a JSON object; save the model again.")
    architectures = config.get("architectures") or []
    if not architectures:
        raise UnsupportedArchitectureError(
            f"{config_file} names no architecture (the 'architectures' field is empty); "
            f"supported: {', '.join(SUPPORTED_ARCHITECTURES)}."
        )
    return architectures[0]


def load_hf_directory(
    path: str | Path,
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    n_ctx: int | None = DEFAULT_MAX_CONTEXT,
    model_name: str | None = None,
    adapter: str | Path | None = None,
    trust_remote_code: bool = False,
) -> HookedTransformer:
    """Load the causal LM saved in `path` as a `HookedTransformer`, offline.

    The tokenizer is taken from the same directory; strings are tokenized the way the
    directory's own tokenizer does it (a BOS token is prepended only when that tokenizer
    adds one), so `model.to_tokens(text)` equals `tokenizer(text).input_ids`.

    Example:
        >>> model = load_hf_directory("path/to/saved_model")
        >>> logits = model(model.to_tokens("Hello"))
    """
    path = Path(path).expanduser().resolve()
    if not path.is_dir():
        raise ModelNotFoundError(
            f"{str(path)!r} is not a directory. Pass a directory written by "
            "`save_pretrained`, 'smollm2', 'organism:NAME' or a TransformerLens model name."
        )
    architecture = read_architecture(path)
    check_architecture(architecture, repr(str(path)))
    if not any(any(path.glob(pattern)) for pattern in _WEIGHT_FILES):
        raise ModelNotFoundError(
            f"{str(path)!r} has a config.json but no weights (*.safetensors or "
            "pytorch_model*.bin); save the model with `model.save_pretrained(dir)`."
        )
    device, dtype = resolve_device(device), resolve_dtype(dtype)

    tokenizer = _load_tokenizer(path, trust_remote_code)
    hf_model = AutoModelForCausalLM.from_pretrained(
        path, local_files_only=True, dtype=dtype, trust_remote_code=trust_remote_code
    )
    if adapter is not None:
        from peft import PeftModel

        hf_model = PeftModel.from_pretrained(hf_model, Path(adapter)).merge_and_unload()
    hf_model.eval()
    cfg = _hooked_config(path, hf_model.config, device=device, dtype=dtype, n_ctx=n_ctx)
    cfg.model_name = model_name or path.name
    if tokenizer is not None:
        cfg.default_prepend_bos = len(tokenizer.encode("")) > 0
    state_dict = get_pretrained_state_dict(str(path), cfg, hf_model=hf_model, dtype=dtype)
    del hf_model

    model = HookedTransformer(cfg, tokenizer=tokenizer, move_to_device=False)
    # Some conversions emit zero biases for norms that have none (Phi-3's RMSNorm).
    expected = model.state_dict()
    for key in [k for k in state_dict if k not in expected]:
        if not state_dict[key].any():
            del state_dict[key]
    # No weight processing, so one strict load replaces TransformerLens's key-by-key loop.
    model.load_state_dict(model.fill_missing_keys(state_dict), strict=True)
    return relayout(model.to(device, print_details=False).eval())


def _load_tokenizer(path: Path, trust_remote_code: bool):
    try:
        return AutoTokenizer.from_pretrained(
            path, local_files_only=True, trust_remote_code=trust_remote_code
        )
    except (OSError, ValueError) as err:
        logger.warning("no tokenizer in %s (%s); the model takes token ids only", path, err)
        return None


def _hooked_config(
    path: Path, hf_config, *, device: torch.device, dtype: torch.dtype, n_ctx: int | None
):
    """A `HookedTransformerConfig` built from the directory's own config.json.

    TransformerLens guesses some architectures from the *name* it is given (any path
    containing "llama" or "gemma"), so the config is read from a copy in a neutrally named
    directory, and the RoPE base it ignores for Llama is set from the HF config. Families it
    keys by official name (Gemma) get their config from `CONFIG_BUILDERS`.
    """
    architecture = hf_config.architectures[0]
    if architecture in CONFIG_BUILDERS:
        cfg = HookedTransformerConfig(
            **CONFIG_BUILDERS[architecture](hf_config.to_dict()),
            original_architecture=architecture,
            model_name=path.name,
            init_weights=False,
            device=device,
            dtype=dtype,
        )
        if n_ctx is not None and n_ctx < cfg.n_ctx:
            cfg.n_ctx = n_ctx
        cfg.tokenizer_name = str(path)
        return cfg
    with tempfile.TemporaryDirectory() as tmp:
        neutral = Path(tmp) / "local-model"
        neutral.mkdir()
        config = json.loads((path / "config.json").read_text())
        # GPT-2 configs written by recent transformers drop `n_ctx`, which the converter reads.
        if "n_positions" in config:
            config.setdefault("n_ctx", config["n_positions"])
        (neutral / "config.json").write_text(json.dumps(config))
        cfg = get_pretrained_model_config(
            str(neutral),
            hf_cfg=hf_config.to_dict(),
            device=device,
            dtype=dtype,
            local_files_only=True,
        )
    if n_ctx is not None and n_ctx < cfg.n_ctx:
        cfg.n_ctx = n_ctx
    adjust_config(cfg, hf_config)
    cfg.tokenizer_name = str(path)
    return cfg
