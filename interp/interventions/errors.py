"""`InterventionError`: an intervention that cannot be applied as asked."""

from __future__ import annotations

from interp.errors import InterpError


class InterventionError(InterpError):
    """A direction, layer, position, head or setting does not fit the model; the message says
    what to do."""
