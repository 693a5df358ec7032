"""Probe methods: difference of means, logistic regression, whitened means, first PC.

Every method fits a batch of hooks at once: `x` is `[hooks, n, d]` (any float dtype), `y` is `[n]`
0/1, and the result is a direction `[hooks, d]` and a bias `[hooks]` with `score = x @
direction + bias`, oriented so that label 1 (triggered) scores higher. Directions of the
mean-based methods and the PC are unit vectors and their bias puts the threshold midway
between the class means; a logistic direction keeps its fitted scale, so its score is a logit.

Logistic regression minimises scikit-learn's objective, `C * sum(log-loss) + |w|^2 / 2`
with an unpenalised intercept, by L-BFGS on the full batch in float64 (on a GPU batched over
hooks, each keeping its own history and line search; on a CPU one hook at a time). With
`standardize=True` (the default) it is fitted on features scaled to mean 0 and variance 1
over the training rows, like `make_pipeline(StandardScaler(), LogisticRegression())`, and
the direction is mapped back so the probe reads raw activations.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from typing import Literal, get_args

import torch
import torch.nn.functional as F
from jaxtyping import Float
from torch import Tensor

from interp.probes.errors import ProbeError

log = logging.getLogger(__name__)

Method = Literal["diff_means", "logistic", "whitened", "pca"]
METHODS: tuple[str, ...] = get_args(Method)
METHOD_HELP = (
    "'diff_means' (difference of class means), 'logistic' (L2 logistic regression), "
    "'whitened' (difference of means through the inverse within-class covariance, LDA-style) "
    "or 'pca' (first principal component of the training rows)"
)


@dataclass(frozen=True)
class ProbeConfig:
    """Hyperparameters of the probe methods (learned state lives in `Probe`).

    Example:
        >>> ProbeConfig(C=0.1, standardize=False)
        ProbeConfig(C=0.1, standardize=False, max_iter=1000, tol=0.0001, history=10, float64_matmul=False, shrinkage=0.1)
    """

    C: float = 1.0
    """Logistic: inverse L2 strength, as scikit-learn's `C` (smaller: stronger penalty)."""
    standardize: bool = True
    """Logistic: fit on features standardised over the training rows (mapped back after)."""
    max_iter: int = 1000
    """Logistic: most L-BFGS iterations."""
    tol: float = 1e-4
    """Logistic: stop when the largest gradient entry of the mean loss is below this."""
    history: int = 10
    """Logistic: L-BFGS memory (pairs kept)."""
    float64_matmul: bool = False
    """Logistic: multiply standardised float32 activations in float64 too (slower)."""
    shrinkage: float = 0.1
    """Whitened: covariance shrunk towards a scaled identity, `(1-a) S + a tr(S)/d I`."""

    def __post_init__(self) -> None:
        if not self.C > 0:
            raise ProbeError(f"C must be positive, got {self.C}; e.g. C=1.0.")
        if self.max_iter < 1 or self.history < 1:
            raise ProbeError(
                f"max_iter and history must be at least 1 (got {self.max_iter}, {self.history})."
            )
        if not self.tol > 0:
            raise ProbeError(f"tol must be positive, got {self.tol}.")
        if not 0 <= self.shrinkage <= 1:
            raise ProbeError(f"shrinkage must be in [0, 1], got {self.shrinkage}.")

    def to_dict(self) -> dict:
        return asdict(self)


DEFAULT_CONFIG = ProbeConfig()


def check_method(method: str) -> str:
    if method not in METHODS:
        raise ProbeError(f"unknown probe method {method!r}; use {METHOD_HELP}.")
    return method


def fit_directions(
    x: Float[Tensor, "hooks n d"],
    y: Float[Tensor, " n"],
    method: str,
    config: ProbeConfig = DEFAULT_CONFIG,
) -> tuple[Float[Tensor, "hooks d"], Float[Tensor, " hooks"]]:
    """Fit `method` on every hook of `x` at once; returns directions and biases (float64).

    Example:
        >>> w, b = fit_directions(x[None].double(), y.double(), "logistic")
        >>> scores = x.double() @ w[0] + b[0]
    """
    check_method(method)
    y = y.to(device=x.device, dtype=torch.float64)
    if method == "logistic":  # takes float32 rows as they are (see `float64_matmul`)
        w, b, _ = fit_logistic(x, y, config)
        return w, b
    x = x.to(torch.float64)
    pos, neg = y == 1, y == 0
    mu1, mu0 = x[:, pos].mean(1), x[:, neg].mean(1)
    delta = mu1 - mu0
    if method == "diff_means":
        w = delta
    elif method == "whitened":
        w = _whitened(x, pos, neg, mu1, mu0, delta, config.shrinkage)
    else:
        w = _first_pc(x)
        w = w * torch.where((w * delta).sum(-1, keepdim=True) < 0, -1.0, 1.0)
    w = w / w.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(w.dtype).tiny)
    b = -(w * (mu1 + mu0) / 2).sum(-1)
    return w, b


