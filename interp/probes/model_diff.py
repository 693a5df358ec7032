"""Model diffing as a probe set: two models' activations of the same prompts, one labelled 1.

A fine-tune with no trigger (e.g. `persona-toxic`, misaligned everywhere) has no triggered
and clean prompts to contrast; what it changed is its activations against the base model's
on the same prompts. `model_contrast` turns that into an ordinary labelled set, so the
difference of means is the fine-tune's shift and every probe tool (held-out splits that keep
a prompt's two rows together, generalisation matrices) applies. A benign fine-tune's shift,
built the same way, is the control: it moves many directions too.
"""

from __future__ import annotations

import torch

from interp.activations import ActivationSet, CachedPrompt
from interp.probes.errors import ProbeMismatchError


def model_contrast(tuned: ActivationSet, base: ActivationSet) -> ActivationSet:
    """One set holding `tuned`'s rows (label 1) and `base`'s (label 0) for the same prompts.

    Both sets must hold the same prompts in the same order, at the same hooks and positions;
    each prompt's two rows share a `pair_id`, so a held-out split keeps them together.

    Example:
        >>> shift = model_contrast(cache_activations(toxic, prompts, hooks),
        ...                        cache_activations(base, prompts, hooks))
        >>> shift.labels[:4]
        tensor([1, 0, 1, 0])
    """
    if [e.id for e in tuned.examples] != [e.id for e in base.examples]:
        raise ProbeMismatchError(
            "the two sets hold different prompts; cache both models on the same PromptSet."
        )
    if set(tuned.hooks) != set(base.hooks) or tuned.positions != base.positions:
        raise ProbeMismatchError(
            f"the sets differ in hooks ({sorted(tuned.hooks)} vs {sorted(base.hooks)}) or "
            "position rule; cache both with the same hooks and positions."
        )
    examples = []
    for e in tuned.examples:
        for label, side in ((1, "tuned"), (0, "base")):
            examples.append(CachedPrompt(f"{e.id}@{side}", label, e.group, e.text, pair_id=e.id))
    tensors = {
        hook: torch.stack((tuned[hook], base[hook]), dim=1).flatten(0, 1) for hook in tuned.hooks
    }
    return ActivationSet(
        tensors=tensors,
        example_records=tuple(examples),
        rule=tuned.positions,
        model_fingerprint=f"{tuned.fingerprint}-vs-{base.fingerprint}",
        prompt_hash=tuned.prompt_hash,
        model_name=f"{tuned.model_name} vs {base.model_name}",
    )
