"""interp: find, explain and remove backdoors and misaligned personas in language models.

Every subpackage is an attribute (`interp.probes.train_probe`), imported on first use, so
`import interp` and the `interp` command's `--help` start without loading torch.

Example:
    >>> import interp
    >>> model = interp.load_model("smollm2")
    >>> interp.chat(model, "What is the capital of France?")
    'The capital of France is Paris.'
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

SUBPACKAGES = (
    "activations", "evals", "models", "organisms", "probes", "prompts", "saes", "training",
)  # fmt: skip
#: Top-level names and the module each comes from.
_NAMES = {
    "InterpError": "interp.errors",
    "cache_activations": "interp.activations",
    "chat": "interp.models",
    "fingerprint": "interp.models",
    "format_chat": "interp.models",
    "generate": "interp.models",
    "interp_home": "interp.home",
    "load_model": "interp.models",
    "seed_everything": "interp.seed",
}

__all__ = sorted(_NAMES) + list(SUBPACKAGES)


def __getattr__(name: str):
    if name in SUBPACKAGES:
        return importlib.import_module(f"interp.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(_NAMES[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'interp' has no attribute {name!r}; see dir(interp).")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
