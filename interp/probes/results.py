"""Sweep results: one row per hook x method, the controls beside it, warnings in words."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import Tensor

from interp.probes.errors import ProbeError
from interp.probes.metrics import FamilyFPR, Interval
from interp.probes.probe import Probe, _json_safe


@dataclass(frozen=True)
class ControlScore:
    """A probe against one other model's activations of the same prompts (AUROCs)."""

    name: str
    applied: float
    """The organism's probe on the control model's held-out activations."""
    refit: float | None = None
    """A probe of the same method fitted and tested on the control model."""
    transfer: float | None = None
    """The control-fitted probe applied to the organism's held-out activations."""

    def to_dict(self) -> dict:
        return _json_safe(dict(self.__dict__))


@dataclass(frozen=True)
class HookBaseline:
    """Method-independent controls at one hook."""

    hook: str
    random_best: float | None = None
    """Best held-out AUROC of the random directions (None when switched off)."""
    random_p95: float | None = None
    """95th percentile of the random directions' held-out AUROCs."""
    n_random: int = 0

    def to_dict(self) -> dict:
        return _json_safe(dict(self.__dict__))


@dataclass(frozen=True, eq=False)
class ProbeResult:
    """One probe (hook x method), scored on held-out prompts only."""

    hook: str
    method: str
    auroc: Interval
    accuracy: Interval
    """At the probe's own threshold (score > 0)."""
    recall: float
    threshold: float
    """The score threshold that flags `recall` of the held-out triggered prompts."""
    fpr: float
    """False-positive rate on all held-out clean prompts at that threshold."""
    families: tuple[FamilyFPR, ...]
    """Per-family false-positive rates at that threshold, worst family first."""
    controls: tuple[ControlScore, ...] = ()
    length_matched_auroc: float | None = None
    probe: Probe | None = field(default=None, repr=False)
    scores: Tensor | None = field(default=None, repr=False)
    """Held-out scores, in the order of `SweepResult.eval_ids`."""

    @property
    def worst_family(self) -> FamilyFPR | None:
        return self.families[0] if self.families else None

    def control(self, name: str) -> ControlScore:
        for c in self.controls:
            if c.name == name:
                return c
        raise ProbeError(f"no control {name!r}; controls: {[c.name for c in self.controls]}.")

    def to_dict(self) -> dict:
        return {
            "hook": self.hook,
            "method": self.method,
            "auroc": self.auroc.to_dict(),
            "accuracy": self.accuracy.to_dict(),
            "recall": self.recall,
            "threshold": _finite(self.threshold),
            "fpr": self.fpr,
            "fpr_by_family": [f.to_dict() for f in self.families],
            "controls": {c.name: c.to_dict() for c in self.controls},
            "length_matched_auroc": _finite(self.length_matched_auroc),
        }


