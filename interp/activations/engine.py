"""The forward passes: length-bucketed padded batches, gather in the hook, stop early.

Each batch is padded to its longest prompt with an attention mask built from the prompt
lengths, so padding (either side) changes no value. Hooks keep only the chosen positions
(nothing else is copied out of the forward pass), and a hook after the deepest requested
one stops the pass, so later layers and the unembedding never run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from interp.activations.errors import NonFiniteActivationsError
from interp.activations.hooks import HookPlan
from interp.activations.inputs import Encoded
from interp.activations.positions import Positions


class _StopForward(Exception):
    """Raised by a hook once every requested activation has been gathered."""


@dataclass(frozen=True)
class ChunkResult:
    """Activations of a run of consecutive prompts, in prompt order."""

    tensors: dict[str, torch.Tensor]  # per hook: [n, *prefix, *row], or [tokens, *row] for 'all'
    lengths: torch.Tensor | None  # [n] kept tokens per prompt, for 'all'
    token_ids: torch.Tensor | None  # the token id at each kept position, when rows are tokens


def length_batches(
    lengths: Sequence[int], batch_size: int, *, bucket: bool = True
) -> list[list[int]]:
    """Split prompt indices into batches; with `bucket`, neighbours in length share a batch.

    Example:
        >>> length_batches([5, 1, 4, 2], 2)
        [[1, 3], [2, 0]]
    """
    order = sorted(range(len(lengths)), key=lambda i: (lengths[i], i)) if bucket else None
    order = order if order is not None else list(range(len(lengths)))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@torch.inference_mode()
def run_chunk(
    model: HookedTransformer,
    encoded: Sequence[Encoded],
    prompt_ids: Sequence[str],
    plan: HookPlan,
    rule: Positions,
    *,
    batch_size: int,
    dtype: torch.dtype,
    padding_side: str = "right",
    bucket: bool = True,
    on_batch: Callable[[int], None] | None = None,
) -> ChunkResult:
    """Run `encoded` prompts through `model` and keep `rule`'s positions at `plan`'s hooks."""
    n = len(encoded)
    slots: dict[str, list[torch.Tensor | None]] = {h: [None] * n for h in plan.names}
    fixed: dict[str, torch.Tensor] = {}
    if not rule.ragged:
        for h in plan.names:
            shape = (n, *rule.row_prefix, *plan.row_shapes[h])
            fixed[h] = torch.empty(shape, dtype=dtype)
    pad_id = _pad_id(model)
    for batch in length_batches([len(e.tokens) for e in encoded], batch_size, bucket=bucket):
        rows = [encoded[i] for i in batch]
        captured = _forward_batch(model, rows, plan, rule, pad_id, padding_side, dtype)
        ids = [prompt_ids[i] for i in batch]
        counts = [len(r.picked) for r in rows]
        for h, out in captured.items():
            _check_finite(h, out, ids, counts if rule.ragged else None, dtype)
            if rule.ragged:
                for i, piece in zip(batch, out.split(counts), strict=True):
                    slots[h][i] = piece
            else:
                fixed[h][torch.tensor(batch)] = out
        if on_batch is not None:
            on_batch(len(batch))
    if rule.ragged:
        tensors = {h: torch.cat(slots[h]) for h in plan.names}  # type: ignore[arg-type]
        lengths = torch.tensor([len(e.picked) for e in encoded], dtype=torch.long)
    else:
        tensors, lengths = fixed, None
    token_ids = None
    if rule.picks_tokens:
        picked = [torch.tensor(e.tokens, dtype=torch.int32)[list(e.picked)] for e in encoded]
        token_ids = torch.cat(picked) if rule.ragged else torch.stack(picked)
        if rule.kind == "last":
            token_ids = token_ids[:, 0]
    return ChunkResult(tensors, lengths, token_ids)


def _forward_batch(
    model,
    rows: Sequence[Encoded],
    plan: HookPlan,
    rule: Positions,
    pad_id: int,
    padding_side: str,
    dtype: torch.dtype,
) -> dict[str, torch.Tensor]:
    device = model.cfg.device
    width = max(len(r.tokens) for r in rows)
    k = max(len(r.picked) for r in rows)
    tokens = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    cols = torch.zeros((len(rows), k), dtype=torch.long)
    valid = torch.zeros((len(rows), k), dtype=torch.bool)
    for j, row in enumerate(rows):
        shift = 0 if padding_side == "right" else width - len(row.tokens)
        tokens[j, shift : shift + len(row.tokens)] = torch.tensor(row.tokens)
        mask[j, shift : shift + len(row.tokens)] = 1
        cols[j, : len(row.picked)] = torch.tensor(row.picked) + shift
        valid[j, : len(row.picked)] = True
    tokens, mask, cols, valid = (t.to(device) for t in (tokens, mask, cols, valid))
    batch_index = torch.arange(len(rows), device=device)[:, None]
    counts = valid.sum(1)
    captured: dict[str, torch.Tensor] = {}

    def gather(act: torch.Tensor, hook) -> None:
        picked = act[batch_index, cols]  # [batch, k, *row]
        if rule.kind == "last":
            out = picked[:, 0]
        elif rule.kind == "indices":
            out = picked
        elif rule.ragged:
            out = picked[valid]  # [kept tokens, *row], prompt by prompt
        else:  # an average over the kept tokens, accumulated in float32
            keep = valid.reshape(*valid.shape, *([1] * (picked.dim() - 2)))
            total = torch.where(keep, picked.float(), 0.0).sum(1)
            out = total / counts.reshape(-1, *([1] * (total.dim() - 1)))
        captured[hook.name] = out.to(device="cpu", dtype=dtype)

    def stop(act: torch.Tensor, hook) -> None:
        raise _StopForward

    fwd_hooks = [(name, gather) for name in plan.names] + [(plan.stop_after, stop)]
    with model.hooks(fwd_hooks=fwd_hooks):
        try:
            model(tokens, attention_mask=mask, return_type=None)
        except _StopForward:
            pass
    return captured


def _check_finite(hook: str, out: torch.Tensor, ids: Sequence[str], counts, dtype) -> None:
    if bool(torch.isfinite(out).all()):
        return
    bad_rows = (~torch.isfinite(out)).reshape(out.shape[0], -1).any(1)
    if counts is not None:  # 'all': rows are tokens; map them back to prompts
        owner = torch.repeat_interleave(torch.arange(len(ids)), torch.tensor(counts))
        bad = sorted({ids[i] for i in owner[bad_rows].tolist()})
    else:
        bad = [ids[i] for i in bad_rows.nonzero().flatten().tolist()]
    raise NonFiniteActivationsError(
        f"{hook} holds NaN or inf for prompt(s) {bad[:10]}{' ...' if len(bad) > 10 else ''} "
        f"(stored as {str(dtype).removeprefix('torch.')}). Check the model's weights (a "
        "broken fine-tune, or float16 overflow: cache with dtype=torch.float32)."
    )


def _pad_id(model: HookedTransformer) -> int:
    tokenizer = model.tokenizer
    if tokenizer is not None and tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    return 0
