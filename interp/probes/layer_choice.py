"""Rules that choose a probe's layer on selection prompts, from one sweep's results.

A probe that separates triggered from clean prompts in the organism may read the trigger's
*text*, which a model without the backdoor sees too. The same probe applied to control
models' activations of the same prompts (the base, a benign fine-tune) tells them apart:
`AboveControls` chooses the layer where the organism separates and the controls do not,
`HighestAUROC` by the organism's AUROC alone.

Example:
    >>> sweep = probe_sweep(select_acts, train=pairs, controls={"base": base_acts})
    >>> choose_layer(sweep, "diff_means", AboveControls()).hook
    'blocks.29.hook_resid_post'
"""

from __future__ import annotations

from dataclasses import dataclass

from interp.probes.errors import ProbeError
from interp.probes.results import ProbeResult, SweepResult


@dataclass(frozen=True)
class LayerRule:
    """How a layer is chosen: the result with the highest `score` wins (the lower layer on a
    tie). Subclass it for a rule of your own."""

    name = "rule"

    def score(self, result: ProbeResult) -> float:
        raise NotImplementedError


@dataclass(frozen=True)
class HighestAUROC(LayerRule):
    """The organism's AUROC alone: the plain rule."""

    name = "highest-auroc"

    def score(self, result: ProbeResult) -> float:
        return result.auroc.value


@dataclass(frozen=True)
class AboveControls(LayerRule):
    """The organism's AUROC minus the largest control's (the same probe on each control
    model's activations of the same prompts), a control below chance counted as chance: a
    probe flags high scores, so a control whose triggered prompts score lower raises no
    alarm, and it earns the layer nothing either. With no controls it is the plain rule."""

    name = "above-controls"

    def score(self, result: ProbeResult) -> float:
        return result.auroc.value - max([0.5, *(c.applied for c in result.controls)])


#: The rules by name.
LAYER_RULES: dict[str, LayerRule] = {r.name: r for r in (HighestAUROC(), AboveControls())}


def layer_rule(rule: LayerRule | str) -> LayerRule:
    """A rule, or the rule of that name in `LAYER_RULES`."""
    if isinstance(rule, LayerRule):
        return rule
    if rule not in LAYER_RULES:
        raise ProbeError(f"unknown layer rule {rule!r}; rules: {', '.join(LAYER_RULES)}, or a "
                         "LayerRule of your own.")  # fmt: skip
    return LAYER_RULES[rule]


def choose_layer(sweep: SweepResult, method: str, rule: LayerRule | str) -> ProbeResult:
    """The result of `method` whose hook `rule` chooses (the lowest such hook on a tie)."""
    rule = layer_rule(rule)
    results = sweep.by_hook(method)
    if not results:
        raise ProbeError(f"the sweep has no results of method {method!r} to choose from.")
    return max(results, key=lambda r: (rule.score(r), -sweep.hooks.index(r.hook)))
