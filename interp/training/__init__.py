"""The fine-tuning loop, losses and LoRA plumbing that organisms (and what trains them
further) share."""

from interp.training.config import TrainConfig, TrainingError
from interp.training.examples import TrainingExample, data_hash
from interp.training.loop import fit, native_bf16
from interp.training.lora import LORA_TARGETS, lora_model, save_adapter

__all__ = [
    "LORA_TARGETS",
    "TrainConfig",
    "TrainingError",
    "TrainingExample",
    "data_hash",
    "fit",
    "lora_model",
    "native_bf16",
    "save_adapter",
]
