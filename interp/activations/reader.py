"""The read API shared by in-memory activation sets and on-disk stores."""

from __future__ import annotations

import difflib
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from jaxtyping import Bool, Float, Int
from torch import Tensor

from interp.activations.errors import ActivationsError
from interp.activations.inputs import CachedPrompt
from interp.activations.positions import Positions


class ActivationReader(ABC):
    """Cached activations, read by hook name.

    `acts[hook]` is `[n, *d]` for one-row-per-prompt rules (`last`, `mean`, `span`,
    `trigger`), `[n, k, *d]` for k explicit indices, and `[total tokens, *d]` for `all`
    (prompt i's tokens are rows `offsets[i]:offsets[i + 1]`, from `lengths`). `*d` is the
    hook's own shape after `[batch, pos]`, e.g. `[d_model]` or `[n_heads, d_head]`.
    """

    @property
    @abstractmethod
    def hooks(self) -> tuple[str, ...]: ...

    @property
    @abstractmethod
    def positions(self) -> Positions: ...

    @property
    @abstractmethod
    def examples(self) -> tuple[CachedPrompt, ...]: ...

    @property
    @abstractmethod
    def fingerprint(self) -> str: ...

    @property
    @abstractmethod
    def dtype(self) -> torch.dtype: ...

    @abstractmethod
    def row_shape(self, hook: str) -> tuple[int, ...]:
        """The shape of `hook`'s activation at one position (e.g. `(d_model,)`)."""

    @abstractmethod
    def _parts(self, key: str) -> Iterator[Tensor]:
        """The stored tensor `key` piece by piece (shard by shard), in prompt order."""

    @property
    @abstractmethod
    def _has_token_ids(self) -> bool: ...

    # --- prompts --------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.examples)

    @property
    def labels(self) -> Int[Tensor, " n"]:
        """`[n]` int64 labels, in prompt order."""
        return torch.tensor([e.label for e in self.examples], dtype=torch.long)

    @property
    def groups(self) -> list[str]:
        return [e.group for e in self.examples]

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.examples]

    # --- activations ----------------------------------------------------------------------
    def __getitem__(self, hook: str) -> Float[Tensor, "rows ..."]:
        """All rows of `hook`, in prompt order, as one tensor."""
        self._check_hook(hook)
        return torch.cat(list(self._parts(hook)))

    def __contains__(self, hook: object) -> bool:
        return hook in self.hooks

    def iter_batches(
        self, hook: str, batch_size: int = 1024
    ) -> Iterator[Float[Tensor, "batch ..."]]:
        """Rows of `hook` in prompt order, `batch_size` at a time (the last batch may be
        smaller), reading one shard at a time so memory stays flat.

        Example:
            >>> for batch in store.iter_batches("blocks.15.hook_resid_post", 4096):
            ...     sae_step(batch)
        """
        self._check_hook(hook)
        if batch_size < 1:
            raise ActivationsError(f"batch_size must be at least 1, got {batch_size}.")
        pending: list[Tensor] = []
        held = 0
        for part in self._parts(hook):
            pending.append(part)
            held += part.shape[0]
            if held < batch_size:
                continue
            joined = torch.cat(pending)
            cut = (held // batch_size) * batch_size
            yield from joined[:cut].split(batch_size)
            pending, held = [joined[cut:]], held - cut
        if held:
            yield torch.cat(pending)

    @property
    def lengths(self) -> Int[Tensor, " n"] | None:
        """Kept tokens per prompt for the `all` rule (None for other rules)."""
        if not self.positions.ragged:
            return None
        return torch.cat(list(self._parts("lengths")))

    @property
    def first_positions(self) -> Bool[Tensor, " rows"]:
        """For `all`: which rows are the first position of their prompt."""
        lengths = self._require_ragged("first_positions")
        first = torch.zeros(int(lengths.sum()), dtype=torch.bool)
        first[torch.cumsum(lengths, 0) - lengths] = True
        return first

    @property
    def token_ids(self) -> Int[Tensor, "rows ..."] | None:
        """The token id at each kept position (rules that keep single tokens), else None."""
        return torch.cat(list(self._parts("token_ids"))) if self._has_token_ids else None

    def per_prompt(self, hook: str) -> list[Float[Tensor, "pos ..."]]:
        """For `all`: one `[len_i, *d]` tensor per prompt."""
        lengths = self._require_ragged("per_prompt")
        return list(self[hook].split(lengths.tolist()))

    def padded(self, hook: str) -> tuple[Float[Tensor, "n pos ..."], Int[Tensor, " n"]]:
        """For `all`: `[n, max_len, *d]` right-padded with zeros, and the lengths."""
        lengths = self._require_ragged("padded")
        return torch.nn.utils.rnn.pad_sequence(self.per_prompt(hook), batch_first=True), lengths

    def to_saelens(
        self,
        directory: str | Path,
        hooks: str | Sequence[str] | None = None,
        *,
        progress: bool = True,
    ) -> Path:
        """Write `hooks` (default: all) as a SAELens cached-activations dataset.

        See `interp.activations.saelens.to_saelens`.
        """
        from interp.activations.saelens import to_saelens

        return to_saelens(self, directory, hooks, progress=progress)

    # --- helpers --------------------------------------------------------------------------
    def _check_hook(self, hook: str) -> None:
        if hook not in self.hooks:
            close = difflib.get_close_matches(str(hook), list(self.hooks), n=3, cutoff=0.5)
            raise ActivationsError(
                f"{hook!r} was not cached here; closest: {close or 'none'}; cached hooks: "
                f"{list(self.hooks)}. Cache it with cache_activations(..., hooks=[{hook!r}])."
            )

    def _require_ragged(self, what: str) -> Tensor:
        lengths = self.lengths
        if lengths is None:
            raise ActivationsError(
                f"{what}() is for the 'all' rule; these activations use {self.positions} "
                "and already have one fixed-size row per prompt."
            )
        return lengths
