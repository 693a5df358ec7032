"""Which interventions are active on a model right now, so that whatever records what a model
computed (an activation store, a result) can say so, and never passes an edited model off as
the model itself.

An intervention registers itself for as long as its hooks are on the model
(`recording_edit`); `active_edits(model)` lists what is active, and `unrecorded_hooks(model)`
names hook points that carry hooks nobody registered (a user's own `model.hooks(...)`).

Example:
    >>> with recording_edit(model, {"kind": "steer", "alpha": 8.0}, ["blocks.15.hook_resid_post"]):
    ...     active_edits(model)
    ({'kind': 'steer', 'alpha': 8.0},)
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from transformer_lens import HookedTransformer

_ATTR = "_interp_active_edits"


def active_edits(model: HookedTransformer) -> tuple[dict, ...]:
    """The identities of the interventions active on `model`, outermost first."""
    return tuple(identity for identity, _ in model.__dict__.get(_ATTR, ()))


@contextmanager
def recording_edit(
    model: HookedTransformer, identity: dict, hooks: Sequence[str]
) -> Iterator[None]:
    """Register `identity` (JSON-safe) as active on `model`, with the hook points its hooks
    sit on, until the block ends."""
    stack = model.__dict__.setdefault(_ATTR, [])
    entry = (identity, tuple(hooks))
    stack.append(entry)
    try:
        yield
    finally:
        stack.remove(entry)


def unrecorded_hooks(model: HookedTransformer) -> list[str]:
    """Hook points holding more forward hooks than the registered interventions put there."""
    recorded = Counter(h for _, hooks in model.__dict__.get(_ATTR, ()) for h in hooks)
    return [name for name, point in model.hook_dict.items()
            if len(point.fwd_hooks) > recorded[name]]  # fmt: skip
