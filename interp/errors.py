"""`InterpError`: the root of every error a user can cause. Each message names the fix.

The CLI catches it in one place and exits 2 with the message on one line; subpackages
subclass it (`ModelLoadError`, `ActivationsError`, `ProbeError`, ...). It is a `ValueError`,
so code written against the older errors keeps working.
"""

from __future__ import annotations


class InterpError(ValueError):
    """Something a user passed or pointed at is wrong; the message says what to do."""


def check_count(value, name: str, error: type[InterpError] = InterpError, hint: str = "") -> int:
    """`value` if it is a whole number ≥ 1; otherwise `error` naming `name` (and `hint`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise error(f"{name}={value!r} must be a whole number ≥ 1{hint}.")
    return value
