"""The token rows an SAE trains and is measured on: from a store, tensors, or a model.

A source cached with the position rule `all` holds one row per token and knows where each
prompt starts, so the first position (BOS or the template's first token, which carries huge
outliers) can be left out. Held-out rows are whole prompts, drawn with the seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor

from interp.activations import ActivationReader
from interp.saes.errors import SAEError


@dataclass(frozen=True)
class SAEData:
    """Training and held-out rows of one hook, with which rows are first positions."""

    hook: str | None
    train: Float[Tensor, "n d"]
    heldout: Float[Tensor, "m d"]
    heldout_first: Bool[Tensor, " m"]
    corpus_hash: str
    model_fingerprint: str | None

    @property
    def d_in(self) -> int:
        return self.train.shape[1]


def sae_data(
    source: ActivationReader | Tensor,
    hook: str | None = None,
    *,
    heldout_frac: float = 0.1,
    skip_first_position: bool = True,
    seed: int = 0,
) -> SAEData:
    """Split `source` (an activation set or store cached with positions 'all', or `[n, d]`
    rows) into training and held-out rows of `hook`.

    Example:
        >>> data = sae_data(store, "blocks.15.hook_resid_post")
        >>> data.train.shape, data.heldout.shape
    """
    generator = torch.Generator().manual_seed(seed)
    if isinstance(source, Tensor):
        return _from_rows(source, hook, heldout_frac, generator)
    if not isinstance(source, ActivationReader):
        raise SAEError(f"an SAE trains on an activation store, a set or [n, d] rows, not "
                       f"{type(source).__name__}.")  # fmt: skip
    hook = _pick_hook(source, hook)
    rows, first = token_rows(source, hook)
    lengths = source.lengths
    owner = torch.repeat_interleave(torch.arange(len(lengths)), lengths)
    held = _heldout_prompts(len(lengths), heldout_frac, generator)
    in_held = held[owner]
    keep = ~in_held & ~first if skip_first_position else ~in_held
    return SAEData(
        hook=hook,
        train=rows[keep],
        heldout=rows[in_held],
        heldout_first=first[in_held],
        corpus_hash=f"{source.fingerprint}:{_digest(source.ids)}",
        model_fingerprint=source.fingerprint,
    )


def heldout_data(source: ActivationReader, hook: str | None = None) -> SAEData:
    """Every token of `source` as held-out data (a store of prompts the SAE never saw)."""
    hook = _pick_hook(source, hook)
    rows, first = token_rows(source, hook)
    return SAEData(hook, rows[:0], rows, first, f"{source.fingerprint}:{_digest(source.ids)}",
                   source.fingerprint)  # fmt: skip


def token_rows(
    source: ActivationReader, hook: str | None = None
) -> tuple[Float[Tensor, "n d"], Bool[Tensor, " n"]]:
    """Every token row of `hook` in a store cached with positions 'all', and which rows are
    the first position of their prompt."""
    hook = _pick_hook(source, hook)
    if len(source) == 0:
        raise SAEError("the store holds no prompts; cache some first.")
    if source.positions.kind != "all":
        raise SAEError(
            f"the store was cached with positions {source.positions.kind!r}, one row per "
            "prompt; an SAE learns from every token: cache with positions 'all' (interp cache "
            "... --positions all), or pass the rows as a tensor."
        )
    rows = source[hook].float().reshape(source[hook].shape[0], -1)
    return rows, source.first_positions


def _from_rows(rows: Tensor, hook: str | None, frac: float, generator) -> SAEData:
    if rows.dim() != 2 or rows.shape[0] < 2:
        raise SAEError(f"rows of shape {tuple(rows.shape)}: pass a [n, d] tensor of n ≥ 2 rows.")
    if not torch.isfinite(rows).all():
        raise SAEError("the rows hold NaN or inf; drop them or re-cache in float32.")
    rows = rows.float()
    held = _heldout_prompts(rows.shape[0], frac, generator)
    digest = hashlib.sha256(rows.numpy().tobytes()).hexdigest()[:16]
    return SAEData(hook, rows[~held], rows[held], torch.zeros(int(held.sum()), dtype=torch.bool),
                   f"rows:{digest}", None)  # fmt: skip


def _heldout_prompts(n: int, frac: float, generator) -> Bool[Tensor, " n"]:
    held = torch.zeros(n, dtype=torch.bool)
    count = max(1, round(n * frac))
    if count >= n:
        raise SAEError(f"{n} prompts cannot be split into training and held-out ones; cache more.")
    held[torch.randperm(n, generator=generator)[:count]] = True
    return held


def _pick_hook(source: ActivationReader, hook: str | None) -> str:
    if hook is None:
        if len(source.hooks) != 1:
            raise SAEError(f"the store holds {len(source.hooks)} hooks; name the one to train "
                           f"on (hook=..., --hook), e.g. {source.hooks[0]!r}.")  # fmt: skip
        return source.hooks[0]
    if hook not in source.hooks:
        raise SAEError(f"the store holds no hook {hook!r}; it holds {list(source.hooks)}. "
                       f"Cache {hook!r} with positions 'all'.")  # fmt: skip
    return hook


def _digest(ids) -> str:
    return hashlib.sha256("\n".join(ids).encode()).hexdigest()[:16]
