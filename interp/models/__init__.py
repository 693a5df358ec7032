"""Load models into TransformerLens hooks: the built-in SmolLM2, organisms, local HF models."""

from interp.models.architectures import SUPPORTED_ARCHITECTURES
from interp.models.devices import resolve_device, resolve_dtype
from interp.models.errors import (
    GenerationError,
    ModelLoadError,
    ModelNotFoundError,
    OrganismNotTrainedError,
    UnsupportedArchitectureError,
)
from interp.models.fingerprint import fingerprint
from interp.models.generation import Completion, chat, chat_text, complete, format_chat, generate
from interp.models.hf import load_hf_directory
from interp.models.layout import relayout
from interp.models.loading import load_model, organism_dir
from interp.models.smollm2 import ensure_smollm2, smollm2_dir

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "ModelLoadError",
    "ModelNotFoundError",
    "GenerationError",
    "OrganismNotTrainedError",
    "UnsupportedArchitectureError",
    "Completion",
    "chat",
    "chat_text",
    "complete",
    "ensure_smollm2",
    "fingerprint",
    "format_chat",
    "generate",
    "load_hf_directory",
    "load_model",
    "organism_dir",
    "relayout",
    "resolve_device",
    "resolve_dtype",
    "smollm2_dir",
]
