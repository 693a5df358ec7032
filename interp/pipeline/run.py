"""Run every step a config names into one run directory, reusing what has not changed.

    RUN_DIR/
      run.json                 the config, versions, times and each step's key
      config.toml              the config as written (when read from a file)
      steps/NAME/result.json   the step's result (its experiment's `to_dict()`)
      steps/NAME/*.png         its figures; other files it keeps (an SAE, a feature card)
      steps/NAME/step.json     its key, written last: a step without it is not finished

A step's key hashes its settings, the run's settings and the card of every organism it
reads. A re-run reuses a finished step whose key is unchanged and redoes the rest. A step is
written under `steps/.NAME.partial` and renamed when whole, so one interrupted midway is
redone, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from interp.errors import InterpError, check_output_dir
from interp.pipeline.config import RunConfig, load_config
from interp.pipeline.steps import RUNNERS, StepOutput

FORMAT = 1
#: Rough time of each step on 2 CPU cores at the default size, when nothing is built yet.
ESTIMATES = {
    "organisms": "7 to 25 minutes per organism to train (seconds each once built), "
                 "then about 2 minutes each to evaluate",
    "probe": "about a minute",
    "sae": "about 8 minutes for 1,000 chat turns: the base model's answers, caching, training",
    "persona": "about a minute",
    "mitigation": "about 2 minutes per point",
    "patching": "4 to 5 minutes",
    "safety": "about 9 minutes for the red team and measures, 2 to 4 per SFT or "
              "adversarial arm, about 20 per RL arm",
}  # fmt: skip
PACKAGES = ("interp", "torch", "transformers", "transformer-lens", "sae-lens", "peft", "trl")


class RunError(InterpError):
    """A run directory that cannot be used."""


@dataclass(frozen=True)
class StepRecord:
    """One step of a run: its key, whether it was reused, how long it took."""

    name: str
    key: str
    reused: bool
    seconds: float


@dataclass(frozen=True)
class RunRecord:
    """What `run_pipeline` did: the run directory and each step."""

    directory: Path
    config: RunConfig
    steps: tuple[StepRecord, ...]
    seconds: float

    def to_dict(self) -> dict:
        return {"directory": str(self.directory), "config": self.config.to_dict(),
                "steps": [asdict(s) for s in self.steps], "seconds": self.seconds}  # fmt: skip

    def __str__(self) -> str:
        lines = [f"run {self.config.name} in {self.directory} ({self.seconds:.0f} s)"]
        lines += [f"  {s.name:12s} {'reused' if s.reused else 'ran':6s} {s.seconds:8.1f} s  "
                  f"key {s.key[:12]}" for s in self.steps]  # fmt: skip
        return "\n".join(lines)


def check_run_dir(out: str | Path) -> Path:
    """`out` as a run directory: new, empty, or a run directory already (re-run into it)."""
    out = check_output_dir(out, RunError, what="the run")
    if out.is_dir() and any(out.iterdir()) and not (out / "run.json").is_file():
        raise RunError(f"{str(out)!r} holds other files and is not a run directory (no "
                       "run.json); give a new or empty directory, or remove it.")  # fmt: skip
    return out


def run_pipeline(
    config: RunConfig | str | Path,
    out: str | Path | None = None,
    *,
    progress: bool = True,
    echo=print,
) -> RunRecord:
    """Run each step of `config` (a `RunConfig` or a TOML path) into `out` (default
    `runs/NAME`), reusing every finished step whose inputs are unchanged.

    Example:
        >>> record = run_pipeline("experiments/demo.toml")
        >>> print(record)   # then: write_report(record.directory)
    """
    text = None
    if not isinstance(config, RunConfig):
        path, config = Path(config), load_config(config)
        text = path.read_text()
    out = check_run_dir(out if out is not None else Path("runs") / config.name)
    steps_dir = out / "steps"
    steps_dir.mkdir(parents=True, exist_ok=True)
    for partial in steps_dir.glob(".*.partial"):  # an interrupted step is never trusted
        shutil.rmtree(partial)
    if text is not None:
        (out / "config.toml").write_text(text)
    started, start = time.strftime("%Y-%m-%dT%H:%M:%S%z"), time.perf_counter()
    records: list[StepRecord] = []
    # a run directory from the start: one stopped in its first step is resumed into it
    _write_run(out, config, records, started, 0.0)
    for i, (name, step) in enumerate(config.steps.items(), 1):
        run, inputs = RUNNERS[name]
        key = step_key(name, step, config, inputs(step, config.run, config.steps))
        if _finished(steps_dir / name) == key:
            echo(f"[{i}/{len(config.steps)}] {name}: unchanged, reused")
            records.append(StepRecord(name, key, True, 0.0))
            continue
        hint = "seconds" if config.run.size == "micro" else ESTIMATES[name]
        echo(f"[{i}/{len(config.steps)}] {name}: running ({hint})")
        begin = time.perf_counter()
        output = run(step, config.run, config.steps, progress)
        key = step_key(name, step, config, inputs(step, config.run, config.steps))  # now built
        seconds = round(time.perf_counter() - begin, 1)
        _write_step(steps_dir, name, output, {"key": key, "seconds": seconds})
        records.append(StepRecord(name, key, False, seconds))
        _write_run(out, config, records, started, time.perf_counter() - start)
    _write_run(out, config, records, started, time.perf_counter() - start)
    return RunRecord(out, config, tuple(records), round(time.perf_counter() - start, 1))


def step_key(name: str, step, config: RunConfig, inputs: list[str]) -> str:
    """The hash of what a step's result depends on: its settings, the run's, and the card of
    each organism it reads (None while one is not built, which is never reused)."""
    digests = {model: _digest(model) for model in inputs}
    payload = {"format": FORMAT, "step": name, "settings": asdict(step),
               "run": asdict(config.run), "inputs": digests}  # fmt: skip
    if None in digests.values():
        payload["unbuilt"] = time.time_ns()
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def _digest(model: str) -> str | None:
    from interp.models import organism_dir

    if model == "base":
        return "smollm2"
    card = organism_dir(model) / "card.json"
    return hashlib.sha256(card.read_bytes()).hexdigest() if card.is_file() else None


def _finished(directory: Path) -> str | None:
    try:
        return json.loads((directory / "step.json").read_text())["key"]
    except (OSError, ValueError, KeyError):
        return None


def _write_step(steps_dir: Path, name: str, output: StepOutput, record: dict) -> None:
    partial = steps_dir / f".{name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir()
    (partial / "result.json").write_text(json.dumps(output.result, indent=1, default=_plain))
    for figure, ax in output.figures.items():
        save_figure(ax, partial / f"{figure}.png")
    for file, write in output.files.items():
        write(partial / file)
    (partial / "step.json").write_text(json.dumps({"step": name, **record}, indent=1))
    final = steps_dir / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(partial, final)


def save_figure(figure, path: Path) -> None:
    """Write a matplotlib axes or figure as a PNG and close it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure = getattr(figure, "figure", figure)
    figure.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(figure)


def _plain(value):
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _write_run(out: Path, config: RunConfig, records, started: str, seconds: float) -> None:
    record = {"format": FORMAT, "name": config.name, "config": config.to_dict(),
              "started": started, "seconds": round(seconds, 1),
              "steps": [asdict(r) for r in records], "versions": versions(),
              "machine": {"python": sys.version.split()[0], "platform": platform.platform(),
                          "cpus": os.cpu_count()}}  # fmt: skip
    (out / "run.json").write_text(json.dumps(record, indent=1))


def versions() -> dict[str, str | None]:
    """The versions of interp and the libraries its numbers depend on."""
    found = {}
    for package in PACKAGES:
        try:
            found[package] = version(package)
        except PackageNotFoundError:
            found[package] = None
    return found
