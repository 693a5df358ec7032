"""`InterpError`: the root of every error a user can cause. Each message names the fix.

The CLI catches it in one place and exits 2 with the message on one line; subpackages
subclass it (`ModelLoadError`, `ActivationsError`, `ProbeError`, ...). It is a `ValueError`,
so code written against the older errors keeps working.
"""

from __future__ import annotations


class InterpError(ValueError):
    """Something a user passed or pointed at is wrong; the message says what to do."""
