"""Where an intervention acts in the sequence, right under generation with or without a KV cache.

A forward pass sees only its own positions: the whole prompt first, then, with a KV cache,
one new position per generated token (`[batch, 1, d]`), and without the cache the whole
sequence again each step. `PositionTracker` watches every forward pass of the model (a
forward pre-hook) and knows, for each, the absolute position of its first position and where
the prompt ended, so "the response only" or "from token 5 on" mean the same positions either
way.

Position modes (`Where`):
- `"all"`: every position;
- `"prompt"`: the prompt's positions (a plain forward pass is all prompt);
- `"response"`: the generated positions only (none in a plain forward pass);
- an int `i ≥ 0`: position `i` and every later one (in a left-padded batch, positions count
  the padding: use negative indices to name the same token in every row);
- an int `i < 0`: from `i` positions before the prompt's end on (`-1`: the last prompt token
  and every generated one).

A forward pass whose input extends the previous one by one position (generation without a
cache), or one that reuses a filled KV cache, continues the previous prompt; anything else
starts a new one.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from interp.interventions.errors import InterventionError

Where = Literal["all", "prompt", "response"] | int
MODES = ("all", "prompt", "response")


def check_where(where, n_ctx: int) -> Where:
    """`where` if it is a position mode the model's context can hold; else a clear error."""
    if isinstance(where, str):
        if where not in MODES:
            raise InterventionError(f"positions={where!r} is not a position mode; give one of "
                                    f"{list(MODES)} or a token index (e.g. -1).")  # fmt: skip
        return where
    if isinstance(where, bool) or not isinstance(where, int):
        raise InterventionError(f"positions={where!r}: give one of {list(MODES)} or a token "
                                "index (an int).")  # fmt: skip
    if not -n_ctx <= where < n_ctx:
        raise InterventionError(f"position {where} is outside the model's context of {n_ctx} "
                                f"tokens; give an index in {-n_ctx}..{n_ctx - 1}.")  # fmt: skip
    return where


class PositionTracker:
    """Absolute positions of the current forward pass, and where its prompt ended."""

    def __init__(self) -> None:
        self.offset = 0
        self.prompt_end: int | None = None
        self._last: Tensor | None = None

    def pre_forward(self, module, args, kwargs) -> None:
        """A forward pre-hook (`with_kwargs=True`) on the model."""
        x = args[0] if args else kwargs.get("input")
        cache = kwargs.get("past_kv_cache")
        cached = int(cache[0].past_keys.shape[1]) if cache is not None else 0
        tensor = x if isinstance(x, Tensor) else None
        last = self._last
        extends = (
            tensor is not None
            and last is not None
            and tensor.shape[0] == last.shape[0]
            and tensor.shape[1] == last.shape[1] + 1
            and tensor.shape[2:] == last.shape[2:]
            and torch.equal(tensor[:, :-1], last)
        )
        self.offset = cached
        if not cached and not extends:
            self.prompt_end = None  # a new prompt: the first hook learns its length
        self._last = tensor.detach().clone() if tensor is not None and not cached else None

    def mask(self, where: Where, n: int, device) -> Tensor | None:
        """`[n]` booleans over this pass's positions (None: all of them)."""
        if self.prompt_end is None:
            self.prompt_end = self.offset + n
        if where == "all":
            return None
        position = torch.arange(self.offset, self.offset + n, device=device)
        if where == "prompt":
            return position < self.prompt_end
        if where == "response":
            return position >= self.prompt_end
        start = where if where >= 0 else self.prompt_end + where
        if start < 0:
            raise InterventionError(f"position {where} is before the start of the "
                                    f"{self.prompt_end}-token prompt; give an index within it "
                                    f"(≥ {-self.prompt_end}).")  # fmt: skip
        return position >= start
