"""What every `interp` command group shares: options, JSON output, opening a store."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

DEVICE = typer.Option(None, help="cpu, cuda or cuda:N; default CUDA when available.")
OTHER_MODEL = typer.Option(
    False, help="Apply it to another model's activations on purpose (a control)."
)
AS_JSON = typer.Option(False, "--json", help="Print one JSON object.")


def to_json(result) -> str:
    """`result.to_dict()` as strict JSON: NaN and infinities become null."""

    def finite(value):
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [finite(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    return json.dumps(finite(result.to_dict()), indent=2, allow_nan=False)


def open_store(path: Path):
    from interp.activations import ActivationStore

    return ActivationStore(path)