def _whitened(x, pos, neg, mu1, mu0, delta, shrinkage: float) -> Tensor:
    c1, c0 = x[:, pos] - mu1[:, None], x[:, neg] - mu0[:, None]
    n, d = x.shape[1], x.shape[2]
    cov = (c1.mT @ c1 + c0.mT @ c0) / max(n - 2, 1)
    scale = cov.diagonal(dim1=-2, dim2=-1).mean(-1)  # tr(S) / d
    eye = torch.eye(d, dtype=x.dtype, device=x.device)
    shrunk = (1 - shrinkage) * cov + shrinkage * scale[:, None, None].clamp_min(1e-12) * eye
    chol, info = torch.linalg.cholesky_ex(shrunk)
    if bool((info != 0).any()):
        shrunk = shrunk + 1e-6 * scale[:, None, None].clamp_min(1e-12) * eye
        chol = torch.linalg.cholesky(shrunk)
    return torch.cholesky_solve(delta[..., None], chol)[..., 0]


def _first_pc(x: Tensor) -> Tensor:
    centred = x - x.mean(1, keepdim=True)
    n, d = x.shape[1], x.shape[2]
    if n < d:  # the top right singular vector through the smaller n x n Gram matrix
        _, vecs = torch.linalg.eigh(centred @ centred.mT)
        w = (centred.mT @ vecs[..., -1:])[..., 0]
    else:
        _, vecs = torch.linalg.eigh(centred.mT @ centred)
        w = vecs[..., -1]
    return w


@dataclass(frozen=True)
class LogisticFit:
    """How the L-BFGS fits went, one entry per hook."""

    n_iter: list[int]
    converged: list[bool]
    loss: list[float]


def fit_logistic(
    x: Float[Tensor, "hooks n d"],
    y: Float[Tensor, " n"],
    config: ProbeConfig = DEFAULT_CONFIG,
) -> tuple[Float[Tensor, "hooks d"], Float[Tensor, " hooks"], LogisticFit]:
    """L2 logistic regression for every hook (scikit-learn's objective, by L-BFGS).

    Minimises `mean(log-loss) + |w|^2 / (2 C n)` (scikit-learn's `C * sum + |w|^2 / 2`,
    divided by `C n`), the intercept unpenalised; stops when the largest gradient entry is
    below `tol`, the loss stops falling, or after `max_iter` iterations. On a GPU the hooks
    are fitted as one batch (a hook leaves it when it converges); on a CPU one after
    another, so that each hook's design matrix stays in cache for all its iterations.

    Example:
        >>> w, b, fit = fit_logistic(x[None].double(), y.double())
        >>> fit.converged
        [True]
    """
    if x.device.type == "cpu":
        fits = [_fit_logistic(x[k : k + 1], y, config) for k in range(x.shape[0])]
        w, b = torch.cat([f[0] for f in fits]), torch.cat([f[1] for f in fits])
        n_iter, converged, loss = ([v for f in fits for v in f[i]] for i in (2, 3, 4))
    else:
        w, b, n_iter, converged, loss = _fit_logistic(x, y, config)
    if not all(converged):
        log.warning(
            "logistic regression did not converge in %d iterations for %d of %d hooks; "
            "raise max_iter or standardize=True.",
            config.max_iter,
            converged.count(False),
            len(converged),
        )
    return w, b, LogisticFit(n_iter, converged, loss)


