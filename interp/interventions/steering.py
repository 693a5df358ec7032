"""Interventions along a direction: add α·v (`AddDirection`), or project v out
(`AblateDirection`).

Each is a frozen object that checks itself against a model and gives TransformerLens hooks;
`apply(model, *interventions)` puts them on. `AddDirection` adds at the direction's own kind of
hook (`blocks.L.hook_resid_post` for a direction read there) in each chosen layer, at the
chosen positions (`interp.interventions.positions`); `AblateDirection` removes the component
along v from the residual stream after each chosen layer (every layer, and the embeddings,
by default), at every position.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import einops
import torch
from transformer_lens import HookedTransformer

from interp.interventions.directions import Direction
from interp.interventions.errors import InterventionError
from interp.interventions.positions import PositionTracker, Where, check_where
from interp.models.hook_names import layer_of


def check_layers(model: HookedTransformer, layers: Sequence[int], what: str = "layer") -> tuple:
    """`layers` as a tuple, each a layer index of `model`."""
    layers = (layers,) if isinstance(layers, int) else tuple(layers)
    if not layers:
        raise InterventionError(
            f"no {what}s given; name at least one (0..{model.cfg.n_layers - 1})."
        )
    for layer in layers:
        if isinstance(layer, bool) or not isinstance(layer, int):
            raise InterventionError(f"{what} {layer!r} is not a layer index (an int).")
        if not 0 <= layer < model.cfg.n_layers:
            raise InterventionError(f"{what} {layer} is out of range: {model.cfg.model_name!r} "
                                    f"has {model.cfg.n_layers} layers (0..{model.cfg.n_layers - 1}).")  # fmt: skip
    return layers


def check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not math.isfinite(alpha):
        raise InterventionError(f"alpha={alpha!r}: give a finite number (the length of the "
                                "vector added along the unit direction).")  # fmt: skip
    return float(alpha)


@dataclass(frozen=True)
class AddDirection:
    """Add `alpha` × the unit `direction` at `layers` (default: the direction's own layer) and
    `positions` ("all", "prompt", "response", or from a token index on)."""

    direction: Direction
    alpha: float
    layers: tuple[int, ...] | None = None
    positions: Where = "all"

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", check_alpha(self.alpha))
        if self.layers is not None:
            layers = (self.layers,) if isinstance(self.layers, int) else tuple(self.layers)
            object.__setattr__(self, "layers", layers)

    def hook_names(self, model: HookedTransformer) -> list[str]:
        return _hooks_at(model, self.direction, self.layers)

    def check(self, model: HookedTransformer, *, allow_other_model: bool = False) -> None:
        self.direction.check(model, allow_other_model=allow_other_model)
        check_where(self.positions, model.cfg.n_ctx)
        self.hook_names(model)

    def hooks(self, model: HookedTransformer, where: PositionTracker) -> list:
        vector = self.alpha * self.direction.vector

        def add(act: torch.Tensor, hook) -> torch.Tensor:
            delta = vector.to(act.device, act.dtype)
            keep = where.mask(self.positions, act.shape[1], act.device)
            if keep is None:
                return act + delta
            return act + keep[:, None].to(act.dtype) * delta

        return [(name, add) for name in self.hook_names(model)]

    def everywhere(self) -> AddDirection:
        """The same addition at every position (how a coherence cost is measured)."""
        return replace(self, positions="all")

    def with_direction(self, direction: Direction) -> AddDirection:
        return replace(self, direction=direction)

    def to_dict(self) -> dict:
        return {"kind": "add direction", "alpha": self.alpha,
                "layers": None if self.layers is None else list(self.layers),
                "positions": self.positions, "direction": self.direction.to_dict()}  # fmt: skip

    def __str__(self) -> str:
        where = "" if self.positions == "all" else f", positions {self.positions}"
        moved = self.layers is not None and self.layers != (self.direction.layer,)
        source = f"(L{self.direction.layer})" if moved else ""
        return f"add {self.alpha:+.3g}·v{source} at layers {_shown(self)}{where}"


@dataclass(frozen=True)
class AblateDirection:
    """Project the unit `direction` out of the residual stream after each of `layers`
    (default: the embeddings and every layer), at every position."""

    direction: Direction
    layers: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.layers is not None:
            layers = (self.layers,) if isinstance(self.layers, int) else tuple(self.layers)
            object.__setattr__(self, "layers", layers)

    def hook_names(self, model: HookedTransformer) -> list[str]:
        if self.layers is None:
            return ["blocks.0.hook_resid_pre",
                    *(f"blocks.{i}.hook_resid_post" for i in range(model.cfg.n_layers))]  # fmt: skip
        return [f"blocks.{i}.hook_resid_post" for i in check_layers(model, self.layers)]

    def check(self, model: HookedTransformer, *, allow_other_model: bool = False) -> None:
        self.direction.check(model, allow_other_model=allow_other_model)
        self.hook_names(model)

    def hooks(self, model: HookedTransformer, where: PositionTracker) -> list:
        unit = self.direction.vector

        def project_out(act: torch.Tensor, hook) -> torch.Tensor:
            u = unit.to(act.device, act.dtype)
            coef = einops.einsum(act, u, "batch pos d_model, d_model -> batch pos")
            return act - einops.einsum(coef, u, "batch pos, d_model -> batch pos d_model")

        return [(name, project_out) for name in self.hook_names(model)]

    def everywhere(self) -> AblateDirection:
        return self

    def with_direction(self, direction: Direction) -> AblateDirection:
        return replace(self, direction=direction)

    def to_dict(self) -> dict:
        return {"kind": "ablate direction",
                "layers": None if self.layers is None else list(self.layers),
                "direction": self.direction.to_dict()}  # fmt: skip

    def __str__(self) -> str:
        where = f"layers {_shown(self)}" if self.layers else "every layer"
        return f"ablate v(L{self.direction.layer}) at {where}"


def _hooks_at(model: HookedTransformer, direction: Direction, layers) -> list[str]:
    """The direction's kind of hook in each of `layers` (its own layer when None)."""
    own = layer_of(direction.hook)
    if direction.hook not in model.hook_dict:
        raise InterventionError(f"the direction was read at {direction.hook!r}, which "
                                f"{model.cfg.model_name!r} does not have ({model.cfg.n_layers} "
                                "layers).")  # fmt: skip
    if layers is None:
        return [direction.hook]
    if own is None:
        raise InterventionError(f"the direction was read at {direction.hook!r}, outside the "
                                "layers; leave layers unset to use it there.")  # fmt: skip
    suffix = direction.hook.split(".", 2)[2]
    return [f"blocks.{i}.{suffix}" for i in check_layers(model, layers)]


def _shown(it) -> str:
    layers = it.layers if it.layers is not None else (it.direction.layer,)
    return ",".join(map(str, layers))
