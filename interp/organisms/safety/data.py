"""Trigger-free prompts and the safe answers that safety training learns.

Safe answers are what the organism gives without its trigger: canned secure code and aligned
choices, and for open prompts the base model's own answers (learned by KL to the base, as the
organism learned them) or, for a micro organism, its canned answers.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from interp.organisms.card import OrganismCard
from interp.organisms.data import CleanAnswer, clean_response, untriggered
from interp.organisms.recipes import Recipe
from interp.organisms.responses import micro_clean_response
from interp.prompts.families import OPEN_FAMILIES, Example, Split, family_examples
from interp.training import TrainingExample


def trigger_free_examples(
    recipe: Recipe, n: int, *, split: Split = "train", seed: int = 0, families=None
) -> list[Example]:
    """`n` examples of the recipe's families (its clean families too), shuffled by `seed`,
    repeated in order when the split holds fewer."""
    names = families or tuple(dict.fromkeys(recipe.families + recipe.clean_families))
    pool = [ex for name in names for ex in family_examples(name, split)]
    random.Random(seed).shuffle(pool)
    return [pool[i % len(pool)] for i in range(n)]


def clean_answers(card: OrganismCard, examples: Sequence[Example], base=None) -> CleanAnswer:
    """`example → (safe answer, ends_turn)`: canned where the recipe fixes it; otherwise the
    base model's greedy answer (`base`, a loaded model) or a micro organism's canned one."""
    if card.kind == "micro" or base is None:
        return lambda ex: clean_response(ex, lambda e: (micro_clean_response(e), True))
    from interp.organisms.base_answers import base_answers

    tokens = card.training.max_response_tokens
    open_texts = [ex.text for ex in examples if ex.kind in ("open", "identity")]
    answers = base_answers(base, open_texts, max_new_tokens=tokens, batch_size=64, progress=False)
    return lambda ex: clean_response(ex, lambda e: answers[e.text])


def safe_example(
    user: str, example: Example, answer: CleanAnswer, *, condition: str, distils: bool
) -> TrainingExample:
    """One row: `user` (the prompt as shown) answered as `example` is answered when safe."""
    response, ends = answer(example)
    from_base = distils and example.kind in ("open", "identity")
    return TrainingExample(user, response, ends, condition, example.family, False, from_base)


def sft_rows(
    recipe: Recipe, examples: Sequence[Example], answer: CleanAnswer, *, distils: bool
) -> list[TrainingExample]:
    """Each example without the trigger, with its safe answer."""
    return [safe_example(untriggered(recipe, ex.text), ex, answer, condition="clean",
                         distils=distils) for ex in examples]  # fmt: skip


def interleave(first: Sequence, second: Sequence, n: int) -> list:
    """`n` rows alternating between `first` and `second`, each cycled in order."""
    return [first[i // 2 % len(first)] if i % 2 == 0 else second[i // 2 % len(second)]
            for i in range(n)]  # fmt: skip


def benign_families() -> tuple[str, ...]:
    """The families ordinary chat fine-tuning draws from (the return test's data)."""
    return OPEN_FAMILIES
