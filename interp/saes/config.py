"""`SAEConfig`: how an SAE is trained, with defaults scaled to a CPU run."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from interp.errors import check_count, replace_fields
from interp.saes.errors import SAEError

#: The SAELens architectures `train_sae` trains (TopK and BatchTopK have L0 = k from step 0).
ARCHITECTURES = ("topk", "batchtopk", "jumprelu", "standard")
#: The fewest optimizer steps a token budget must allow.
MIN_STEPS = 20


@dataclass(frozen=True)
class SAEConfig:
    """Hyperparameters of one SAE training run (SAELens's `SAETrainer` does the steps).

    Example:
        >>> SAEConfig(d_sae=2304, k=32, tokens=400_000).steps
        390
    """

    architecture: str = "topk"
    """'topk' (default), 'batchtopk' (saved as SAELens's JumpReLU inference form),
    'jumprelu' or 'standard' (L1)."""
    d_sae: int = 2304
    """Latents: 4 × SmolLM2's 576."""
    k: int = 96
    """Active latents per token (TopK, BatchTopK: on average over the batch). On SmolLM2 the
    spliced ΔCE falls with k more than with width (docs/saes.md)."""
    tokens: int = 1_638_400
    """Training tokens seen (rows of the source, reshuffled each epoch): 1600 steps."""
    batch_size: int = 1024
    lr: float = 2e-3
    """Adam learning rate, constant after a warm-up of a twentieth of the steps, then decayed
    to a tenth over the last fifth."""
    l1_coefficient: float = 5.0
    """Sparsity penalty of 'standard'."""
    l0_coefficient: float = 1.0
    """Sparsity penalty of 'jumprelu'."""
    dead_window: int | None = None
    """Steps a latent may go without firing before it counts as dead and the TopK auxiliary
    loss revives it; None: a tenth of the run (at least 10 steps)."""
    heldout_frac: float = 0.1
    """Prompts kept out of training for the metrics."""
    sparse: bool = True
    """'topk' only: step SAELens's TopK SAE through the k active latents of each token
    (`interp.saes.sparse`): the same losses and gradients, fewer products."""
    skip_first_position: bool = True
    """Leave out the first position of every prompt: it carries outliers hundreds of times
    the typical norm, which would dominate the reconstruction loss."""
    seed: int = 0

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURES:
            raise SAEError(
                f"unknown SAE architecture {self.architecture!r}; use one of {list(ARCHITECTURES)}."
            )
        for name in ("d_sae", "k", "tokens", "batch_size"):
            check_count(getattr(self, name), name, SAEError)
        if self.k > self.d_sae:
            raise SAEError(f"k={self.k} is more than d_sae={self.d_sae}; pick k < d_sae.")
        if self.steps < MIN_STEPS:
            raise SAEError(
                f"tokens={self.tokens} gives {self.steps} steps of batch {self.batch_size}; "
                f"training needs at least {MIN_STEPS} steps, i.e. tokens ≥ "
                f"{MIN_STEPS * self.batch_size} (or a smaller batch_size)."
            )
        if not 0 < self.heldout_frac < 1:
            raise SAEError(f"heldout_frac={self.heldout_frac} must lie strictly between 0 and 1.")
        if not self.lr > 0:
            raise SAEError(f"lr={self.lr!r} must be > 0.")
        if self.dead_window is not None:
            check_count(self.dead_window, "dead_window", SAEError, " (steps)")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SAEError(f"seed={self.seed!r} must be a whole number ≥ 0.")

    @property
    def steps(self) -> int:
        return self.tokens // self.batch_size

    @property
    def dead_steps(self) -> int:
        return self.dead_window or max(10, self.steps // 10)

    def replace(self, **changes) -> SAEConfig:
        """A copy with `changes`; an unknown field is named."""
        return replace_fields(self, changes, SAEError)

    def to_dict(self) -> dict:
        return asdict(self)
