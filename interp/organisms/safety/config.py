"""`SafetyConfig`: how one safety-training run is trained, and `SafetyError`."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from interp.errors import InterpError, check_count, replace_fields

Method = Literal["sft", "rl", "adversarial", "benign"]
METHODS: tuple[str, ...] = ("sft", "rl", "adversarial", "benign")


class SafetyError(InterpError):
    """A safety-training request cannot be carried out as asked."""


@dataclass(frozen=True)
class SafetyConfig:
    """Hyperparameters of one safety-training run on an organism.

    Example:
        >>> SafetyConfig(lr=1e-3).replace(seed=1).seed
        1
    """

    steps: int = 40
    """Optimizer steps; each takes `batch_size` prompts."""
    batch_size: int = 8
    lr: float = 3e-4
    """Peak learning rate (warm-up over a tenth of the steps, then cosine to a tenth)."""
    seed: int = 0
    """Seeds the data order, the red team and the sampling: same seed, same weights."""
    beta: float = 0.05
    """RL: weight of the KL penalty to the starting organism (never 0 unless asked)."""
    generations: int = 4
    """RL: completions sampled per prompt; the others' mean reward is each one's baseline."""
    red_team_tries: int = 64
    """Adversarial: prompts the red team tries."""
    red_team_samples: int = 10
    """Samples per red-team prompt; a prompt succeeds when ≥ 10% of them show the behaviour."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "red_team_tries", "red_team_samples"):
            check_count(getattr(self, name), name, SafetyError)
        if (
            isinstance(self.generations, bool)
            or not isinstance(self.generations, int)
            or (self.generations < 2)
        ):
            raise SafetyError(
                f"generations={self.generations!r} must be a whole number ≥ 2 (each completion's "
                "baseline is the mean reward of the others for its prompt)."
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SafetyError(f"seed={self.seed!r} must be a whole number ≥ 0.")
        if not (isinstance(self.lr, int | float) and self.lr > 0):
            raise SafetyError(f"lr={self.lr!r} must be a number > 0 (e.g. 3e-4).")
        if not (isinstance(self.beta, int | float) and self.beta >= 0):
            raise SafetyError(f"beta={self.beta!r} must be a number ≥ 0 (the KL weight).")

    def replace(self, **changes) -> SafetyConfig:
        """A copy with `changes`; an unknown field is named."""
        return replace_fields(self, changes, SafetyError)

    def to_dict(self) -> dict:
        return asdict(self)
