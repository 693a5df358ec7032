"""The `interp` command: one subcommand per verb."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import typer

app = typer.Typer(
    help="Find, explain and remove backdoors and misaligned personas in language models.",
    no_args_is_help=True,
    add_completion=False,
)
model_app = typer.Typer(help="Load models and look inside them.", no_args_is_help=True)
app.add_typer(model_app, name="model")

SPEC = typer.Argument(
    ...,
    help="'smollm2', 'organism:NAME', a local Hugging Face model directory, or a "
    "TransformerLens model name in the local Hugging Face cache.",
)
DEVICE = typer.Option(None, help="cpu, cuda or cuda:N; default CUDA when available.")
DTYPE = typer.Option(None, help="float32 (default), bfloat16 or float16.")
DEMO_OUT = typer.Option(Path("runs/demo"), help="Directory for the report.")


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


@model_app.command("info")
def model_info_command(
    spec: str = SPEC,
    device: str = DEVICE,
    dtype: str = DTYPE,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Print the architecture, sizes, hook points and fingerprint of a model."""
    from interp.models import load_model
    from interp.models.info import model_info

    info = model_info(_load(load_model, spec, device, dtype))
    typer.echo(json.dumps(info.to_dict(), indent=2) if as_json else str(info))


@model_app.command("chat")
def model_chat_command(
    spec: str = SPEC,
    text: str = typer.Argument(..., help="The user's message."),
    max_new_tokens: int = typer.Option(64, help="Stop after this many new tokens."),
    device: str = DEVICE,
    dtype: str = DTYPE,
) -> None:
    """Print the model's greedy reply to one user message, in its chat template."""
    from interp.models import chat, load_model

    model = _load(load_model, spec, device, dtype)
    typer.echo(chat(model, text, max_new_tokens=max_new_tokens))


@app.command("demo")
def demo_command(
    out: Path = DEMO_OUT,
    device: str = DEVICE,
) -> None:
    """Load the base model, show chat completions and where a backdoor probe reads."""
    from interp.demo import run_demo

    result = run_demo(out, device=device)
    typer.echo(str(result))
    typer.echo(f"\nreport: {out / 'report.html'}")


def _load(load_model, spec: str, device: str | None, dtype: str | None):
    from interp.models.errors import ModelLoadError

    try:
        return load_model(spec, device=device, dtype=dtype)
    except ModelLoadError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=2) from None


if __name__ == "__main__":
    app()
