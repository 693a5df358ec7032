"""`ActivationSet`: cached activations held in memory (what a small caching job returns)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from interp.activations.inputs import CachedPrompt
from interp.activations.positions import Positions
from interp.activations.reader import ActivationReader


@dataclass(frozen=True, repr=False, eq=False)
class ActivationSet(ActivationReader):
    """Activations per hook, in prompt order, with the prompts' ids, labels and groups.

    Example:
        >>> acts = cache_activations(model, prompts, ["blocks.1.hook_resid_post"])
        >>> acts["blocks.1.hook_resid_post"].shape, acts.labels.shape
        (torch.Size([8, 64]), torch.Size([8]))
    """

    tensors: dict[str, Tensor]
    example_records: tuple[CachedPrompt, ...]
    rule: Positions
    model_fingerprint: str
    prompt_hash: str
    model_name: str = ""
    lengths_tensor: Tensor | None = None
    token_id_tensor: Tensor | None = None
    interventions: tuple[dict, ...] = ()
    """The interventions active on the model while it was cached (empty: none)."""

    @property
    def hooks(self) -> tuple[str, ...]:
        return tuple(self.tensors)

    @property
    def positions(self) -> Positions:
        return self.rule

    @property
    def examples(self) -> tuple[CachedPrompt, ...]:
        return self.example_records

    @property
    def fingerprint(self) -> str:
        return self.model_fingerprint

    @property
    def dtype(self) -> torch.dtype:
        return next(iter(self.tensors.values())).dtype

    def row_shape(self, hook: str) -> tuple[int, ...]:
        self._check_hook(hook)
        return tuple(self.tensors[hook].shape[1 + len(self.rule.row_prefix) :])

    @property
    def _has_token_ids(self) -> bool:
        return self.token_id_tensor is not None

    def _parts(self, key: str) -> Iterator[Tensor]:
        if key == "lengths":
            yield self.lengths_tensor  # type: ignore[misc]
        elif key == "token_ids":
            yield self.token_id_tensor  # type: ignore[misc]
        else:
            yield self.tensors[key]

    def to_dict(self) -> dict:
        """JSON-safe summary (no tensors)."""
        return {
            "model": self.model_name,
            "fingerprint": self.model_fingerprint,
            "prompt_hash": self.prompt_hash,
            "n": len(self),
            "hooks": list(self.hooks),
            "positions": self.rule.to_json(),
            "dtype": str(self.dtype).removeprefix("torch."),
            "shapes": {h: list(t.shape) for h, t in self.tensors.items()},
            "interventions": list(self.interventions),
        }

    def __repr__(self) -> str:
        hooks = list(self.hooks)
        shown = hooks if len(hooks) <= 4 else [*hooks[:3], f"... {len(hooks) - 3} more"]
        return (
            f"ActivationSet(n={len(self)}, hooks={shown}, positions={str(self.rule)!r}, "
            f"dtype={str(self.dtype).removeprefix('torch.')})"
        )
