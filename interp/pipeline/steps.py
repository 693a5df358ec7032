"""What each step of a run does: its settings in, a JSON-ready result and figures out.

A step names the organisms it reads (`inputs`), so a re-run can tell whether they changed;
it builds any organism it needs that is not built yet (reused otherwise). Each step is one
experiment of `interp.experiments` on the run's organisms.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from interp.pipeline.config import (
    MitigationStep,
    OrganismsStep,
    PatchingStep,
    PersonaStep,
    ProbeStep,
    RunSettings,
    SAEStep,
    SafetyStep,
)


@dataclass(frozen=True)
class StepOutput:
    """One step's result (`to_dict()` of its experiment, plus what the report needs) and its
    figures (name -> matplotlib axes or figure, written as NAME.png)."""

    result: dict
    figures: dict = field(default_factory=dict)
    files: dict[str, Callable] = field(default_factory=dict)
    """Other files: name -> function(path) that writes it (e.g. the SAE, a feature card)."""


def home_name(name: str, run: RunSettings, seed: int = 0) -> str:
    """The organism's name in the home: NAME, NAME-sS for seed S > 0, then -micro if micro."""
    name = name if seed == 0 else f"{name}-s{seed}"
    return name if run.size == "default" else f"{name}-micro"


def build(name: str, run: RunSettings, seed: int = 0, *, progress: bool = True) -> str:
    """Build organism `name` for `seed` (reused when built); its spec, `organism:HOME-NAME`."""
    from interp.organisms import build_organism, resolve_recipe

    recipe = resolve_recipe(name, seed=seed if seed else None)
    if seed:
        recipe = replace(recipe, name=f"{name}-s{seed}")
    card = build_organism(recipe, size=run.size, device=_device(run), progress=progress)
    return f"organism:{card.name}"


def _device(run: RunSettings) -> str | None:
    return None if run.device == "auto" else run.device


def _organism_input(step, run: RunSettings, steps: dict) -> list[str]:
    """What a step on one organism (`step.organism`) reads."""
    return [home_name(step.organism, run)]


def _seeds(steps: dict) -> tuple[int, ...]:
    organisms = steps.get("organisms")
    return organisms.seeds if organisms is not None else (0,)


# --- organisms: the behaviour table ---------------------------------------------------------


def organisms_inputs(step: OrganismsStep, run: RunSettings, steps: dict) -> list[str]:
    return [home_name(n, run, s) for s in step.seeds for n in step.names]


def organisms_step(step: OrganismsStep, run: RunSettings, steps: dict, progress: bool):
    from interp.organisms import evaluate_named, get_recipe

    rows = []
    for seed in step.seeds:
        for name in step.names:
            built = build(name, run, seed, progress=progress).removeprefix("organism:")
            found = evaluate_named(built, n=run.n, sampled=False, progress=progress)
            row = {k: v for k, v in found.to_dict().items() if k != "conditions"}
            recipe = get_recipe(name)
            backdoor = recipe.coupling == "trigger" and recipe.behaviour.name != "none"
            rows.append({**row, "recipe": name, "seed": seed, "backdoor": backdoor})
    return StepOutput({"organisms": rows, "n": run.n}, {"behaviour": _behaviour_plot(rows)})


def _behaviour_plot(rows: list[dict]):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * len(rows)))
    for offset, (key, colour) in enumerate((("triggered", "tab:red"), ("untriggered", "tab:blue"))):
        shown = [(i + 0.2 * offset, r[f"{key}_rate"], r[f"{key}_interval"]) for i, r in
                 enumerate(rows) if r[f"{key}_rate"] is not None]  # fmt: skip
        if shown:
            ys, rates, spans = zip(*shown, strict=True)
            errors = [[r - s[0] for r, s in zip(rates, spans, strict=True)],
                      [s[1] - r for r, s in zip(rates, spans, strict=True)]]  # fmt: skip
            ax.errorbar(rates, ys, xerr=errors, fmt="o", color=colour, label=key)
    ax.set_yticks(range(len(rows)), [r["name"].removeprefix("organism:") for r in rows], fontsize=8)
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("behaviour rate (95% interval)")
    ax.legend(fontsize=8, loc="lower right")
    ax.invert_yaxis()
    return ax


