"""Device and dtype selection shared by every loader."""

from __future__ import annotations

import torch

from interp.models.errors import ModelLoadError

_DTYPES = {
    "float32": torch.float32,
    "fp32": torch.float32,
    "float16": torch.float16,
    "fp16": torch.float16,
    "bfloat16": torch.bfloat16,
    "bf16": torch.bfloat16,
}


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """`device` as a `torch.device`; None means CUDA when available, else CPU.

    Example:
        >>> resolve_device("cpu")
        device(type='cpu')
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ModelLoadError(
            f"unknown device {device!r}; use 'cpu', 'cuda' or 'cuda:N' (or None: CUDA when "
            "available)."
        ) from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ModelLoadError(
            f"device {str(device)!r} was asked for but CUDA is not available here; "
            "pass device='cpu' or leave device=None to pick automatically."
        )
    return device


def resolve_dtype(dtype: str | torch.dtype | None = None) -> torch.dtype:
    """`dtype` as a `torch.dtype`; None means float32 (exact comparisons with references).

    Example:
        >>> resolve_dtype("bf16")
        torch.bfloat16
    """
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        if dtype not in _DTYPES.values():
            raise ModelLoadError(
                f"dtype {dtype} is not supported; use one of float32, float16, bfloat16."
            )
        return dtype
    key = str(dtype).removeprefix("torch.").lower()
    if key not in _DTYPES:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use one of {sorted(_DTYPES)}.")
    return _DTYPES[key]
