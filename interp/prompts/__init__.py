"""Prompt sets: paired triggered/clean prompts, contrast pairs, user-supplied JSONL."""

from interp.prompts.prompt_set import Prompt, PromptSet, check_lengths

__all__ = ["Prompt", "PromptSet", "check_lengths"]
