"""A stable identity for a model: a hash of its architecture config and every weight."""

from __future__ import annotations

import hashlib
import json

import torch
from transformer_lens import HookedTransformer

# Config fields that change neither the weights nor what the model computes.
_NOT_IDENTITY = frozenset(
    {
        "device",
        "n_devices",
        "n_ctx",
        "model_name",
        "tokenizer_name",
        "default_prepend_bos",
        "tokenizer_prepends_bos",
        "use_attn_result",
        "use_split_qkv_input",
        "use_hook_mlp_in",
        "use_attn_in",
        "use_hook_tokens",
        "ungroup_grouped_query_attention",
        "from_checkpoint",
        "checkpoint_index",
        "checkpoint_label_type",
        "checkpoint_value",
        "init_mode",
        "init_weights",
        "initializer_range",
        "seed",
        "n_params",
        "trust_remote_code",
    }
)


def fingerprint(model: HookedTransformer) -> str:
    """Hex sha256 of the model's architecture config and all its parameters.

    Stable across loads, devices and context lengths; any change to any weight changes it.
    The hash is remembered until a parameter is replaced or modified in place, so calling
    it again is free.

    Example:
        >>> fingerprint(load_model("smollm2"))[:12]
        '3f1c...'
    """
    params = list(model.named_parameters())
    state = tuple((name, p.data_ptr(), p._version) for name, p in params)
    cached = getattr(model, "_interp_fingerprint", None)
    if cached is not None and cached[0] == state:
        return cached[1]
    digest = hashlib.sha256()
    config = {k: v for k, v in model.cfg.to_dict().items() if k not in _NOT_IDENTITY}
    digest.update(json.dumps(config, sort_keys=True, default=str).encode())
    for name, param in params:
        tensor = param.detach().to("cpu").contiguous()
        digest.update(f"{name}:{tensor.dtype}:{tuple(tensor.shape)}".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy())
    result = digest.hexdigest()
    model._interp_fingerprint = (state, result)
    return result
