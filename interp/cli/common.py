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
SPEC = typer.Argument(
    ...,
    help="'smollm2', 'organism:NAME', a local Hugging Face model directory, or a "
    "TransformerLens model name in the local Hugging Face cache.",
)
DTYPE = typer.Option(None, help="float32 (default), bfloat16 or float16.")
STORE_PATH = typer.Argument(..., help="The store directory.")


def to_json(result) -> str:
    """`result.to_dict()` (or a dict) as strict JSON: NaN and infinities become null."""

    def finite(value):
        if isinstance(value, dict):
            return {k: finite(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [finite(v) for v in value]
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    data = result if isinstance(result, dict) else result.to_dict()
    return json.dumps(finite(data), indent=2, allow_nan=False)


def dataclass_defaults(module: str, name: str) -> dict:
    """The constant defaults of dataclass `name` in `interp/<module>`, read without importing
    it (torch would load, and `--help` must stay fast)."""
    import ast

    tree = ast.parse((Path(__file__).parents[1] / module).read_text())
    config = next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)
    return {
        node.target.id: ast.literal_eval(node.value)
        for node in config.body
        if isinstance(node, ast.AnnAssign) and node.value is not None
        and isinstance(node.value, ast.Constant)
    }  # fmt: skip


def open_store(path: Path):
    from interp.activations import ActivationStore

    return ActivationStore(path)


def resolve_prompts(prompts: str, n: int):
    """A prompt set from the command line: a JSONL file, a contrast-pair set name, or
    paired:ORGANISM (its held-out prompts with and without its trigger, `n` a side)."""
    from interp.prompts import PromptError, PromptSet, contrast_pairs

    if prompts.startswith("paired:"):
        from interp.organisms import paired_prompts

        return paired_prompts(prompts.removeprefix("paired:"), n=n)
    if Path(prompts).is_file():
        return PromptSet.from_jsonl(prompts)
    if "/" in prompts or prompts.endswith(".jsonl"):
        what = "is a directory" if Path(prompts).is_dir() else "does not exist"
        raise PromptError(f"--prompts {prompts!r} {what}; give a prompt-set JSONL file, a "
                          "contrast-pair set name or paired:ORGANISM.")  # fmt: skip
    return contrast_pairs(prompts)


def check_plot(path: Path | None, overwrite: bool) -> None:
    """Refuse, before any work, a --plot that cannot be written or would replace a file."""
    from interp.errors import check_output_file

    if path is not None:
        check_output_file(path, what="--plot", suffixes=(".png", ".svg", ".pdf"),
                          overwrite=overwrite)  # fmt: skip


def save_plot(ax, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    ax.figure.savefig(path, dpi=120, bbox_inches="tight")
