"""Store a loaded model's weight matrices in the memory order its forward pass reads them.

TransformerLens keeps each weight in its own reading order (`W_in` is `[d_model, d_mlp]`,
`W_Q` is `[head, d_model, d_head]`) and, on every forward pass, turns the gated MLP's
matrices, the attention projections and the unembedding into the `[out, in]` order of
`F.linear` with a copy (`W.T.contiguous()`, a rearrange of the heads). For a decoding step,
where the batch holds one token per row, those copies cost more than the matrix products.

`relayout(model)` keeps every parameter's shape, values and name, and changes only its
strides: each matrix is stored `[out, in]`-contiguous, so the same expressions in the forward
pass become views and nothing is copied. The outputs are the same bits (the same kernels read
the same numbers in the same order).
"""

from __future__ import annotations

import torch
from torch import nn
from transformer_lens import HookedTransformer
from transformer_lens.components import AbstractAttention, Unembed
from transformer_lens.components.mlps.gated_mlp import GatedMLP

# Per parameter: the permutation that makes it [out, in]-ordered as the forward reads it.
_ATTENTION_IN = (0, 2, 1)  # [head, d_model, d_head] read as [(head d_head), d_model]
_ATTENTION_OUT = (2, 0, 1)  # [head, d_head, d_model] read as [d_model, (head d_head)]
_MATRIX = (1, 0)  # [in, out] read as [out, in]


def relayout(model: HookedTransformer) -> HookedTransformer:
    """Store the weights the forward pass would copy in the order it reads them; in place.

    Example:
        >>> model = relayout(model)  # the same logits, without a copy of each matrix per call
    """
    # Split-input attention contracts its weights with einsum: leave those as they are.
    attention = not (model.cfg.use_split_qkv_input or model.cfg.use_attn_in)
    for module in model.modules():
        if isinstance(module, AbstractAttention) and attention:
            for name in ("W_Q", "W_K", "W_V", "_W_K", "_W_V"):
                _store(module, name, _ATTENTION_IN)
            _store(module, "W_O", _ATTENTION_OUT)
        elif isinstance(module, GatedMLP):
            for name in ("W_gate", "W_in", "W_out"):
                _store(module, name, _MATRIX)
        elif isinstance(module, Unembed):
            _store(module, "W_U", _MATRIX)
    return model


def _store(module: nn.Module, name: str, order: tuple[int, ...]) -> None:
    param = module._parameters.get(name)
    if param is None:
        return
    inverse = tuple(sorted(range(len(order)), key=order.__getitem__))
    with torch.no_grad():
        param.data = param.data.permute(order).contiguous().permute(inverse)
