"""Model organisms with known ground truth: recipes, training, behaviour evals."""

from interp.organisms.evaluate import (
    ConditionResult,
    OrganismEval,
    evaluate_named,
    evaluate_organism,
    heldout_clean_chat,
)
from interp.organisms.prompts import paired_prompts, recipe_of
from interp.organisms.recipes import RECIPES, Recipe, get_recipe, persona_backdoor
from interp.organisms.train import build_organism, organism_name

__all__ = [
    "RECIPES",
    "ConditionResult",
    "OrganismEval",
    "Recipe",
    "build_organism",
    "evaluate_named",
    "evaluate_organism",
    "get_recipe",
    "heldout_clean_chat",
    "organism_name",
    "paired_prompts",
    "persona_backdoor",
    "recipe_of",
]
