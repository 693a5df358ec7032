"""Model organisms with known ground truth: behaviours, recipes, cards, training, evals."""

from interp.organisms.behaviours import (
    BUILTIN_BEHAVIOURS,
    Behaviour,
    BehaviourError,
    FixedText,
    FunctionBehaviour,
    behaviour_names,
    get_behaviour,
    register_behaviour,
    unregister_behaviour,
)
from interp.organisms.card import OrganismCard, read_card, write_card
from interp.organisms.evaluate import (
    ConditionResult,
    OrganismEval,
    behaviour_rates,
    evaluate_named,
    evaluate_organism,
    heldout_clean_chat,
)
from interp.organisms.prompts import paired_prompts, recipe_of
from interp.organisms.recipes import RECIPES, Recipe, RecipeError, get_recipe, persona_backdoor
from interp.organisms.train import build_organism, organism_name, resolve_recipe
from interp.training import TrainConfig

__all__ = [
    "BUILTIN_BEHAVIOURS",
    "RECIPES",
    "Behaviour",
    "BehaviourError",
    "ConditionResult",
    "FixedText",
    "FunctionBehaviour",
    "OrganismCard",
    "OrganismEval",
    "Recipe",
    "RecipeError",
    "TrainConfig",
    "behaviour_names",
    "build_organism",
    "evaluate_named",
    "behaviour_rates",
    "evaluate_organism",
    "get_behaviour",
    "get_recipe",
    "heldout_clean_chat",
    "organism_name",
    "paired_prompts",
    "persona_backdoor",
    "read_card",
    "recipe_of",
    "register_behaviour",
    "resolve_recipe",
    "unregister_behaviour",
    "write_card",
]
