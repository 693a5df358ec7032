"""Errors raised while fitting, scoring and sweeping probes. Each message names the fix."""

from __future__ import annotations

from interp.errors import InterpError


class ProbeError(InterpError):
    """Probe inputs are wrong: shapes, labels, NaNs, an unknown method or option."""


class ProbeMismatchError(ProbeError):
    """A probe met activations from another model, hook or position rule."""
