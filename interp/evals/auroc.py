"""Rank-based AUROC with ties and bootstrap intervals, vectorised over batches.

Every function takes a batch of score vectors at once (`[..., n]`), so the AUROCs of 1,000
random directions or 1,000 bootstrap resamples are one sort, not 1,000 calls. AUROC is the
Mann-Whitney U statistic with average ranks for ties, so it equals
`sklearn.metrics.roc_auc_score` exactly.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
from jaxtyping import Float, Int
from torch import Tensor


def average_ranks(scores: Float[Tensor, "*batch n"]) -> tuple[Tensor, Tensor]:
    """1-based ranks along the last dimension, tied values sharing their average rank.

    Returns `(ranks, order)`: the ranks in sorted order and the permutation that sorts, so
    `ranks[..., i]` is the rank of `scores[..., order[..., i]]`.

    Example:
        >>> average_ranks(torch.tensor([0.3, 0.1, 0.3]))[0]
        tensor([1.0000, 2.5000, 2.5000], dtype=torch.float64)
    """
    values, order = scores.sort(dim=-1, stable=True)
    n = values.shape[-1]
    pos = torch.arange(n, device=values.device).expand(values.shape)
    first = torch.ones(values.shape, dtype=torch.bool, device=values.device)
    first[..., 1:] = values[..., 1:] != values[..., :-1]
    last = torch.ones_like(first)
    last[..., :-1] = first[..., 1:]
    start = torch.where(first, pos, 0).cummax(dim=-1).values
    end = torch.where(last, pos, n - 1).flip(-1).cummin(dim=-1).values.flip(-1)
    return (start + end).to(torch.float64) / 2 + 1, order


def auroc(
    scores: Float[Tensor, "*batch n"], labels: Int[Tensor, "*batch n"]
) -> Float[Tensor, "*batch"]:
    """Area under the ROC curve of `scores` for 0/1 `labels`, batched over leading dims.

    `labels` is `[n]` (shared) or the same shape as `scores`. Ties count one half, exactly as
    `sklearn.metrics.roc_auc_score`; a row with only one class gives NaN.

    Example:
        >>> auroc(torch.tensor([[0.1, 0.4, 0.35, 0.8]]), torch.tensor([0, 0, 1, 1]))
        tensor([0.7500], dtype=torch.float64)
    """
    ranks, order = average_ranks(scores)
    y = labels.to(scores.device).expand(scores.shape).gather(-1, order).to(torch.float64)
    n_pos = y.sum(-1)
    n_neg = y.shape[-1] - n_pos
    u = (ranks * y).sum(-1) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


@dataclass(frozen=True)
class Interval:
    """A point estimate with a bootstrap percentile interval (95% by default)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


def stratified_resamples(
    labels: Int[Tensor, " n"], n_resamples: int, generator: torch.Generator
) -> Int[Tensor, "resamples n"]:
    """Row indices of `n_resamples` bootstrap resamples that keep each class's count.

    Resampling positives and negatives separately keeps both classes in every resample, so
    every resample has an AUROC.
    """
    parts = []
    for cls in (1, 0):
        rows = (labels == cls).nonzero().flatten()
        pick = torch.randint(len(rows), (n_resamples, len(rows)), generator=generator)
        parts.append(rows[pick])
    return torch.cat(parts, dim=1)


def bootstrap_auroc(
    scores: Float[Tensor, " n"],
    labels: Int[Tensor, " n"],
    *,
    n_resamples: int = 1000,
    level: float = 0.95,
    generator: torch.Generator | None = None,
    resamples: Int[Tensor, "resamples n"] | None = None,
) -> Interval:
    """AUROC with a stratified bootstrap percentile interval, all resamples at once.

    Example:
        >>> bootstrap_auroc(scores, labels, generator=torch.Generator().manual_seed(0))
        Interval(value=0.93, low=0.88, high=0.97)
    """
    labels = labels.cpu()
    point = float(auroc(scores, labels))
    if resamples is None:
        resamples = stratified_resamples(labels, n_resamples, _gen(generator))
    if resamples.shape[0] == 0:
        return Interval(point, math.nan, math.nan)
    dev = resamples.to(scores.device)
    values = auroc(scores[dev], labels[resamples])
    return _interval(point, values, level)


def bootstrap_mean(
    values: Float[Tensor, " n"],
    resamples: Int[Tensor, "resamples n"],
    *,
    level: float = 0.95,
) -> Interval:
    """The mean of `values` (e.g. correct/incorrect) with a percentile bootstrap interval."""
    values = values.to(torch.float64).cpu()
    point = float(values.mean())
    if resamples.shape[0] == 0:
        return Interval(point, math.nan, math.nan)
    return _interval(point, values[resamples].mean(-1), level)


def _interval(point: float, values: Tensor, level: float) -> Interval:
    alpha = (1 - level) / 2
    q = torch.quantile(values.to(torch.float64).cpu(), torch.tensor([alpha, 1 - alpha]).double())
    return Interval(point, float(q[0]), float(q[1]))


def _gen(generator: torch.Generator | None) -> torch.Generator:
    return generator if generator is not None else torch.Generator().manual_seed(0)
