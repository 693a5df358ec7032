"""File checksums: every cache, organism and store in interp is verified with these."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: str | Path, chunk: int = 1 << 22) -> str:
    """Hex sha256 of a file, read in chunks.

    Example:
        >>> sha256_file("card.json")[:12]
        '9f2c4e01ab37'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def sha256_tensor(tensor) -> str:
    """Hex sha256 of a tensor's dtype, shape and values (on any device).

    Example:
        >>> sha256_tensor(torch.zeros(3))[:12]
        '5d8b8a5c2f1e'
    """
    import torch  # here, so that importing this module stays light

    data = tensor.detach().to("cpu").contiguous()
    digest = hashlib.sha256(f"{data.dtype}:{tuple(data.shape)}".encode())
    digest.update(data.reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()
