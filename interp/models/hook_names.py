"""The grammar of hook names, in one place: TransformerLens names, short names and globs.

`blocks.12.hook_resid_post` is a hook name; `resid_post` (or `hook_resid_post`) is a short
name meaning that hook in every layer; `blocks.2.*` is a glob. Pure string functions: the
model's own list of names (`model.hook_dict`) or a store's is passed in.

Example:
    >>> layer_of("blocks.12.hook_resid_post")
    12
    >>> match_hooks(["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"], "resid_post")
    ['blocks.0.hook_resid_post', 'blocks.1.hook_resid_post']
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Sequence

_LAYER = re.compile(r"^blocks\.(\d+)\.(.+)$")


def layer_of(name: str) -> int | None:
    """The layer number in a hook name (`blocks.12.hook_resid_post` -> 12); None outside blocks."""
    match = _LAYER.match(name)
    return int(match.group(1)) if match else None


def is_glob(request: str) -> bool:
    """Does `request` hold a glob character (`*`, `?`, `[`)?"""
    return any(c in request for c in "*?[")


def by_short_name(names: Iterable[str], request: str) -> list[str]:
    """`resid_post`, `hook_resid_post` or `attn.hook_z`: that hook in every layer, by layer."""
    short = request.removeprefix("hook_")
    wanted = {short, f"hook_{short}"}
    if "." in short:
        head, _, tail = short.rpartition(".")
        wanted |= {f"{head}.{tail}", f"{head}.hook_{tail.removeprefix('hook_')}"}
    matched = []
    for name in names:
        m = _LAYER.match(name)
        if m and m.group(2) in wanted:
            matched.append((int(m.group(1)), name))
    return [name for _, name in sorted(matched)]


def match_hook(names: Sequence[str], request: str) -> list[str]:
    """The names among `names` that one request (exact, glob or short name) means."""
    if request in names:
        return [request]
    if is_glob(request):
        return [n for n in names if fnmatch.fnmatchcase(n, request)]
    return by_short_name(names, request)


def match_hooks(names: Sequence[str], requests: str | Sequence[str]) -> list[str]:
    """Every name that some request means, in the order requested, each once."""
    out: list[str] = []
    for request in [requests] if isinstance(requests, str) else requests:
        out += [n for n in match_hook(names, request) if n not in out]
    return out


def split_hook_list(groups: Iterable[str]) -> list[str]:
    """Hook requests from repeated, comma-separated command-line values."""
    return [h.strip() for group in groups for h in group.split(",") if h.strip()]


def hook_patterns(names: Iterable[str], n_layers: int) -> tuple[str, ...]:
    """Collapse per-layer hook names into patterns (`blocks.{0..29}.hook_resid_post`)."""
    span = f"{{0..{n_layers - 1}}}"
    return tuple(dict.fromkeys(_LAYER.sub(rf"blocks.{span}.\2", n) for n in names))
