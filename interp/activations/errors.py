"""Errors raised while caching and reading activations. Each message names the fix."""

from __future__ import annotations

from interp.errors import InterpError


class ActivationsError(InterpError):
    """Something about a caching request or an activation store is wrong."""


class NonFiniteActivationsError(ActivationsError):
    """The model produced NaN or inf at a cached position."""


class StoreMismatchError(ActivationsError):
    """An existing store was made by a different model, prompt set, hooks, positions or dtype."""


class StoreIncompleteError(ActivationsError):
    """The store's caching run has not finished (it was interrupted or is still running)."""


class StoreCorruptedError(ActivationsError):
    """A shard is missing, truncated or does not match its checksum."""
