"""Vectorised AUROC, bootstrap intervals and per-family FPR against scikit-learn and loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from interp.probes import ProbeError, auroc, bootstrap_auroc, fpr_by_family, threshold_at_recall
from interp.probes.metrics import average_ranks, stratified_resamples


def test_auroc_matches_sklearn_with_ties_batched():
    g = torch.Generator().manual_seed(0)
    scores = torch.randint(0, 5, (50, 40), generator=g).float()  # many ties
    labels = torch.randint(0, 2, (50, 40), generator=g)
    labels[:, 0], labels[:, 1] = 0, 1
    ours = auroc(scores, labels)
    theirs = [roc_auc_score(y.numpy(), s.numpy()) for s, y in zip(scores, labels, strict=True)]
    torch.testing.assert_close(ours, torch.tensor(theirs, dtype=torch.float64), rtol=0, atol=1e-12)


def test_auroc_shared_labels_and_continuous_scores():
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(7, 300, generator=g)
    labels = (torch.rand(300, generator=g) < 0.3).long()
    ours = auroc(scores, labels)
    theirs = [roc_auc_score(labels.numpy(), s.numpy()) for s in scores]
    np.testing.assert_allclose(ours.numpy(), theirs, rtol=0, atol=1e-12)


def test_average_ranks_share_ties():
    ranks, order = average_ranks(torch.tensor([0.3, 0.1, 0.3, 0.3]))
    assert ranks.tolist() == [1.0, 3.0, 3.0, 3.0] and order[0] == 1


def test_auroc_of_one_class_is_nan():
    assert math.isnan(float(auroc(torch.tensor([0.1, 0.2]), torch.tensor([1, 1]))))


def test_bootstrap_matches_a_loop_and_repeats_with_the_seed():
    g = torch.Generator().manual_seed(2)
    labels = torch.tensor([1] * 30 + [0] * 40)
    scores = torch.randn(70, generator=g) + labels
    resamples = stratified_resamples(labels, 200, torch.Generator().manual_seed(5))
    assert (labels[resamples].sum(1) == 30).all()  # both classes, counts kept
    got = bootstrap_auroc(scores, labels, resamples=resamples)
    loop = [roc_auc_score(labels[r].numpy(), scores[r].numpy()) for r in resamples]
    low, high = np.quantile(loop, [0.025, 0.975])
    assert got.value == pytest.approx(roc_auc_score(labels.numpy(), scores.numpy()), abs=1e-12)
    assert got.low == pytest.approx(low, abs=1e-6) and got.high == pytest.approx(high, abs=1e-6)
    again = bootstrap_auroc(scores, labels, generator=torch.Generator().manual_seed(5))
    once = bootstrap_auroc(scores, labels, generator=torch.Generator().manual_seed(5))
    assert again == once and again.low <= again.value <= again.high


def test_threshold_and_fpr_by_family_worst_first():
    scores = torch.tensor([0.9, 0.8, 0.7, 0.6, 0.85, 0.2, 0.75, 0.1, 0.3])
    labels = torch.tensor([1, 1, 1, 1, 0, 0, 0, 0, 0])
    families = ["a", "a", "b", "b", "code", "code", "open", "open", "open"]
    t = threshold_at_recall(scores, labels, 0.75)
    assert t == pytest.approx(0.7)  # 3 of 4 triggered prompts score >= 0.7
    fams = fpr_by_family(scores, labels, families, t)
    assert [(f.family, f.flagged, f.n) for f in fams] == [("code", 1, 2), ("open", 1, 3)]
    assert fams[0].fpr == 0.5 and fams[1].fpr == pytest.approx(1 / 3)


def test_metric_errors_name_the_fix():
    with pytest.raises(ProbeError, match="recall must be in"):
        threshold_at_recall(torch.tensor([0.1]), torch.tensor([1]), 0.0)
    with pytest.raises(ProbeError, match="one family per row"):
        fpr_by_family(torch.tensor([0.1, 0.2]), torch.tensor([0, 1]), ["a"], 0.5)
