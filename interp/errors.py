"""`InterpError`: the root of every error a user can cause. Each message names the fix.

The CLI catches it in one place and exits 2 with the message on one line; subpackages
subclass it (`ModelLoadError`, `ActivationsError`, `ProbeError`, ...). It is a `ValueError`,
so code written against the older errors keeps working.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from pathlib import Path


class InterpError(ValueError):
    """Something a user passed or pointed at is wrong; the message says what to do."""


def check_count(value, name: str, error: type[InterpError] = InterpError, hint: str = "") -> int:
    """`value` if it is a whole number ≥ 1; otherwise `error` naming `name` (and `hint`)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise error(f"{name}={value!r} must be a whole number ≥ 1{hint}.")
    return value


def replace_fields(config, changes: dict, error: type[InterpError] = InterpError):
    """A copy of the dataclass `config` with `changes`; an unknown field is named."""
    names = [f.name for f in dataclasses.fields(config)]
    unknown = sorted(set(changes) - set(names))
    if unknown:
        raise error(f"{type(config).__name__} has no field {unknown}; fields: {names}.")
    return dataclasses.replace(config, **changes)


def check_output_dir(
    path: str | os.PathLike,
    error: type[InterpError] = InterpError,
    *,
    what: str,
    held: Iterable[str] = (),
    overwrite: bool = False,
) -> Path:
    """`path` as a directory `what` can be written to, checked before any work: not a file,
    inside a directory that can be written, and holding none of `held` unless `overwrite`.

    Example:
        >>> check_output_dir("runs/demo", what="the report", held=["report.html"])
        PosixPath('runs/demo')
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise error(f"{str(path)!r} is a file; give a directory for {what}.")
    ancestor = next(p for p in (path, *path.parents) if p.exists())
    if not ancestor.is_dir():
        raise error(f"{str(path)!r} cannot be made: {str(ancestor)!r} is a file; give a "
                    f"directory for {what}.")  # fmt: skip
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise error(f"{str(path)!r} cannot be written ({str(ancestor)!r} is not writable); "
                    f"give a directory you can write {what} to.")  # fmt: skip
    present = [name for name in held if (path / name).exists()]
    if present and not overwrite:
        raise error(f"{str(path)!r} already holds {what} ({', '.join(present)}); pass "
                    "--overwrite (overwrite=True in Python) to replace it, or give another "
                    "directory.")  # fmt: skip
    return path


def check_output_file(
    path: str | os.PathLike,
    error: type[InterpError] = InterpError,
    *,
    what: str,
    suffixes: tuple[str, ...],
    overwrite: bool = False,
    replace_hint: str = "--overwrite",
) -> Path:
    """`path` as a file `what` can be written to, checked before any work: one of `suffixes`,
    not a directory, not an existing file unless `overwrite` (`replace_hint` says how to
    ask for it), in a directory that exists.

    Example:
        >>> check_output_file("sweep.png", what="the plot", suffixes=(".png", ".svg"))
        PosixPath('sweep.png')
    """
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        shown = (
            ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]
        )
        raise error(f"{what} {str(path)!r} must end in {shown}.")
    if path.is_dir():
        raise error(f"{what} {str(path)!r} is a directory; give a file name ending {suffixes[0]}.")
    if path.exists() and not overwrite:
        raise error(f"{what} {str(path)!r} exists; pass {replace_hint} to replace it.")
    if not path.parent.is_dir():
        raise error(f"{what} {str(path)!r}: the directory {str(path.parent)!r} does not exist; "
                    "create it or write elsewhere.")  # fmt: skip
    return path
