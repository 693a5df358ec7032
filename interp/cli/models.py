"""`interp model`, `interp cache` and `interp store`: load models, cache their activations
and inspect the stores."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.cli.common import AS_JSON, DEVICE, DTYPE, SPEC, STORE_PATH, resolve_prompts, to_json

model_app = typer.Typer(help="Load models and look inside them.", no_args_is_help=True)
store_app = typer.Typer(help="Inspect and check activation stores.", no_args_is_help=True)


@model_app.command("info")
def model_info_command(
    spec: str = SPEC,
    device: str = DEVICE,
    dtype: str = DTYPE,
    as_json: bool = AS_JSON,
) -> None:
    """Print the architecture, sizes, hook points and fingerprint of a model.

    Example: interp model info smollm2 --json
    """
    from interp.models import load_model
    from interp.models.info import model_info

    info = model_info(load_model(spec, device=device, dtype=dtype))
    typer.echo(to_json(info) if as_json else str(info))


@model_app.command("chat")
def model_chat_command(
    spec: str = SPEC,
    text: str = typer.Argument(..., help="The user's message."),
    max_new_tokens: int = typer.Option(64, help="Stop after this many new tokens."),
    device: str = DEVICE,
    dtype: str = DTYPE,
) -> None:
    """Print the model's greedy reply to one user message, in its chat template.

    Example: interp model chat smollm2 "What is the capital of France?"
    """
    from interp.models import chat, load_model

    model = load_model(spec, device=device, dtype=dtype)
    typer.echo(chat(model, text, max_new_tokens=max_new_tokens))


CACHE_HOOKS = typer.Option(
    ...,
    "--hooks",
    help="Hook names, short names (resid_post: every layer) or globs (blocks.2.*); "
    "repeat the option or separate with commas.",
)
CACHE_OUT = typer.Option(None, "--out", help="Store directory; default activations/PROMPTS-MODEL.")


def cache_command(
    spec: str = SPEC,
    prompts: str = typer.Option(
        ...,
        "--prompts",
        help="A prompt-set JSONL file, the name of a contrast-pair set (e.g. generic_yes_no), "
        "or paired:ORGANISM, the organism's held-out prompts with and without its trigger.",
    ),
    n: int = typer.Option(200, help="With paired:ORGANISM, held-out prompts per side."),
    hooks: list[str] = CACHE_HOOKS,
    positions: str = typer.Option(
        "last", help="last, mean, span, trigger, all, or token indices such as -1,-2."
    ),
    out: Path = CACHE_OUT,
    batch_size: int = typer.Option(16, help="Prompts per forward pass."),
    shard_size: int = typer.Option(4096, help="Prompts per shard file."),
    store_dtype: str = typer.Option(None, help="Stored dtype; default the model's."),
    overwrite: bool = typer.Option(False, help="Replace a store made by a different job."),
    device: str = DEVICE,
    dtype: str = DTYPE,
) -> None:
    """Cache activations of a prompt set into an on-disk store (re-run to resume).

    Example: interp cache smollm2 --prompts generic_yes_no --hooks resid_post --out activations/yes-no
    """
    from interp.activations import ActivationsError, Positions, cache_activations
    from interp.errors import check_count, check_output_dir
    from interp.models import load_model, resolve_device, resolve_dtype
    from interp.models.hook_names import split_hook_list

    prompt_set = resolve_prompts(prompts, n)
    Positions.parse(positions)  # every option checked before the model loads
    check_count(batch_size, "batch_size", ActivationsError)
    check_count(shard_size, "shard_size", ActivationsError)
    for value in (dtype, store_dtype):
        if value is not None:
            resolve_dtype(value)
    resolve_device(device)
    names = split_hook_list(hooks)
    if not names:
        raise ActivationsError("--hooks is empty; give hook names, e.g. --hooks resid_post.")
    if out is not None:
        check_output_dir(out, ActivationsError, what="the store", overwrite=True)
    model = load_model(spec, device=device, dtype=dtype)
    out = out or Path("activations") / f"{prompt_set.name}-{Path(model.cfg.model_name).name}"
    store = cache_activations(
        model,
        prompt_set,
        names,
        positions,
        store=out,
        batch_size=batch_size,
        shard_size=shard_size,
        dtype=store_dtype,
        overwrite=overwrite,
    )
    typer.echo(str(store.info()))


@store_app.command("info")
def store_info_command(
    path: Path = STORE_PATH,
    as_json: bool = AS_JSON,
) -> None:
    """Print what a store holds: model, prompts, hooks, positions, shapes, shards.

    Example: interp store info activations/yes-no --json
    """
    from interp.activations import store_info

    info = store_info(path)
    typer.echo(to_json(info) if as_json else str(info))


@store_app.command("verify")
def store_verify_command(path: Path = STORE_PATH) -> None:
    """Check every shard's size and sha256; exit 1 naming the bad shards.

    Example: interp store verify activations/yes-no
    """
    from interp.activations import ActivationStore, StoreCorruptedError

    try:
        check = ActivationStore(path, verify="off").verify()
    except StoreCorruptedError as err:  # a finding, not a usage error
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(code=1) from None
    typer.echo(str(check))
