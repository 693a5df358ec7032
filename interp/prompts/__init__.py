"""Prompt sets: paired triggered/clean prompts, contrast pairs, user-supplied JSONL."""

from interp.prompts.contrast import CONTRAST_PAIRS_DIR, contrast_pair_names, contrast_pairs
from interp.prompts.errors import PromptError
from interp.prompts.prompt_set import Prompt, PromptSet, check_lengths

__all__ = [
    "CONTRAST_PAIRS_DIR",
    "Prompt",
    "PromptError",
    "PromptSet",
    "check_lengths",
    "contrast_pair_names",
    "contrast_pairs",
]
