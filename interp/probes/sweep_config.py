"""`SweepConfig`: every option of `probe_sweep` in one frozen dataclass (the CLI's defaults)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from interp.probes.errors import ProbeError
from interp.probes.methods import DEFAULT_CONFIG, METHODS, ProbeConfig, check_method


@dataclass(frozen=True)
class SweepConfig:
    """Options of `probe_sweep`; the CLI reads its defaults from here.

    Example:
        >>> SweepConfig(methods=("diff_means",), n_random=0).replace(seed=1).seed
        1
    """

    methods: tuple[str, ...] = METHODS
    """Probe methods to fit: any of 'diff_means', 'logistic', 'whitened', 'pca'."""
    test_frac: float = 0.3
    """Held-out fraction when `acts` is split (neither `train=` nor `heldout=`)."""
    n_random: int = 1000
    """Random directions per width (0: off); their best and 95th-percentile AUROC."""
    n_bootstrap: int = 1000
    """Stratified bootstrap resamples for the 95% intervals (0: none)."""
    refit_controls: bool = True
    """Also fit a probe on each control model ("refit", "transfer")."""
    length_match: bool = True
    """Also score on a length-matched subset of the held-out prompts."""
    recall: float = 0.9
    """The recall at which false-positive rates are reported."""
    alarm: float = 0.75
    """A control AUROC at or above this is reported in `warnings`."""
    probe: ProbeConfig = DEFAULT_CONFIG
    """Hyperparameters of the probe methods."""
    seed: int = 0
    """Seeds the split, the random directions and the bootstrap (each from its own stream)."""

    def __post_init__(self) -> None:
        methods = (self.methods,) if isinstance(self.methods, str) else tuple(self.methods)
        object.__setattr__(self, "methods", tuple(check_method(m) for m in methods))
        if not self.methods:
            raise ProbeError(f"no methods given; choose from {list(METHODS)}.")
        twice = sorted({m for m in self.methods if self.methods.count(m) > 1})
        if twice:
            raise ProbeError(f"methods lists {twice} more than once; give each method once.")
        if not 0 < self.test_frac < 1:
            raise ProbeError(f"test_frac={self.test_frac} must lie strictly between 0 and 1.")
        if self.n_random < 0 or self.n_bootstrap < 0:
            raise ProbeError("n_random and n_bootstrap must be 0 (off) or more.")
        if not 0 < self.recall <= 1:
            raise ProbeError(f"recall={self.recall} must lie in (0, 1], e.g. 0.9.")
        if not 0 <= self.alarm <= 1:
            raise ProbeError(f"alarm={self.alarm} is an AUROC: give a value in [0, 1].")
        if not isinstance(self.probe, ProbeConfig):
            raise ProbeError(f"probe={self.probe!r} must be a ProbeConfig.")

    def replace(self, **changes) -> SweepConfig:
        """A copy with `changes`; an unknown option is named."""
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ProbeError(f"probe_sweep has no option {unknown}; options: {sorted(known)}.")
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        return {**out, "methods": list(self.methods), "probe": self.probe.to_dict()}


DEFAULT_SWEEP = SweepConfig()
