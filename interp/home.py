"""Where interp keeps what it builds: converted models, organisms, downloads."""

from __future__ import annotations

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
