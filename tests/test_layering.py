"""Imports run one way, as docs/design.md draws them: models, prompts <- evals <- training
<- organisms, activations <- probes, saes <- interventions <- experiments <- pipeline, report
<- cli.
A module never imports a layer to its right (lazy imports inside functions included)."""

from __future__ import annotations

import ast
from pathlib import Path

import interp

LAYER = {
    "home": 0,
    "seed": 0,
    "checksums": 0,
    "errors": 0,
    "models": 1,
    "prompts": 2,
    "evals": 3,
    "training": 4,
    "organisms": 5,
    "activations": 5,
    "probes": 6,
    "saes": 6,
    "interventions": 7,
    "experiments": 8,
    "pipeline": 9,
    "report": 9,
    "cli": 10,
}
ROOT = Path(interp.__file__).parent


def _unit(path: Path) -> str:
    return path.relative_to(ROOT).parts[0].removesuffix(".py")


def _imported_units(path: Path) -> set[str]:
    units = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        units |= {n.split(".")[1] for n in names if n.startswith("interp.")}
    return units


def test_every_unit_has_a_layer():
    units = {_unit(p) for p in ROOT.rglob("*.py") if p.name != "__init__.py" or p.parent != ROOT}
    assert units <= set(LAYER), f"give these a layer in this test: {units - set(LAYER)}"


def test_imports_run_one_way():
    wrong = []
    for path in ROOT.rglob("*.py"):
        if path.parent == ROOT and path.name == "__init__.py":
            continue
        unit = _unit(path)
        for imported in _imported_units(path) - {unit}:
            if LAYER[imported] >= LAYER[unit]:
                wrong.append(f"{path.relative_to(ROOT)} imports interp.{imported}")
    assert not wrong, wrong
