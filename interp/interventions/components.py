"""Ablating model components: attention heads (`AblateHeads`) and MLP outputs (`AblateMLP`),
set to zero or to their mean over reference text (`component_means`).

A head is ablated at its output before the output projection (`blocks.L.attn.hook_z`,
`[batch, pos, head, d_head]`), so it stops writing to the residual stream and nothing else
changes; an MLP at `blocks.L.hook_mlp_out`. Mean ablation replaces the output at every
position with its mean over the reference tokens (first positions left out), which keeps
the typical contribution and removes only what varies.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from transformer_lens import HookedTransformer

from interp.checksums import sha256_tensor
from interp.interventions.errors import InterventionError
from interp.interventions.positions import PositionTracker
from interp.interventions.steering import check_layers


def head_hook(layer: int) -> str:
    return f"blocks.{layer}.attn.hook_z"


def mlp_hook(layer: int) -> str:
    return f"blocks.{layer}.hook_mlp_out"


@torch.inference_mode()
def component_means(
    model: HookedTransformer, texts: Sequence[str], hooks: Sequence[str], *, batch_size: int = 8
) -> dict[str, Tensor]:
    """The mean activation at each of `hooks` over every token of `texts` but the first of
    each: what mean ablation puts in place of a head's or an MLP's output.

    Example:
        >>> means = component_means(model, clean_texts, [head_hook(l) for l in range(30)])
        >>> means["blocks.0.attn.hook_z"].shape
        torch.Size([9, 64])
    """
    from interp.activations import cache_activations  # the cache, not its store

    if not texts:
        raise InterventionError("no reference texts to take means over; pass a few clean ones.")
    acts = cache_activations(model, list(texts), list(hooks), "all", batch_size=batch_size,
                             dtype=torch.float32, progress=False)  # fmt: skip
    first = acts.first_positions
    if bool(first.all()):
        raise InterventionError("every reference text is one token long; pass longer texts.")
    return {hook: acts[hook][~first].mean(0) for hook in hooks}


def check_heads(model: HookedTransformer, heads) -> tuple[tuple[int, int], ...]:
    """`heads` as (layer, head) pairs of `model`."""
    heads = tuple(tuple(h) if isinstance(h, list | tuple) else h for h in heads)
    if not heads:
        raise InterventionError("no heads given; name (layer, head) pairs.")
    for pair in heads:
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise InterventionError(f"head {pair!r} is not a (layer, head) pair.")
        layer, head = pair
        check_layers(model, [layer])
        if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < model.cfg.n_heads:
            raise InterventionError(f"head {head!r} of layer {layer} is out of range: "
                                    f"{model.cfg.model_name!r} has {model.cfg.n_heads} heads a "
                                    f"layer (0..{model.cfg.n_heads - 1}).")  # fmt: skip
    return heads


def random_heads(
    model: HookedTransformer, k: int, n: int, seed: int = 0
) -> list[tuple[tuple[int, int], ...]]:
    """`n` sets of `k` distinct random (layer, head) pairs: the control of a head ablation.

    Example:
        >>> random_heads(model, 8, 3, seed=0)[0][:2]
        ((14, 3), (2, 7))
    """
    generator = torch.Generator().manual_seed(seed)
    total, per_layer = model.cfg.n_layers * model.cfg.n_heads, model.cfg.n_heads
    return [tuple((int(i) // per_layer, int(i) % per_layer)
                  for i in torch.randperm(total, generator=generator)[:k])
            for _ in range(n)]  # fmt: skip


@dataclass(frozen=True)
class AblateHeads:
    """Set each (layer, head)'s output to zero, or to its mean when `means` (from
    `component_means` over `hook_z`) is given."""

    heads: tuple[tuple[int, int], ...]
    means: dict[str, Tensor] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "heads", tuple(tuple(h) for h in self.heads))

    def check(self, model: HookedTransformer, *, allow_other_model: bool = False) -> None:
        check_heads(model, self.heads)
        _check_means(self.means, sorted({head_hook(layer) for layer, _ in self.heads}))

    def hooks(self, model: HookedTransformer, where: PositionTracker) -> list:
        by_layer: dict[int, list[int]] = {}
        for layer, head in self.heads:
            by_layer.setdefault(layer, []).append(head)
        out = []
        for layer, heads in by_layer.items():
            mean = None if self.means is None else self.means[head_hook(layer)]
            out.append((head_hook(layer), _replace_heads(heads, mean)))
        return out

    def everywhere(self) -> AblateHeads:
        return self

    def to_dict(self) -> dict:
        return {"kind": "ablate heads", "heads": [list(h) for h in self.heads],
                "how": "zero" if self.means is None else "mean", **_means_id(self.means)}  # fmt: skip

    def __str__(self) -> str:
        how = "zero" if self.means is None else "mean"
        return f"{how}-ablate heads " + ", ".join(f"L{layer}H{h}" for layer, h in self.heads)


@dataclass(frozen=True)
class AblateMLP:
    """Set each layer's MLP output to zero, or to its mean when `means` is given."""

    layers: tuple[int, ...]
    means: dict[str, Tensor] | None = None

    def __post_init__(self) -> None:
        layers = (self.layers,) if isinstance(self.layers, int) else tuple(self.layers)
        object.__setattr__(self, "layers", layers)

    def check(self, model: HookedTransformer, *, allow_other_model: bool = False) -> None:
        check_layers(model, self.layers)
        _check_means(self.means, [mlp_hook(layer) for layer in self.layers])

    def hooks(self, model: HookedTransformer, where: PositionTracker) -> list:
        def replace_out(mean):
            def hook_fn(act: Tensor, hook) -> Tensor:
                if mean is None:
                    return torch.zeros_like(act)
                return mean.to(act.device, act.dtype).expand_as(act).clone()

            return hook_fn

        means = self.means or {}
        return [(mlp_hook(layer), replace_out(means.get(mlp_hook(layer))))
                for layer in self.layers]  # fmt: skip

    def everywhere(self) -> AblateMLP:
        return self

    def to_dict(self) -> dict:
        return {"kind": "ablate mlp", "layers": list(self.layers),
                "how": "zero" if self.means is None else "mean", **_means_id(self.means)}  # fmt: skip

    def __str__(self) -> str:
        how = "zero" if self.means is None else "mean"
        return f"{how}-ablate MLP at layers {','.join(map(str, self.layers))}"


def _replace_heads(heads: list[int], mean: Tensor | None):
    index = torch.tensor(heads)

    def hook_fn(z: Tensor, hook) -> Tensor:  # [batch, pos, head, d_head]
        z = z.clone()
        i = index.to(z.device)
        z[:, :, i] = 0.0 if mean is None else mean[i].to(z.device, z.dtype)
        return z

    return hook_fn


def _check_means(means: dict | None, hooks: list[str]) -> None:
    if means is None:
        return
    missing = [h for h in hooks if h not in means]
    if missing:
        raise InterventionError(f"the means hold no {missing[0]!r}; compute them with "
                                f"component_means(model, texts, {missing!r}).")  # fmt: skip


def _means_id(means: dict | None) -> dict:
    if means is None:
        return {}
    return {"means": {h: sha256_tensor(t)[:16] for h, t in sorted(means.items())}}
