"""Sparse autoencoders through SAELens: train on our activations, measure, save and load.

Example:
    >>> from interp.saes import SAEConfig, load_sae, train_sae
    >>> trained = train_sae(store, "blocks.15.hook_resid_post", SAEConfig(k=32), model=model,
    ...                     out="saes/smollm2-l15")
    >>> sae = load_sae("saes/smollm2-l15", model)
"""

from interp.saes.cards import FeatureCard, feature_card
from interp.saes.config import ARCHITECTURES, SAEConfig
from interp.saes.data import SAEData, sae_data
from interp.saes.diffing import LatentShift, ModelDiff, diff_latents
from interp.saes.errors import SAEError
from interp.saes.features import (
    LatentScore,
    TriggerLatents,
    latent_auroc,
    response_latents,
    trigger_latents,
)
from interp.saes.interventions import (
    INTERVENTIONS,
    Clamp,
    Steer,
    check_latents,
    clamp_edit,
    clamp_latents,
    intervene,
)
from interp.saes.io import check_sae_fits, load_sae, save_sae
from interp.saes.metrics import SAEMetrics, loss_change, splice_hook
from interp.saes.train import TrainedSAE, measure_sae, train_sae

__all__ = [
    "ARCHITECTURES",
    "INTERVENTIONS",
    "Clamp",
    "FeatureCard",
    "Steer",
    "feature_card",
    "intervene",
    "latent_auroc",
    "response_latents",
    "LatentScore",
    "LatentShift",
    "ModelDiff",
    "TriggerLatents",
    "SAEConfig",
    "SAEData",
    "SAEError",
    "SAEMetrics",
    "TrainedSAE",
    "check_latents",
    "check_sae_fits",
    "clamp_edit",
    "clamp_latents",
    "diff_latents",
    "load_sae",
    "loss_change",
    "measure_sae",
    "sae_data",
    "save_sae",
    "splice_hook",
    "train_sae",
    "trigger_latents",
]
