"""Hook names: expand short patterns, check them, and find where the forward pass can stop.

Names are TransformerLens hook names (`blocks.12.hook_resid_post`). A request may also use
a short name (`resid_post`: that hook in every layer) or a glob (`blocks.2.*`).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from interp.activations.errors import ActivationsError
from interp.models.hook_names import hook_patterns, is_glob, layer_of, match_hook

#: Hooks whose activations do not have the token position in dimension 1.
_NOT_BY_POSITION = ("hook_pattern", "hook_attn_scores")
#: Tokens in the probe run; an odd length unlikely to equal any other dimension.
_PROBE_TOKENS = 7


@dataclass(frozen=True)
class HookPlan:
    """The resolved hooks of a request and what the probe run learnt about them."""

    names: tuple[str, ...]
    row_shapes: dict[str, tuple[int, ...]]  # per hook: the shape after [batch, pos]
    stop_after: str  # the deepest requested hook in execution order

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "row_shapes": {k: list(v) for k, v in self.row_shapes.items()},
            "stop_after": self.stop_after,
        }


def expand_hooks(model: HookedTransformer, hooks: str | Sequence[str]) -> list[str]:
    """Expand exact names, short names and globs into the model's hook names, in order.

    Example:
        >>> expand_hooks(model, ["resid_post"])[:2]
        ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']
        >>> expand_hooks(model, "blocks.1.hook_resid_*")
        ['blocks.1.hook_resid_pre', 'blocks.1.hook_resid_mid', 'blocks.1.hook_resid_post']
    """
    requested = [hooks] if isinstance(hooks, str) else list(hooks)
    if not requested:
        raise ActivationsError(
            "no hooks requested; pass hook names such as ['blocks.0.hook_resid_post'] or a "
            "short name such as 'resid_post'."
        )
    names = list(model.hook_dict)
    out: list[str] = []
    for request in requested:
        if not isinstance(request, str):
            raise ActivationsError(f"hook names are strings; got {request!r}.")
        matched = match_hook(names, request)
        if is_glob(request) and request not in model.hook_dict:
            by_position = [n for n in matched if not n.endswith(_NOT_BY_POSITION)]
            if matched and not by_position:
                raise ActivationsError(
                    f"{request!r} matches only hooks with no token position in dimension 1 "
                    f"({', '.join(matched[:3])}{', ...' if len(matched) > 3 else ''}: attention "
                    "patterns are [batch, head, q, k]), which cannot be cached by position; "
                    "cache hook_z or attn_out instead."
                )
            matched = by_position
        if not matched:
            raise ActivationsError(_unknown_hook_message(model, request))
        out += [n for n in matched if n not in out]
    return out


def plan_hooks(model: HookedTransformer, hooks: str | Sequence[str]) -> HookPlan:
    """Resolve `hooks`, check each fires with the position in dimension 1, find the deepest.

    One forward pass on a few tokens records the order hooks fire in and their shapes.
    """
    names = expand_hooks(model, hooks)
    order, shapes = _probe_run(model)
    explicit = set([hooks] if isinstance(hooks, str) else hooks)
    kept = []
    for name in names:
        if name not in order:
            if name in explicit:
                raise ActivationsError(
                    f"hook {name!r} exists but never fires in {model.cfg.model_name}'s forward "
                    "pass (TransformerLens computes some hooks only when a config flag such as "
                    "cfg.use_attn_result or cfg.use_split_qkv_input is set); cache another hook."
                )
            continue
        shape = shapes[name]
        if name.endswith(_NOT_BY_POSITION) or len(shape) < 3 or shape[1] != _PROBE_TOKENS:
            if name in explicit:
                raise ActivationsError(
                    f"hook {name!r} has shape [batch, {', '.join(map(str, shape[1:]))}] with no "
                    "token position in dimension 1 (attention patterns are [batch, head, q, k]),"
                    " so positions cannot be gathered from it; cache hook_z or attn_out instead."
                )
            continue
        kept.append(name)
    if not kept:
        raise ActivationsError(f"none of {names} can be cached by position; pick other hooks.")
    return HookPlan(
        names=tuple(kept),
        row_shapes={n: tuple(shapes[n][2:]) for n in kept},
        stop_after=max(kept, key=order.index),
    )


def _unknown_hook_message(model: HookedTransformer, request: str) -> str:
    names = list(model.hook_dict)
    close = difflib.get_close_matches(request, names, n=3, cutoff=0.5)
    patterns = hook_patterns(names, model.cfg.n_layers)
    shown = ", ".join(patterns[:12]) + (", ..." if len(patterns) > 12 else "")
    layer = layer_of(request)
    extra = ""
    if layer is not None and layer >= model.cfg.n_layers:
        extra = f" the model has {model.cfg.n_layers} layers (0..{model.cfg.n_layers - 1});"
    return (
        f"unknown hook {request!r}:{extra} closest: {close or 'none'}; valid: {shown}. Use an "
        "exact name, a short name such as 'resid_post' (every layer) or a glob such as "
        "'blocks.2.*'; list them all with list(model.hook_dict)."
    )


def _probe_run(model: HookedTransformer) -> tuple[list[str], dict[str, tuple[int, ...]]]:
    """Run a few tokens through the model; record the order hooks fire in and their shapes."""
    order: list[str] = []
    shapes: dict[str, tuple[int, ...]] = {}

    def record(tensor, hook):
        if hook.name not in shapes:
            order.append(hook.name)
            shapes[hook.name] = tuple(tensor.shape)

    tokens = torch.zeros((1, _PROBE_TOKENS), dtype=torch.long, device=model.cfg.device)
    with torch.inference_mode(), model.hooks(fwd_hooks=[(lambda name: True, record)]):
        model(tokens, return_type=None)
    return order, shapes
