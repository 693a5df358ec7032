"""Errors raised while resolving and loading models. Each message names the fix."""

from __future__ import annotations

from interp.errors import InterpError


class ModelLoadError(InterpError):
    """A model spec could not be turned into a model."""


class ModelNotFoundError(ModelLoadError):
    """The spec points at nothing loadable (no directory, no weights, not cached)."""


class UnsupportedArchitectureError(ModelLoadError):
    """The model's architecture has no conversion to TransformerLens hooks."""


class GenerationError(InterpError):
    """A generation request is malformed (prompts, temperature, lengths)."""


class OrganismNotTrainedError(ModelNotFoundError):
    """`organism:NAME` was asked for before the organism was trained."""