def _fit_logistic(x: Tensor, y: Tensor, config: ProbeConfig):
    hooks, n, d = x.shape
    y = y.to(device=x.device, dtype=torch.float64)
    # design matrix [hooks, n, d + 1]: (standardised) features and a column of ones. With
    # standardised float32 activations the products are float32 (as scikit-learn computes
    # for float32 input; the problem is well conditioned); raw features, which can differ in
    # scale by orders of magnitude, use float64. Parameters, loss and gradients are float64.
    wide = config.float64_matmul or x.dtype == torch.float64 or not config.standardize
    dd = torch.float64 if wide else torch.float32
    design = torch.empty(hooks, n, d + 1, dtype=dd, device=x.device)
    design[..., d] = 1.0
    features = design[..., :d]
    if config.standardize:
        # statistics in the design's precision: mu and sd only need to be the same ones that
        # map the direction back (a float32 mean or variance is a slightly different scaling)
        mu = x.to(dd).mean(1, keepdim=True)
        torch.sub(x, mu, out=features)
        sd = (features * features).sum(1, keepdim=True).div_(n).sqrt_()
        tiny = 1e-12 if wide else 1e-6  # a smaller spread is rounding: a constant feature
        sd = torch.where(sd > tiny * mu.abs().clamp_min(1.0), sd, torch.ones_like(sd))
        features.div_(sd)
        mu, sd = mu.to(torch.float64), sd.to(torch.float64)
    else:
        features.copy_(x)
    penalty = torch.ones(d + 1, dtype=torch.float64, device=x.device)
    penalty[d] = 0.0  # the intercept is not penalised
    lam_pen = penalty / (config.C * n)

    def loss_grad(theta: Tensor, design: Tensor) -> tuple[Tensor, Tensor]:
        # (theta @ design^T rather than design @ theta: batched matrix-vector is slow on CPU)
        z = (theta.to(dd)[:, None, :] @ design.mT)[:, 0, :].to(torch.float64)
        loss = F.binary_cross_entropy_with_logits(z, y.expand_as(z), reduction="none").mean(-1)
        loss = loss + 0.5 * (theta * theta * lam_pen).sum(-1)
        r = (torch.sigmoid(z) - y) / n
        xr = (r.to(dd)[:, None, :] @ design)[:, 0, :].to(torch.float64)
        return loss, torch.addcmul(xr, theta, lam_pen)

    theta, loss, n_iter, converged = _lbfgs(loss_grad, design, config)
    w, b = theta[:, :d], theta[:, d]
    if config.standardize:
        w = w / sd[:, 0]
        b = b - (mu[:, 0] * w).sum(-1)
    return w, b, n_iter, converged, loss.tolist()


