"""Probe metrics: FPR at a recall and by family, beside the AUROC and bootstrap intervals of
`interp.evals.auroc` (imported here, where the probes have always found them)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.evals.auroc import (  # noqa: F401
    Interval,
    auroc,
    average_ranks,
    bootstrap_auroc,
    bootstrap_mean,
    stratified_resamples,
)
from interp.probes.errors import ProbeError


def threshold_at_recall(
    scores: Float[Tensor, " n"], labels: Int[Tensor, " n"], recall: float
) -> float:
    """The highest threshold `t` such that `scores >= t` flags at least `recall` of positives.

    Example:
        >>> threshold_at_recall(torch.tensor([0.9, 0.8, 0.2, 0.1]), torch.tensor([1, 1, 0, 1]), 2 / 3)
        0.8
    """
    if not 0 < recall <= 1:
        raise ProbeError(f"recall must be in (0, 1], got {recall}; e.g. recall=0.9.")
    positive = scores[labels.to(scores.device) == 1].sort(descending=True).values
    if len(positive) == 0:
        raise ProbeError("no positive (label 1) rows: a recall needs triggered prompts.")
    k = max(1, math.ceil(recall * len(positive) - 1e-9))
    return float(positive[k - 1])


@dataclass(frozen=True)
class FamilyFPR:
    """False-positive rate on one prompt family's negatives at a fixed threshold."""

    family: str
    fpr: float
    flagged: int
    n: int

    def to_dict(self) -> dict:
        return asdict(self)


def fpr_by_family(
    scores: Float[Tensor, " n"],
    labels: Int[Tensor, " n"],
    families: list[str],
    threshold: float,
) -> list[FamilyFPR]:
    """Per-family false-positive rates of `scores >= threshold`, worst family first.

    Only negatives (label 0) count; a family with no negatives is left out.

    Example:
        >>> [f.family for f in fpr_by_family(scores, labels, groups, 0.5)]
        ['code', 'open', 'dilemma']
    """
    if len(families) != len(scores):
        raise ProbeError(
            f"{len(scores)} scores but {len(families)} families; pass one family per row."
        )
    flagged = (scores >= threshold).cpu()
    negative = labels.cpu() == 0
    out = []
    for family in sorted(set(families)):
        rows = torch.tensor([f == family for f in families]) & negative
        n = int(rows.sum())
        if n:
            k = int((flagged & rows).sum())
            out.append(FamilyFPR(family, k / n, k, n))
    return sorted(out, key=lambda f: (-f.fpr, f.family))
