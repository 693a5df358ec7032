"""Errors raised while scoring behaviour. Each message names the fix."""

from __future__ import annotations

from interp.errors import InterpError


class EvalError(InterpError):
    """A transcript file or a rate request is malformed."""
