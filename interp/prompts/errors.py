"""Errors raised while building and reading prompt sets. Each message names the fix."""

from __future__ import annotations

from interp.errors import InterpError


class PromptError(InterpError):
    """A prompt set, prompt file, family or contrast-pair set is wrong or missing."""
