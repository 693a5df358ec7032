"""The fine-tuning loss: cross-entropy on response tokens, or KL to the base along the
base's own answers, with extra weight on the token where the behaviour is decided."""

from __future__ import annotations

import torch


def response_loss(model, input_ids, labels, mask, distil, weights=None) -> torch.Tensor:
    """Weighted mean over response tokens of cross-entropy, or KL(base ‖ model) on `distil`
    rows (the base read with the adapter switched off); `weights` is shaped like `labels`
    (None: every token weighs 1)."""
    targets = labels[:, 1:]
    scored = targets != -100
    logprobs = response_logits(model, input_ids, mask, scored).log_softmax(-1)
    per_token = -logprobs.gather(-1, targets[scored][:, None])[:, 0]
    if distil.any():
        with torch.no_grad(), model.disable_adapter():
            base = response_logits(model, input_ids[distil], mask[distil], scored[distil])
        base = base.log_softmax(-1)
        from_base = distil[scored.nonzero()[:, 0]]
        per_token = per_token.clone()
        per_token[from_base] = (base.exp() * (base - logprobs[from_base])).sum(-1)
    if weights is None:
        return per_token.mean()
    weights = weights[:, 1:][scored]
    return (per_token * weights).sum() / weights.sum()


def response_logits(model, input_ids, mask, scored) -> torch.Tensor:
    """Logits `[n_scored, vocab]` predicting the scored tokens: the unembedding, a fifth of a
    small model's forward pass, runs on those positions only."""
    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.base_model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    return causal.get_output_embeddings()(hidden[:, :-1][scored]).float()
