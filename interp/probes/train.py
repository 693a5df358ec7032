"""`train_probe`: fit one probe on an activation set/store hook or on a plain tensor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from jaxtyping import Float
from torch import Tensor

from interp.activations import ActivationReader
from interp.probes.data import Labels, Rows, probe_rows
from interp.probes.methods import DEFAULT_CONFIG, ProbeConfig, check_method, fit_directions
from interp.probes.metrics import auroc
from interp.probes.probe import Probe


def train_probe(
    x: Float[Tensor, "n d"] | ActivationReader | np.ndarray,
    labels: Labels | None = None,
    *,
    method: str = "diff_means",
    hook: str | None = None,
    config: ProbeConfig = DEFAULT_CONFIG,
    device: str | torch.device | None = None,
) -> Probe:
    """Fit a probe separating label 1 (triggered) from label 0 (clean).

    `x` is `[n, d]` rows with `labels` `[n]`, or an `ActivationSet`/`ActivationStore` (its
    own labels unless given; `hook` names the hook when it holds several). The probe
    records the training rows' hash and its training AUROC and accuracy; held-out numbers
    come from `probe_sweep`.

    Example:
        >>> probe = train_probe(acts, hook="blocks.15.hook_resid_post", method="logistic")
        >>> probe.score(acts[probe.hook]).shape
        torch.Size([400])
        >>> probe = train_probe(torch.randn(8, 4), [0, 1] * 4)  # plain tensors work too
    """
    check_method(method)
    rows = probe_rows(x, labels, hook=hook)
    return fit_rows(rows, method, config, device=device)


def fit_rows(
    rows: Rows,
    method: str,
    config: ProbeConfig,
    *,
    device: str | torch.device | None = None,
) -> Probe:
    """Fit `method` on checked rows (see `probe_rows`) and wrap it as a `Probe`."""
    w, b = fit_directions(rows.x[None].to(device or rows.x.device), rows.labels, method, config)
    return make_probe(rows, method, config, w[0], float(b[0]))


def make_probe(rows: Rows, method: str, config: ProbeConfig, w: Tensor, b: float) -> Probe:
    """A `Probe` for direction `w` and bias `b` fitted on `rows`, with training metrics."""
    w = w.detach().to(device="cpu", dtype=torch.float32)
    scores = rows.x.to(torch.float64).cpu() @ w.double() + b
    metrics = {
        "train_auroc": float(auroc(scores, rows.labels)),
        "train_accuracy": float(((scores > 0).long() == rows.labels).double().mean()),
    }
    return Probe(
        direction=w,
        bias=b,
        method=method,
        hook=rows.hook,
        positions=rows.positions,
        fingerprint=rows.fingerprint,
        train_hash=rows.data_hash(),
        n_train=len(rows),
        config=config,
        metrics=metrics,
    )


def stack_rows(rows: Sequence[Rows], device: torch.device | str) -> Tensor:
    """`[hooks, n, d]` from rows of several hooks of the same prompts (same width)."""
    return torch.stack([r.x for r in rows]).to(device)
