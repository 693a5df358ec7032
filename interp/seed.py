"""One call, atop a script or notebook, makes its random numbers repeatable."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) with `seed`.

    The library itself never seeds globally; scripts and notebooks call this once.

    Example:
        >>> seed_everything(0)
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
