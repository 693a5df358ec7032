"""Rates with Wilson 95% intervals."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from interp.evals.errors import EvalError


@dataclass(frozen=True)
class Rate:
    """`k` of `n` with its Wilson score interval."""

    k: int
    n: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.k / self.n if self.n else float("nan")

    def to_dict(self) -> dict:
        return {**asdict(self), "rate": self.rate}

    def __str__(self) -> str:
        return f"{self.rate:.3f} [{self.low:.3f}, {self.high:.3f}] ({self.k}/{self.n})"


def wilson(k: int, n: int, z: float = 1.96) -> Rate:
    """The Wilson score interval for `k` successes in `n` trials (95% by default).

    Example:
        >>> str(wilson(190, 200))
        '0.950 [0.910, 0.973] (190/200)'
    """
    if not 0 <= k <= n:
        raise EvalError(f"need 0 <= k <= n, got k={k}, n={n}.")
    if n == 0:
        return Rate(0, 0, float("nan"), float("nan"))
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # the interval holds the rate exactly (float rounding left 1.0 above it at some n)
    return Rate(k, n, min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half)))


def rate_of(flags) -> Rate:
    """Wilson rate of a sequence of booleans."""
    flags = list(flags)
    return wilson(sum(bool(f) for f in flags), len(flags))
