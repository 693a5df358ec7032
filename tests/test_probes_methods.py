"""Probe methods against scikit-learn and plain formulas."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.preprocessing import StandardScaler

from interp.probes import ProbeConfig, ProbeError, fit_directions, fit_logistic, train_probe


def _data(n=400, d=48, seed=0, scale=True):
    g = torch.Generator().manual_seed(seed)
    widths = torch.linspace(0.2, 8.0, d) if scale else torch.ones(d)
    x = torch.randn(n, d, generator=g) * widths + torch.linspace(-3, 3, d)
    w = torch.randn(d, generator=g) / widths
    y = ((x @ w) + 1.5 * torch.randn(n, generator=g) > (x @ w).median()).long()
    return x, y


@pytest.mark.parametrize("standardize", [True, False])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_logistic_matches_sklearn(standardize, dtype):
    x, y = _data()
    x_train, y_train, x_test, y_test = x[:280], y[:280], x[280:], y[280:]
    config = ProbeConfig(standardize=standardize, tol=1e-8)
    w, b, fit = fit_logistic(x_train[None].to(dtype), y_train.double(), config)
    assert fit.converged == [True]
    X = x_train.double().numpy()
    if standardize:
        scaler = StandardScaler().fit(X)
        clf = LogisticRegression(C=1.0, tol=1e-8, max_iter=10_000).fit(scaler.transform(X), y_train)
        coef = clf.coef_[0] / scaler.scale_
        intercept = clf.intercept_[0] - scaler.mean_ @ coef
    else:
        clf = LogisticRegression(C=1.0, tol=1e-8, max_iter=10_000).fit(X, y_train)
        coef, intercept = clf.coef_[0], clf.intercept_[0]
    ours = roc_auc_score(y_test, (x_test.double() @ w[0] + b[0]).numpy())
    theirs = roc_auc_score(y_test, x_test.double().numpy() @ coef + intercept)
    assert abs(ours - theirs) < 0.005
    tol = 1e-3 if dtype == torch.float32 and standardize else 1e-4  # float32 products
    np.testing.assert_allclose(w[0].numpy(), coef, atol=tol * np.abs(coef).max())
    assert float(b[0]) == pytest.approx(intercept, abs=tol * max(1.0, abs(intercept)))


def test_float64_products_on_float32_input_match_float64():
    x, y = _data()
    wide = fit_logistic(x[None], y, ProbeConfig(tol=1e-8, float64_matmul=True))
    exact = fit_logistic(x[None].double(), y, ProbeConfig(tol=1e-8))
    torch.testing.assert_close(wide[0], exact[0], rtol=1e-6, atol=1e-6)


def test_logistic_respects_C():
    x, y = _data(seed=3)
    # both fitted to a tight tolerance: the test is about the objective, not where a
    # loose stopping rule happens to halt on raw (badly scaled) features
    strong = fit_logistic(x[None], y, ProbeConfig(C=0.01, standardize=False, tol=1e-8))[0]
    clf = LogisticRegression(C=0.01, tol=1e-8, max_iter=10_000).fit(x.double().numpy(), y)
    np.testing.assert_allclose(strong[0].numpy(), clf.coef_[0], atol=1e-3 * np.abs(clf.coef_).max())


def test_batched_hooks_equal_one_at_a_time():
    xs = torch.stack([_data(seed=s)[0] for s in range(3)])
    y = _data(seed=0)[1]
    for method in ("diff_means", "logistic", "whitened", "pca"):
        w, b = fit_directions(xs, y, method)
        for h in range(3):
            w1, b1 = fit_directions(xs[h : h + 1], y, method)
            torch.testing.assert_close(w[h], w1[0], rtol=1e-5, atol=1e-7)
            torch.testing.assert_close(b[h], b1[0], rtol=1e-5, atol=1e-7)


def test_mean_methods_against_formulas():
    x, y = _data(d=16)
    xd = x.double()
    mu1, mu0 = xd[y == 1].mean(0), xd[y == 0].mean(0)
    w, b = fit_directions(x[None], y, "diff_means")
    torch.testing.assert_close(w[0], (mu1 - mu0) / (mu1 - mu0).norm())
    torch.testing.assert_close(b[0], -w[0] @ (mu1 + mu0) / 2)

    a = 0.2
    c1, c0 = xd[y == 1] - mu1, xd[y == 0] - mu0
    cov = (c1.T @ c1 + c0.T @ c0) / (len(x) - 2)
    shrunk = (1 - a) * cov + a * cov.trace() / 16 * torch.eye(16, dtype=torch.float64)
    expected = torch.linalg.solve(shrunk, mu1 - mu0)
    w, _ = fit_directions(x[None], y, "whitened", ProbeConfig(shrinkage=a))
    torch.testing.assert_close(w[0], expected / expected.norm())

    w, _ = fit_directions(x[None], y, "pca")
    pc = PCA(n_components=1).fit(xd.numpy()).components_[0]
    assert abs(float(w[0] @ torch.from_numpy(pc))) == pytest.approx(1.0, abs=1e-8)
    assert float(w[0] @ (mu1 - mu0)) > 0  # oriented towards label 1


def test_pca_with_fewer_rows_than_dimensions():
    x, y = _data(n=20, d=64)
    w, _ = fit_directions(x[None], y, "pca")
    pc = PCA(n_components=1).fit(x.double().numpy()).components_[0]
    assert abs(float(w[0] @ torch.from_numpy(pc))) == pytest.approx(1.0, abs=1e-8)


def test_train_probe_on_tensors_records_training_metrics():
    x, y = _data()
    probe = train_probe(x, y, method="logistic")
    assert probe.method == "logistic" and probe.n_train == 400 and probe.hook is None
    assert 0.8 < probe.metrics["train_auroc"] <= 1.0
    assert probe.train_hash == train_probe(x, y, method="logistic").train_hash
    assert probe.score(x).shape == (400,)


def test_config_and_method_errors():
    with pytest.raises(ProbeError, match="C must be positive"):
        ProbeConfig(C=0)
    with pytest.raises(ProbeError, match="shrinkage"):
        ProbeConfig(shrinkage=2)
    with pytest.raises(ProbeError, match="unknown probe method 'svm'.*diff_means"):
        train_probe(torch.randn(4, 2), [0, 1, 0, 1], method="svm")


def test_logistic_batch_equals_one_at_a_time():
    """The batched fit (used on a GPU) drops each hook as it converges; every hook ends as
    if fitted alone, however many iterations the others need (float64, so that the two
    agree to rounding; float32 products may take another path to the same tolerance)."""
    from interp.probes.methods import _fit_logistic

    xs = torch.stack([_data(seed=s)[0] for s in range(4)]).double()
    y = _data(seed=0)[1]
    config = ProbeConfig(tol=1e-6)
    w, b, n_iter, converged, loss = _fit_logistic(xs, y, config)
    assert len(set(n_iter)) > 1 and all(converged)  # hooks left the batch at different times
    for h in range(4):
        w1, b1, n1, _, loss1 = _fit_logistic(xs[h : h + 1], y, config)
        torch.testing.assert_close(w[h], w1[0], rtol=1e-5, atol=1e-7)
        torch.testing.assert_close(b[h], b1[0], rtol=1e-5, atol=1e-7)
        assert n_iter[h] == n1[0] and loss[h] == pytest.approx(loss1[0], rel=1e-9)
    torch.testing.assert_close(fit_logistic(xs, y, config)[0], w, rtol=1e-5, atol=1e-7)
