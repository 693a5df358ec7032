"""Controls a probe must beat: random directions, other models, prompt length.

- **Random directions**: `n` unit directions drawn once per width from the sweep's seed,
  each oriented on the training rows (as a probe is) and scored on the held-out rows; the
  best and 95th-percentile held-out AUROC say how far chance alone gets in this many tries.
- **Other models** (e.g. control-clean, control-benign, the base model): the organism's
  probe applied to the control model's activations of the same prompts ("applied"), a probe
  of the same method fitted on the control model ("refit"), and that control-fitted probe
  applied to the organism ("transfer"). A probe that fires on a model without the backdoor
  detects the trigger string, or a fine-tune, not the backdoor.
- **Length**: prompt length alone as a score, and the probe's AUROC on a held-out subset
  whose triggered and clean prompts are matched in length.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.probes.metrics import auroc


def random_directions(d: int, n: int, generator: torch.Generator) -> Float[Tensor, "n d"]:
    """`n` random unit vectors in `d` dimensions (Gaussian, normalised).

    Example:
        >>> random_directions(576, 1000, torch.Generator().manual_seed(0)).norm(dim=1)[:2]
        tensor([1.0000, 1.0000])
    """
    r = torch.randn(n, d, generator=generator)
    return r / r.norm(dim=1, keepdim=True)


def random_direction_aurocs(
    x_fit: Float[Tensor, "n_fit d"],
    y_fit: Int[Tensor, " n_fit"],
    x_eval: Float[Tensor, "n_eval d"],
    y_eval: Int[Tensor, " n_eval"],
    directions: Float[Tensor, "k d"],
) -> Float[Tensor, " k"]:
    """Held-out AUROC of each direction, its sign chosen on the training rows.

    All directions are scored and ranked at once: two matrix products and two sorts.
    """
    dirs = directions.to(device=x_fit.device, dtype=torch.float32)
    fit = auroc((x_fit.float() @ dirs.T).T, y_fit.to(x_fit.device))
    held = auroc((x_eval.to(dirs.device).float() @ dirs.T).T, y_eval.to(dirs.device))
    return torch.where(fit >= 0.5, held, 1 - held).cpu()


def text_lengths(texts: Sequence[str | None]) -> Tensor | None:
    """Character lengths of the prompts' texts, or None when a text is missing."""
    if any(t is None for t in texts):
        return None
    return torch.tensor([len(t) for t in texts], dtype=torch.float64)  # type: ignore[arg-type]


def length_matched(
    lengths: Float[Tensor, " n"], labels: Int[Tensor, " n"], *, tolerance: float = 0.05
) -> Int[Tensor, " k"]:
    """Indices of a subset whose label-1 and label-0 prompts pair up in length.

    Greedy matching on the sorted lengths: a triggered prompt is paired with a clean one
    whose length is within `tolerance` (relative, at least 2 characters); unpaired prompts
    are left out. Returns the sorted indices of the matched prompts (both of each pair).

    Example:
        >>> length_matched(torch.tensor([10.0, 30, 11, 50]), torch.tensor([1, 1, 0, 0]))
        tensor([0, 2])
    """
    pos = sorted((float(lengths[i]), i) for i in (labels == 1).nonzero().flatten().tolist())
    neg = sorted((float(lengths[i]), i) for i in (labels == 0).nonzero().flatten().tolist())
    i = j = 0
    keep: list[int] = []
    while i < len(pos) and j < len(neg):
        (lp, a), (ln, b) = pos[i], neg[j]
        if abs(lp - ln) <= max(2.0, tolerance * max(lp, ln)):
            keep += [a, b]
            i, j = i + 1, j + 1
        elif lp < ln:
            i += 1
        else:
            j += 1
    return torch.tensor(sorted(keep), dtype=torch.long)


def length_auroc(lengths: Float[Tensor, " n"], labels: Int[Tensor, " n"]) -> float:
    """How well prompt length alone separates the classes: the AUROC of length as a score,
    taken in whichever direction separates better (0.5 = not at all, 1 = perfectly)."""
    value = float(auroc(lengths, labels))
    return max(value, 1 - value)