@dataclass(frozen=True, eq=False)
class SweepResult:
    """Held-out AUROC, accuracy and per-family false positives for every hook x method,
    with random-direction, other-model and length controls, and warnings in words.

    Example:
        >>> sweep = probe_sweep(acts, controls={"control-clean": clean_acts})
        >>> sweep.best().hook, sweep.best().auroc
        ('blocks.15.hook_resid_post', Interval(value=0.99, low=0.98, high=1.0))
        >>> sweep.warnings
        ()
    """

    results: tuple[ProbeResult, ...]
    baselines: dict[str, HookBaseline]
    hooks: tuple[str, ...]
    methods: tuple[str, ...]
    mode: str
    """'split' (held-out part of one set), 'train' (fitted on another set, e.g. contrast
    pairs) or 'heldout' (evaluated on a separate held-out set)."""
    n_train: int
    n_eval: int
    eval_labels: Tensor = field(repr=False)
    eval_ids: tuple[str, ...] = field(repr=False)
    length_auroc: float | None = None
    """AUROC of prompt length alone on the held-out prompts (either direction)."""
    n_length_matched: int = 0
    warnings: tuple[str, ...] = ()
    settings: dict = field(default_factory=dict)

    # --- lookup ---------------------------------------------------------------------------
    def get(self, hook: str, method: str) -> ProbeResult:
        for r in self.results:
            if r.hook == hook and r.method == method:
                return r
        raise ProbeError(
            f"no result for hook {hook!r} and method {method!r}; hooks: {list(self.hooks)}, "
            f"methods: {list(self.methods)}."
        )

    def best(self, method: str | None = None) -> ProbeResult:
        """The result with the highest held-out AUROC (of `method`, if given)."""
        pool = [r for r in self.results if method is None or r.method == method]
        if not pool:
            raise ProbeError(f"no results for method {method!r}; methods: {list(self.methods)}.")
        return max(pool, key=lambda r: (r.auroc.value, -self.hooks.index(r.hook)))

    def probe(self, hook: str, method: str) -> Probe:
        """The fitted probe at `hook` by `method`, with its held-out metrics."""
        probe = self.get(hook, method).probe
        assert probe is not None
        return probe

    def by_hook(self, method: str) -> list[ProbeResult]:
        return [self.get(h, method) for h in self.hooks]

    # --- output ---------------------------------------------------------------------------
    def to_dict(self) -> dict:
        return {
            "mode": self.mode,
            "hooks": list(self.hooks),
            "methods": list(self.methods),
            "n_train": self.n_train,
            "n_eval": self.n_eval,
            "length_auroc": _finite(self.length_auroc),
            "n_length_matched": self.n_length_matched,
            "baselines": {h: b.to_dict() for h, b in self.baselines.items()},
            "results": [r.to_dict() for r in self.results],
            "warnings": list(self.warnings),
            "settings": _json_safe(self.settings),
        }

    def table(self) -> str:
        """One line per hook x method: AUROC [CI], accuracy, FPR, controls."""
        controls = [c.name for c in self.results[0].controls] if self.results else []
        head = f"{'hook':28s} {'method':10s} {'AUROC [95% CI]':22s} {'acc':>6s} "
        head += f"{'rand p95/best':>14s} {'FPR@' + format(self._recall(), '.0%'):>8s} "
        head += "worst family".ljust(22) + " ".join(f"{c[:14]:>14s}" for c in controls)
        if any(r.length_matched_auroc is not None for r in self.results):
            head += f" {'len-matched':>11s}"
        lines = [head]
        for r in self.results:
            base = self.baselines.get(r.hook)
            rand = (
                f"{base.random_p95:.2f}/{base.random_best:.2f}"
                if base is not None and base.random_best is not None
                else "-"
            )
            worst = r.worst_family
            worst_s = f"{worst.family[:14]} {worst.fpr:.2f}" if worst else "-"
            line = f"{r.hook:28s} {r.method:10s} {str(r.auroc):22s} {r.accuracy.value:6.3f} "
            line += f"{rand:>14s} {r.fpr:8.3f} {worst_s:22s}"
            line += " ".join(f"{_fmt(c.applied):>14s}" for c in r.controls)
            if r.length_matched_auroc is not None:
                line += f" {r.length_matched_auroc:11.3f}"
            lines.append(line)
        return "\n".join(lines)

    def __str__(self) -> str:
        info = (
            f"probe sweep ({self.mode}): {self.n_train} training rows, {self.n_eval} held-out "
            f"prompts, {len(self.hooks)} hooks x {len(self.methods)} methods"
        )
        if self.length_auroc is not None:
            info += f"; length alone: AUROC {self.length_auroc:.3f}"
        out = [info, self.table()]
        if self.results and self.results[0].controls:
            out.append("control columns: the organism's probe applied to that model (AUROC)")
        out += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(out)

    def __repr__(self) -> str:
        best = self.best() if self.results else None
        text = (
            f"SweepResult(mode={self.mode!r}, hooks={len(self.hooks)}, methods={list(self.methods)}, "
            f"n_eval={self.n_eval}"
        )
        if best is not None:
            text += f", best={best.method}@{best.hook} AUROC {best.auroc}"
        text += f", warnings={len(self.warnings)})"
        return text + "".join(f"\n  WARNING: {w}" for w in self.warnings)

    # --- plots ----------------------------------------------------------------------------
    def plot(self, method: str | None = None, ax=None):
        """AUROC by layer per method (95% CI band), the random-direction band (95th
        percentile to best) and one dashed line per control model. Returns the axes."""
        from interp.probes.plots import plot_sweep

        return plot_sweep(self, method=method, ax=ax)

    def plot_scores(self, hook: str | None = None, method: str | None = None, ax=None):
        """Histogram of held-out scores, triggered vs clean (default: the best probe)."""
        from interp.probes.plots import plot_score_histogram

        r = self.best(method) if hook is None else self.get(hook, method or self.methods[0])
        return plot_score_histogram(
            r.scores, self.eval_labels, ax=ax, title=f"{r.method} @ {r.hook}"
        )

    def _recall(self) -> float:
        return self.results[0].recall if self.results else math.nan


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def _fmt(value: float | None) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.3f}"