# --- the defection probe --------------------------------------------------------------------


def probe_inputs(step: ProbeStep, run: RunSettings, steps: dict) -> list[str]:
    names = [home_name(o, run, s) for s in _seeds(steps) for o in step.organisms]
    return names + [home_name(c, run) if c != "base" else "base" for c in step.controls]


def probe_step(step: ProbeStep, run: RunSettings, steps: dict, progress: bool):
    from interp.experiments import defection_probe

    controls = {c: (build(c, run, progress=progress) if c != "base" else _base(step, run))
                for c in step.controls}  # fmt: skip
    probes, figures = [], {}
    for seed in _seeds(steps):
        for name in step.organisms:
            built = build(name, run, seed, progress=progress).removeprefix("organism:")
            found = defection_probe(built, controls, n=run.n, method=step.method,
                                    rule=step.rule, device=_device(run))  # fmt: skip
            probes.append({**found.to_dict(), "recipe": name, "seed": seed})
            figures[f"probe-{built}"] = found.plot()
    return StepOutput({"probes": probes, "controls": list(step.controls)}, figures)


def _base(step, run: RunSettings) -> str:
    from interp.organisms import get_recipe

    return get_recipe(step.organisms[0]).base


# --- SAE trigger latents --------------------------------------------------------------------


def sae_inputs(step: SAEStep, run: RunSettings, steps: dict) -> list[str]:
    return [home_name(step.organism, run), "base"]


def sae_step(step: SAEStep, run: RunSettings, steps: dict, progress: bool):
    from interp.models import load_model
    from interp.organisms import get_recipe, paired_prompts
    from interp.saes import SAEConfig, feature_card, latent_auroc, train_sae, trigger_latents
    from interp.saes.corpus import chat_corpus

    spec = build(step.organism, run, progress=progress)
    recipe = get_recipe(step.organism)
    organism = load_model(spec, device=_device(run))
    # the base model's SAE reads the organism (a micro organism has no base: its own SAE)
    source = organism if run.size == "micro" else load_model(recipe.base, device=_device(run))
    corpus = chat_corpus(source, triggers=(recipe.trigger,), limit=step.corpus or None,
                         progress=progress)  # fmt: skip
    config = SAEConfig(d_sae=step.d_sae, k=step.k, tokens=step.tokens, seed=run.seed)
    trained = train_sae(source, step.hook, config, prompts=corpus, progress=progress)
    prompts = paired_prompts(spec, n=run.n)
    found = trigger_latents(trained.sae, organism, prompts, top=step.top, seed=run.seed)
    groups = {"triggered": prompts.filter(lambda p: p.label == 1).formatted(organism),
              "clean": prompts.filter(lambda p: p.label == 0).formatted(organism)}  # fmt: skip
    card = feature_card(trained.sae, organism, found.top, groups, allow_other_model=True)
    on_base = None if source is organism else latent_auroc(trained.sae, source, prompts, found.top)
    result = {"organism": spec, "sae_model": "organism" if run.size == "micro" else recipe.base,
              "hook": step.hook, "corpus": len(corpus), "metrics": trained.metrics.to_dict(),
              "latents": found.to_dict(), "top_on_base": on_base and on_base.to_dict(),
              "card": card.to_dict()}  # fmt: skip
    files = {"sae": lambda path: trained.sae.save_model(path),
             "latent-card.html": card.save}  # fmt: skip
    return StepOutput(result, {"latent-card": card.plot()}, files)


# --- the persona comparison -----------------------------------------------------------------


