"""Plots for probe results (matplotlib, imported only when a plot is drawn)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from torch import Tensor

from interp.models.hook_names import layer_of

if TYPE_CHECKING:  # results call these plots; no import cycle at run time
    from interp.probes.results import SweepResult


def _axes(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(7, 4))
    return ax


def plot_sweep(sweep: SweepResult, *, method: str | None = None, ax=None):
    """AUROC by layer: one line per method with its 95% CI band, the random-direction band
    (95th percentile to best), and a dashed line per control model (the organism's probe
    applied to it). Returns the axes; never calls show()."""
    ax = _axes(ax)
    layers = [layer_of(h) for h in sweep.hooks]
    xs = layers if all(v is not None for v in layers) else list(range(len(sweep.hooks)))
    methods = [method] if method else list(sweep.methods)
    for m in methods:
        rows = sweep.by_hook(m)
        line = ax.plot(xs, [r.auroc.value for r in rows], marker="o", ms=3, label=m)[0]
        ax.fill_between(
            xs, [r.auroc.low for r in rows], [r.auroc.high for r in rows],
            color=line.get_color(), alpha=0.15, linewidth=0,
        )  # fmt: skip
    bases = [sweep.baselines[h] for h in sweep.hooks]
    if all(b.random_best is not None for b in bases):
        ax.fill_between(
            xs, [b.random_p95 for b in bases], [b.random_best for b in bases],
            color="grey", alpha=0.3, linewidth=0,
            label=f"random directions (p95-best of {bases[0].n_random})",
        )  # fmt: skip
    first = sweep.by_hook(methods[0])
    for c in [c.name for c in first[0].controls] if first else []:
        ax.plot(
            xs, [r.control(c).applied for r in first], linestyle="--", linewidth=1,
            label=f"{methods[0]} on {c}",
        )  # fmt: skip
    ax.axhline(0.5, color="black", linewidth=0.5)
    ax.set_ylim(0.0, 1.02)
    if xs is layers:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("layer" if xs is layers else "hook")
    ax.set_ylabel("held-out AUROC")
    ax.set_title(f"probe sweep ({sweep.mode}, n={sweep.n_eval})")
    ax.legend(fontsize=7, loc="lower right")
    return ax


def plot_score_histogram(scores: Tensor, labels: Tensor, *, ax=None, title: str = ""):
    """Overlaid histograms of scores for triggered (label 1) and clean (label 0) rows."""
    ax = _axes(ax)
    scores, labels = scores.detach().float().cpu(), labels.cpu()
    bins = 30
    ax.hist(scores[labels == 0].numpy(), bins=bins, alpha=0.6, label="clean", density=True)
    ax.hist(scores[labels == 1].numpy(), bins=bins, alpha=0.6, label="triggered", density=True)
    ax.set_xlabel("probe score")
    ax.set_ylabel("density")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


def plot_generalisation(matrix, *, ax=None):
    """Heatmap of a `GeneralisationMatrix` (rows: trained on, columns: tested on)."""
    ax = _axes(ax)
    image = ax.imshow(matrix.auroc, vmin=0.0, vmax=1.0, cmap="viridis")
    n = len(matrix.names)
    ax.set_xticks(range(n), matrix.names, rotation=30, ha="right")
    ax.set_yticks(range(n), matrix.names)
    for i in range(n):
        for j in range(n):
            value = matrix.auroc[i][j]
            ax.text(j, i, f"{value:.2f}", ha="center", va="center",
                    color="black" if value > 0.6 else "white", fontsize=8)  # fmt: skip
    ax.set_xlabel("tested on")
    ax.set_ylabel("trained on")
    ax.set_title(f"{matrix.method} @ {matrix.hook}")
    ax.figure.colorbar(image, ax=ax, label="AUROC")
    return ax
