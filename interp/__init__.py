"""interp: find, explain and remove backdoors and misaligned personas in language models.

Example:
    >>> import interp
    >>> model = interp.load_model("smollm2")
    >>> interp.chat(model, "What is the capital of France?")
    'The capital of France is Paris.'
"""

from interp.activations import cache_activations
from interp.home import interp_home
from interp.models import chat, fingerprint, format_chat, generate, load_model
from interp.seed import seed_everything

__version__ = "0.1.0"

__all__ = [
    "cache_activations",
    "chat",
    "fingerprint",
    "format_chat",
    "generate",
    "interp_home",
    "load_model",
    "seed_everything",
]
