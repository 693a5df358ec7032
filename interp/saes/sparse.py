"""A sparse TopK training step for SAELens's TopK SAE: only the k active latents of each
token are decoded, and only they carry gradients back through the encoder.

In a TopK step all but k of the `d_sae` latents of a token are zero, yet SAELens's dense
step multiplies all of them: the decoder forward, the decoder's two gradients and the
encoder's two gradients are five `[batch, d_sae]` matrix products beside the one the
encoder's forward pass needs. `SparseTopKTrainingSAE` is SAELens's `TopKTrainingSAE` with the
encoder's selection and its gradient written by hand (`_TopKEncode`) and the decoder as a
weighted sum of the k selected rows (`embedding_bag`), so that every product but the
encoder's forward touches `batch × k` entries instead of `batch × d_sae`. The module, its
parameters, its losses (the auxiliary loss for dead latents included, which falls back to
the dense gradient on the steps it fires) and the saved format are SAELens's own; the tests
check its loss and every gradient against SAELens's dense step.

Example:
    >>> sae = SparseTopKTrainingSAE(sae_lens.TopKTrainingSAEConfig(d_in=576, d_sae=2304, k=96))
    >>> out = sae.training_forward_pass(step_input)  # as TopKTrainingSAE's, fewer FLOPs
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from sae_lens import TopKTrainingSAE
from torch import Tensor


class _TopKEncode(torch.autograd.Function):
    """`hidden = (x @ W_enc + b_enc) * scale`, its top k per row (ReLU'd) and their indices;
    the backward reads only the top-k entries unless `hidden` itself got a gradient."""

    @staticmethod
    def forward(ctx, x: Tensor, w_enc: Tensor, b_enc: Tensor, scale: Tensor | None, k: int):
        pre = torch.addmm(b_enc, x, w_enc)
        hidden = pre * scale if scale is not None else pre
        top, index = hidden.topk(k, dim=-1, sorted=False)
        ctx.save_for_backward(x, w_enc, scale, pre, index, top > 0)
        ctx.mark_non_differentiable(index)
        ctx.set_materialize_grads(False)
        return hidden, top.relu(), index

    @staticmethod
    def backward(ctx, grad_hidden, grad_values, _):
        x, w_enc, scale, pre, index, positive = ctx.saved_tensors
        d_sae = w_enc.shape[1]
        picked = (grad_values * positive) if grad_values is not None else None
        if grad_hidden is not None:  # a loss read the dense pre-activations: the dense path
            dense = grad_hidden.clone()
            if picked is not None:
                dense.scatter_add_(1, index, picked)
            g_pre = dense * scale if scale is not None else dense
            g_scale = (dense * pre).sum(0) if scale is not None else None
            return g_pre @ w_enc.T, x.T @ g_pre, g_pre.sum(0), g_scale, None
        if picked is None:
            return None, None, None, None, None
        flat = index.flatten()
        g_scale = None
        if scale is not None:
            g_scale = torch.zeros(d_sae, dtype=pre.dtype, device=pre.device)
            g_scale.index_add_(0, flat, (picked * pre.gather(1, index)).flatten())
            picked = picked * scale[index]
        rows = torch.arange(x.shape[0], device=x.device).repeat_interleave(index.shape[1])
        sparse = torch.sparse_coo_tensor(torch.stack([flat, rows]), picked.flatten(),
                                         (d_sae, x.shape[0]), check_invariants=False)  # fmt: skip
        g_w = torch.sparse.mm(sparse, x).T
        g_b = torch.zeros(d_sae, dtype=pre.dtype, device=pre.device).index_add_(
            0, flat, picked.flatten()
        )
        g_x = None
        if ctx.needs_input_grad[0]:
            g_x = F.embedding_bag(index, w_enc.T.contiguous(), per_sample_weights=picked,
                                  mode="sum")  # fmt: skip
        return g_x, g_w, g_b, g_scale, None


class SparseTopKTrainingSAE(TopKTrainingSAE):
    """SAELens's TopK training SAE, stepped through the k active latents only."""

    def encode_with_hidden_pre(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self._hooked():
            return super().encode_with_hidden_pre(x)
        sae_in = self.process_sae_in(x)
        scale = self.W_dec.norm(dim=-1) if self.cfg.rescale_acts_by_decoder_norm else None
        hidden_pre, values, index = _TopKEncode.apply(sae_in, self.W_enc, self.b_enc, scale,
                                                      self.cfg.k)  # fmt: skip
        with torch.no_grad():  # what the trainer counts (firing, L0); no loss reads it
            feature_acts = torch.zeros_like(hidden_pre).scatter_(-1, index, values)
        self._active = (feature_acts, values, index, scale)
        return feature_acts, hidden_pre

    def decode(self, feature_acts: Tensor) -> Tensor:
        active = getattr(self, "_active", None)
        if active is None or active[0] is not feature_acts:
            return super().decode(feature_acts)  # acts from elsewhere: the dense path
        _, values, index, scale = active
        if scale is not None:
            values = values / scale[index]
        out = F.embedding_bag(index, self.W_dec, per_sample_weights=values, mode="sum")
        out = self.hook_sae_recons(out + self.b_dec)
        out = self.run_time_activation_norm_fn_out(out)
        return self.reshape_fn_out(out, self.d_head)

    def _hooked(self) -> bool:
        points = (self.hook_sae_acts_pre, self.hook_sae_acts_post)
        return self.cfg.reshape_activations != "none" or any(p._forward_hooks for p in points)
