"""`SAEError`: an SAE request or file that cannot be used."""

from __future__ import annotations

from interp.errors import InterpError


class SAEError(InterpError):
    """An SAE configuration, source or file is wrong; the message says what to do."""