def persona_inputs(step: PersonaStep, run: RunSettings, steps: dict) -> list[str]:
    base = ["base"] if run.size == "default" else [home_name("control-clean", run)]
    return [home_name(n, run) for n in (step.backdoor, step.toxic, step.benign)] + base


def persona_step(step: PersonaStep, run: RunSettings, steps: dict, progress: bool):
    from interp.experiments import persona_table
    from interp.organisms import get_recipe, paired_prompts

    models = {role: build(getattr(step, role), run, progress=progress)
              for role in ("backdoor", "toxic", "benign")}  # fmt: skip
    # micro organisms have no base model: the clean control stands in for it
    models["base"] = (get_recipe(step.backdoor).base if run.size == "default"
                      else build("control-clean", run, progress=progress))  # fmt: skip
    table = persona_table(paired_prompts(models["backdoor"], n=run.n), seed=run.seed,
                          device=_device(run), **models)  # fmt: skip
    return StepOutput(table.to_dict(), {"persona": table.plot()})


# --- mitigation -----------------------------------------------------------------------------


def mitigation_step(step: MitigationStep, run: RunSettings, steps: dict, progress: bool):
    from interp.activations import cache_activations
    from interp.experiments import mitigation_sweep, steering_grid
    from interp.interventions import AblateDirection, mean_difference
    from interp.models import load_model
    from interp.organisms import paired_prompts, recipe_of

    spec = build(step.organism, run, progress=progress)
    model = load_model(spec, device=_device(run))
    fit = paired_prompts(spec, n=100, split="train")  # fitted on training prompts only
    d = mean_difference(cache_activations(model, fit, step.hook, progress=False), step.hook)
    points = []
    if step.alphas:
        layers = list(step.layers) or None
        points += steering_grid(d, [a * d.norm for a in step.alphas], layers)
    if step.ablate:
        points.append(AblateDirection(d))
    sweep = mitigation_sweep(model, recipe_of(spec), points, n=run.n, n_random=step.n_random,
                             seed=run.seed, progress=progress)  # fmt: skip
    return StepOutput(sweep.to_dict(), {"tradeoff": sweep.plot()})


# --- patching -------------------------------------------------------------------------------


def patching_step(step: PatchingStep, run: RunSettings, steps: dict, progress: bool):
    from interp.experiments import backdoor_heads
    from interp.models import load_model
    from interp.organisms import recipe_of

    spec = build(step.organism, run, progress=progress)
    model = load_model(spec, device=_device(run))
    found = backdoor_heads(model, recipe_of(spec), n_pairs=step.pairs, k=step.k or None,
                           n=run.n, n_random=step.n_random, seed=run.seed, progress=progress)  # fmt: skip
    return StepOutput(found.to_dict(), {"patching": found.plot()})


# --- safety training ------------------------------------------------------------------------


def safety_step(step: SafetyStep, run: RunSettings, steps: dict, progress: bool):
    from interp.experiments import safety_experiment
    from interp.organisms.safety import SafetyConfig

    spec = build(step.organism, run, progress=progress)
    config = SafetyConfig(steps=step.steps, red_team_tries=step.red_team_tries)
    table = safety_experiment(spec, methods=step.methods, lrs=step.lrs, seeds=step.seeds,
                              config=config, n=run.n, red_team_tries=step.red_team_tries,
                              probe=step.probe, device=_device(run), progress=progress)  # fmt: skip
    return StepOutput(table.to_dict(), {"safety": table.plot()})


#: What each step runs and which organisms it reads: table name -> (run, inputs).
RUNNERS: dict[str, tuple[Callable, Callable]] = {
    "organisms": (organisms_step, organisms_inputs),
    "probe": (probe_step, probe_inputs),
    "sae": (sae_step, sae_inputs),
    "persona": (persona_step, persona_inputs),
    "mitigation": (mitigation_step, _organism_input),
    "patching": (patching_step, _organism_input),
    "safety": (safety_step, _organism_input),
}
