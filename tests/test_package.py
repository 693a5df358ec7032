"""The package as a user gets it: a wheel installed elsewhere works from its own files, every
subpackage is reachable from `import interp`, and `--help` starts without torch."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import interp

ROOT = Path(__file__).resolve().parents[1]


def _run(code: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, text=True,
                          capture_output=True, env={**os.environ, **(env or {})}, timeout=300)  # fmt: skip


def test_an_installed_wheel_runs_from_its_own_files(tmp_path, tiny_llama_dir):
    source = tmp_path / "source"  # built from a copy: nothing is written into the checkout
    shutil.copytree(ROOT / "interp", source / "interp",
                    ignore=shutil.ignore_patterns("__pycache__"))  # fmt: skip
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation",
         "-w", str(tmp_path / "dist"), "-q"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr
    (wheel,) = (tmp_path / "dist").glob("interp-*.whl")
    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)], capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert install.returncode == 0, install.stderr
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    script = f"""
        import interp
        assert interp.__file__.startswith({str(site)!r}), interp.__file__
        pairs = interp.prompts.contrast_pairs("generic_yes_no")
        model = interp.load_model({str(tiny_llama_dir)!r}, device="cpu")
        acts = interp.cache_activations(model, pairs, "blocks.1.hook_resid_post", progress=False)
        probe = interp.probes.train_probe(acts, method="diff_means")
        print(len(pairs), tuple(acts["blocks.1.hook_resid_post"].shape), probe.hook)
        from interp.pipeline import DEMO_CONFIGS, load_config
        assert all(load_config(path).steps for path in DEMO_CONFIGS.values())
    """
    result = _run(script, elsewhere, {"PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["24", "(24,", "64)", "blocks.1.hook_resid_post"]


def test_every_subpackage_is_an_attribute_of_interp():
    for name in interp.SUBPACKAGES:
        assert getattr(interp, name).__name__ == f"interp.{name}"
    assert callable(interp.probes.train_probe) and callable(interp.organisms.build_organism)
    with pytest.raises(AttributeError, match="no attribute 'prboes'"):
        interp.prboes  # noqa: B018


@pytest.mark.parametrize("group", [[], ["model"], ["organism"], ["store"], ["probe"], ["cache"],
                                   ["monitor"], ["demo"], ["organism", "train"], ["sae"],
                                   ["sae", "train"]])  # fmt: skip
def test_help_imports_no_torch(group):
    code = f"""
        import sys
        from typer.testing import CliRunner
        from interp.cli import app
        result = CliRunner().invoke(app, {group + ["--help"]!r})
        assert result.exit_code == 0, result.output
        assert "Usage" in result.output
        heavy = sorted(m for m in ("torch", "transformer_lens", "transformers") if m in sys.modules)
        assert not heavy, heavy
    """
    result = _run(code, ROOT)
    assert result.returncode == 0, result.stderr
