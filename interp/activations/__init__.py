"""Hooked activation caching, the on-disk activation store, in-memory activation sets."""

from interp.activations.activation_set import ActivationSet
from interp.activations.cache import DEFAULT_SHARD_SIZE, cache_activations
from interp.activations.errors import (
    ActivationsError,
    NonFiniteActivationsError,
    StoreCorruptedError,
    StoreIncompleteError,
    StoreMismatchError,
)
from interp.activations.hooks import expand_hooks
from interp.activations.inputs import CachedPrompt
from interp.activations.manifest import StoreManifest
from interp.activations.positions import Positions
from interp.activations.reader import ActivationReader
from interp.activations.saelens import to_saelens
from interp.activations.store import ActivationStore, StoreCheck, StoreInfo, store_info

__all__ = [
    "DEFAULT_SHARD_SIZE",
    "ActivationReader",
    "ActivationSet",
    "ActivationStore",
    "ActivationsError",
    "CachedPrompt",
    "NonFiniteActivationsError",
    "Positions",
    "StoreCheck",
    "StoreCorruptedError",
    "StoreIncompleteError",
    "StoreInfo",
    "StoreManifest",
    "StoreMismatchError",
    "cache_activations",
    "expand_hooks",
    "store_info",
    "to_saelens",
]
