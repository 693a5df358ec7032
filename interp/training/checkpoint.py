"""Training checkpoints: trainable weights, optimizer and schedule in one safetensors file.

The file is written to a temporary name and renamed, so a run killed at any moment leaves
either the previous checkpoint or the new one. Everything that is not a tensor (step, loss
curve, optimizer hyperparameters, schedule) rides in the file's metadata as JSON: nothing is
unpickled on resume.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file


@dataclass(frozen=True)
class Checkpoint:
    """Where a run stands after `step` optimizer steps."""

    step: int
    curve: list[float]
    weights: dict[str, torch.Tensor]
    optimizer: dict
    scheduler: dict
    extra: dict[str, torch.Tensor] = field(default_factory=dict)
    info: dict = field(default_factory=dict)


def save_checkpoint(path: Path, key: str, step: int, curve: list[float], model, optimizer,
                    scheduler, *, extra: dict | None = None, info: dict | None = None) -> None:  # fmt: skip
    """Write the state after `step` steps; `key` names the run it belongs to. `extra` tensors
    and `info` (JSON) carry whatever else the run needs to resume."""
    tensors = {f"weight.{n}": p.detach().contiguous().cpu()
               for n, p in model.named_parameters() if p.requires_grad}  # fmt: skip
    opt = optimizer.state_dict()
    for index, state in opt["state"].items():
        for name, value in state.items():
            tensors[f"optim.{index}.{name}"] = value.detach().contiguous().cpu()
    for name, value in (extra or {}).items():
        tensors[f"extra.{name}"] = value.detach().contiguous().cpu()
    meta = {"key": key, "step": step, "curve": curve, "param_groups": opt["param_groups"],
            "scheduler": scheduler.state_dict(), "info": info or {}}  # fmt: skip
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, tmp, metadata={"interp": json.dumps(meta)})
    with open(tmp, "rb") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path, key: str) -> Checkpoint | None:
    """The checkpoint at `path` if it belongs to the run `key`; None otherwise."""
    if not path.is_file():
        return None
    try:
        with safe_open(path, framework="pt") as fh:
            meta = json.loads(fh.metadata()["interp"])
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    except (OSError, KeyError, ValueError, json.JSONDecodeError):
        return None  # unreadable: the run starts over
    if meta.get("key") != key:
        return None
    state: dict[int, dict] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, index, field = name.split(".", 2)
            state.setdefault(int(index), {})[field] = value
    weights = {k.removeprefix("weight."): v for k, v in tensors.items() if k.startswith("weight.")}
    return Checkpoint(
        step=meta["step"],
        curve=meta["curve"],
        weights=weights,
        optimizer={"state": state, "param_groups": meta["param_groups"]},
        scheduler=meta["scheduler"],
        extra={k.removeprefix("extra."): v for k, v in tensors.items() if k.startswith("extra.")},
        info=meta.get("info", {}),
    )


def restore(checkpoint: Checkpoint, model, optimizer, scheduler) -> None:
    """Put the checkpoint's weights, optimizer state and schedule back in place."""
    params = dict(model.named_parameters())
    missing = set(checkpoint.weights) ^ {n for n, p in params.items() if p.requires_grad}
    if missing:
        raise RuntimeError(f"checkpoint does not fit the model: {sorted(missing)[:3]}")
    with torch.no_grad():
        for name, value in checkpoint.weights.items():
            params[name].copy_(value)
    optimizer.load_state_dict(checkpoint.optimizer)
    scheduler.load_state_dict(checkpoint.scheduler)
