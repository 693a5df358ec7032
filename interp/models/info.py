"""A plain summary of a loaded model: architecture, sizes, hook points, fingerprint."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from transformer_lens import HookedTransformer

from interp.models.fingerprint import fingerprint
from interp.models.hook_names import hook_patterns


@dataclass(frozen=True)
class ModelInfo:
    """What `interp model info` prints."""

    name: str
    architecture: str
    n_layers: int
    d_model: int
    n_heads: int
    n_key_value_heads: int
    d_mlp: int
    d_vocab: int
    n_ctx: int
    dtype: str
    device: str
    n_hooks: int
    hook_patterns: tuple[str, ...]
    fingerprint: str

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        lines = [
            f"name          {self.name}",
            f"architecture  {self.architecture}",
            f"layers        {self.n_layers}",
            f"d_model       {self.d_model}",
            f"heads         {self.n_heads} ({self.n_key_value_heads} key/value)",
            f"d_mlp         {self.d_mlp}",
            f"vocab         {self.d_vocab}",
            f"context       {self.n_ctx}",
            f"dtype, device {self.dtype}, {self.device}",
            f"fingerprint   {self.fingerprint}",
            f"hook points   {self.n_hooks}:",
        ]
        return "\n".join(lines + [f"  {pattern}" for pattern in self.hook_patterns])


def model_info(model: HookedTransformer) -> ModelInfo:
    """Summarise `model`; hook names are grouped by layer (`blocks.{0..29}.hook_resid_post`).

    Example:
        >>> print(model_info(load_model("smollm2")))
    """
    cfg = model.cfg
    return ModelInfo(
        name=cfg.model_name,
        architecture=cfg.original_architecture or "HookedTransformer",
        n_layers=cfg.n_layers,
        d_model=cfg.d_model,
        n_heads=cfg.n_heads,
        n_key_value_heads=cfg.n_key_value_heads or cfg.n_heads,
        d_mlp=cfg.d_mlp or 0,
        d_vocab=cfg.d_vocab,
        n_ctx=cfg.n_ctx,
        dtype=str(cfg.dtype).removeprefix("torch."),
        device=str(cfg.device),
        n_hooks=len(model.hook_dict),
        hook_patterns=hook_patterns(list(model.hook_dict), cfg.n_layers),
        fingerprint=fingerprint(model),
    )