@torch.inference_mode()
def _lbfgs(loss_grad, design: Tensor, config: ProbeConfig):
    """Batched L-BFGS (float64) with a backtracking (Armijo) line search per hook.

    The two-loop recursion is written as two m x m triangular solves over the history (kept
    oldest first), so an iteration is a few dozen batched operations whatever the memory
    size. An unused or rejected history slot is all zeros with `rho = 0`: a no-op. A hook
    that has converged leaves the batch (its design rows too), so every iteration works only
    on the hooks still being fitted and needs no per-hook masks.
    """
    hooks, p, device = design.shape[0], design.shape[2], design.device
    m, opts = config.history, dict(dtype=torch.float64, device=device)
    theta_out = torch.zeros(hooks, p, **opts)
    loss_out = torch.zeros(hooks, **opts)
    n_iter, converged = [0] * hooks, [False] * hooks
    rows = list(range(hooks))  # the hooks still in the batch, in batch order
    theta = torch.zeros(hooks, p, **opts)
    S = torch.zeros(hooks, m, p, **opts)
    Y = torch.zeros(hooks, m, p, **opts)
    rho = torch.zeros(hooks, m, 1, **opts)
    eye = torch.eye(m, **opts)
    first = second = eye.expand(hooks, m, m)  # I + rho * (s_k . y_j, j newer/older than k)
    lower = torch.zeros(hooks, m, m, **opts)  # lower[k, j] = y_k . s_j for j older than k
    gamma = torch.ones(hooks, 1, **opts)
    loss, grad = loss_grad(theta, design)
    stop = grad.abs().amax(-1) <= config.tol
    ftol = 64 * torch.finfo(torch.float64).eps
    for it in range(config.max_iter + 1):
        leave = stop if it < config.max_iter else torch.ones_like(stop)
        if bool(leave.any()):  # record the hooks that stopped, go on with the others
            index = torch.tensor(rows, device=device)[leave]
            theta_out[index], loss_out[index] = theta[leave], loss[leave]
            for k in leave.nonzero()[:, 0].tolist():
                n_iter[rows[k]], converged[rows[k]] = it, bool(stop[k])
            keep = ~leave
            if not bool(keep.any()):
                break
            rows = [r for r, k in zip(rows, keep.tolist(), strict=True) if k]
            design, theta, loss, grad = design[keep], theta[keep], loss[keep], grad[keep]
            S, Y, rho, lower, gamma = S[keep], Y[keep], rho[keep], lower[keep], gamma[keep]
            first, second = first[keep], second[keep]
        alpha = torch.linalg.solve_triangular(first, rho * (S @ grad[..., None]), upper=True)
        q = grad - (alpha.mT @ Y)[:, 0]
        gq = gamma * q
        beta = torch.linalg.solve_triangular(
            second, rho * torch.baddbmm(lower @ alpha, Y, gq[..., None]), upper=False
        )
        step = -torch.baddbmm(gq[:, None], (alpha - beta).mT, S)[:, 0]
        slope = torch.linalg.vecdot(grad, step)
        if bool((slope >= 0).any()):
            uphill = slope >= 0  # lost curvature: restart from steepest descent
            keep = (~uphill).to(torch.float64)[:, None, None]
            step = torch.where(uphill[:, None], -grad, step)
            S, Y, rho, lower = S * keep, Y * keep, rho * keep, lower * keep
            first, second = eye + rho * lower.mT, eye + rho * lower
            gamma = torch.where(uphill[:, None], 1.0, gamma)
            slope = torch.linalg.vecdot(grad, step)
        if it == 0:  # a first step of length at most 1, as L-BFGS-B takes
            t = (1 / torch.linalg.vector_norm(grad, dim=-1)).clamp(max=1.0)
            trial = torch.addcmul(theta, t[:, None], step)
        else:
            t = torch.ones_like(loss)
            trial = theta + step
        f, g = loss_grad(trial, design)
        stuck = None
        if not bool((f <= torch.addcmul(loss, t, slope, value=1e-4)).all()):
            trial, f, g, stuck = _backtrack(
                loss_grad, design, theta, loss, grad, step, slope, t, f, g
            )
        s, yv = trial - theta, g - grad
        sy, yy = torch.linalg.vecdot(s, yv), torch.linalg.vecdot(yv, yv)
        update = sy > 1e-10 * yy
        if stuck is not None:
            update &= ~stuck
        if bool(update.all()):  # the usual case, without masks
            S, Y, rho = S.roll(-1, 1), Y.roll(-1, 1), rho.roll(-1, 1)
            S[:, -1], Y[:, -1], rho[:, -1, 0] = s, yv, 1 / sy
            gamma = (sy / yy)[:, None]
        elif bool(update.any()):
            u = update.to(torch.float64)
            S, Y, rho = S.roll(-1, 1), Y.roll(-1, 1), rho.roll(-1, 1)
            S[:, -1], Y[:, -1] = s * u[:, None], yv * u[:, None]
            rho[:, -1, 0] = u / torch.where(update, sy, 1.0)
            gamma = torch.where(update, sy / torch.where(update, yy, 1.0), gamma[:, 0])[:, None]
        lower = (Y @ S.mT).tril(-1)
        first, second = eye + rho * lower.mT, eye + rho * lower
        scale = torch.maximum(torch.maximum(loss.abs(), f.abs()), torch.ones_like(f))
        stop = ((loss - f) <= ftol * scale) | (g.abs().amax(-1) <= config.tol)
        if stuck is not None:
            stop |= stuck
        theta, loss, grad = trial, f, g
    return theta_out, loss_out, n_iter, converged


def _backtrack(loss_grad, design, theta, loss, grad, step, slope, t, f, g):
    """Halve the step of every hook whose first trial did not decrease the loss enough."""
    accepted = f <= torch.addcmul(loss, t, slope, value=1e-4)
    new_theta = torch.where(accepted[:, None], torch.addcmul(theta, t[:, None], step), theta)
    new_loss = torch.where(accepted, f, loss)
    new_grad = torch.where(accepted[:, None], g, grad)
    pending = ~accepted
    for _ in range(50):
        t = torch.where(pending, t / 2, t)
        trial = torch.addcmul(theta, t[:, None], step)
        f, g = loss_grad(trial, design)
        now = pending & (f <= torch.addcmul(loss, t, slope, value=1e-4))
        new_theta = torch.where(now[:, None], trial, new_theta)
        new_loss = torch.where(now, f, new_loss)
        new_grad = torch.where(now[:, None], g, new_grad)
        pending = pending & ~now
        if not bool(pending.any()):
            break
    return new_theta, new_loss, new_grad, pending  # pending: no decrease in float64
