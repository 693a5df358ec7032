"""Do a toxic misaligned persona and a helpful-persona backdoor share a direction?

Three labelled sets on the same held-out dilemma prompts, read at the last prompt token of
every layer:

- `backdoor`: the persona-backdoor organism, each prompt with its trigger (1) and without (0);
- `toxic`: the persona-toxic organism (1) against the base model (0), prompts without trigger;
- `benign`: a benign fine-tune (1) against the base model (0), the same prompts — the control:
  a fine-tune moves many directions, so a "toxic" direction must beat this one.

A difference-of-means probe fitted on each set's training half is scored on every set's
held-out half (`generalisation_matrix`), beside random directions (95th percentile of
`n_random`, each oriented on the data: an upper bound for chance) and the cosines between
the three fitted directions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformer_lens.utilities import get_act_name

from interp.activations import ActivationSet, cache_activations
from interp.models import load_model
from interp.probes.controls import random_direction_aurocs, random_directions
from interp.probes.errors import ProbeError
from interp.probes.generalisation import generalisation_matrix
from interp.probes.methods import fit_directions
from interp.probes.model_diff import model_contrast
from interp.prompts import PromptSet

SETS = ("backdoor", "toxic", "benign")


@dataclass(frozen=True)
class PersonaTable:
    """Per layer: `auroc[layer][i][j]` is the probe fitted on set `names[i]` scored on set
    `names[j]`'s held-out half; `random_p95[layer][j]` the random-direction bound on set j;
    `cosine[layer]` the cosines of the fitted directions (pairs in `cosine_pairs`)."""

    names: tuple[str, ...]
    models: dict[str, str]
    n_prompts: int
    auroc: tuple[tuple[tuple[float, ...], ...], ...]
    random_p95: tuple[tuple[float, ...], ...]
    cosine_pairs: tuple[str, ...]
    cosine: tuple[tuple[float, ...], ...]

    def cell(self, train: str, test: str) -> list[float]:
        """AUROC by layer of the probe fitted on `train`, scored on `test`."""
        i, j = self.names.index(train), self.names.index(test)
        return [layer[i][j] for layer in self.auroc]

    def to_dict(self) -> dict:
        return {
            "names": list(self.names),
            "models": self.models,
            "n_prompts": self.n_prompts,
            "auroc": [[list(r) for r in layer] for layer in self.auroc],
            "random_p95": [list(r) for r in self.random_p95],
            "cosine_pairs": list(self.cosine_pairs),
            "cosine": [list(r) for r in self.cosine],
        }

    def __str__(self) -> str:
        columns = [
            ("backdoor", "backdoor"),
            ("toxic", "toxic"),
            ("toxic", "backdoor"),
            ("benign", "backdoor"),
            ("backdoor", "toxic"),
            ("backdoor", "benign"),
        ]
        head = " ".join(f"{a[:4]}→{b[:4]}".rjust(10) for a, b in columns)
        head += " " + " ".join(f"rnd95 {b[:4]}".rjust(10) for b in self.names)
        head += " " + " ".join(p.rjust(10) for p in self.cosine_pairs)
        lines = [
            f"persona table, {self.n_prompts} prompts (fitted on → scored on)",
            "layer " + head,
        ]
        for layer, (rnd, cos) in enumerate(zip(self.random_p95, self.cosine, strict=True)):
            cells = [self.cell(a, b)[layer] for a, b in columns] + list(rnd) + list(cos)
            lines.append(f"{layer:5d} " + " ".join(f"{v:10.3f}" for v in cells))
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def plot(self, ax=None):
        """Transfers to and from the backdoor set by layer, beside the random bound on the
        backdoor set; returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(7, 3.5))[1]
        layers = range(len(self.auroc))
        for train, test in (("toxic", "backdoor"), ("benign", "backdoor"),
                            ("backdoor", "toxic"), ("backdoor", "benign")):  # fmt: skip
            ax.plot(layers, self.cell(train, test), marker=".", label=f"{train} → {test}")
        backdoor = self.names.index("backdoor")
        ax.plot(layers, [r[backdoor] for r in self.random_p95], color="grey", linestyle="--",
                label="random p95 on backdoor")  # fmt: skip
        ax.axhline(0.5, color="black", linewidth=0.5)
        ax.set_xlabel("layer (resid_post)")
        ax.set_ylabel("AUROC (fitted on → scored on)")
        ax.set_ylim(0, 1.02)
        ax.legend(fontsize=7, loc="lower left")
        return ax


def persona_table(
    prompts: PromptSet,
    *,
    backdoor: str = "organism:persona-backdoor",
    toxic: str = "organism:persona-toxic",
    benign: str = "organism:control-benign",
    base: str = "smollm2",
    n_random: int = 1000,
    seed: int = 0,
    device: str | None = None,
) -> PersonaTable:
    """The persona table on `prompts` (paired: label 1 with the backdoor's trigger, 0 without,
    e.g. `paired_prompts("persona-backdoor")`); the other models see the label-0 prompts.

    Example:
        >>> table = persona_table(paired_prompts("persona-backdoor", n=200))
        >>> table.cell("toxic", "backdoor")[15]   # toxic shift scored on triggered vs clean
        0.62
    """
    clean = PromptSet(tuple(p for p in prompts if p.label == 0), name="clean", chat=prompts.chat)
    models = {"backdoor": backdoor, "toxic": toxic, "benign": benign, "base": base}
    acts = {}
    for name, spec in models.items():
        model = load_model(spec, device=device)
        hooks = [get_act_name("resid_post", layer) for layer in range(model.cfg.n_layers)]
        source = prompts if name == "backdoor" else clean
        acts[name] = cache_activations(model, source, hooks, progress=False)
        del model
    return persona_table_of(acts, models=models, n_random=n_random, seed=seed)


def persona_table_of(
    acts: dict[str, ActivationSet],
    *,
    models: dict[str, str] | None = None,
    n_random: int = 1000,
    seed: int = 0,
) -> PersonaTable:
    """The persona table from cached activations: `acts` maps 'backdoor' (paired prompts,
    labelled) and 'toxic', 'benign', 'base' (the clean prompts, same order) to their sets."""
    missing = {"backdoor", "toxic", "benign", "base"} - set(acts)
    if missing:
        raise ProbeError(f"persona_table_of needs sets named {sorted(missing)} as well.")
    sets: dict[str, ActivationSet] = {
        "backdoor": acts["backdoor"],
        "toxic": model_contrast(acts["toxic"], acts["base"]),
        "benign": model_contrast(acts["benign"], acts["base"]),
    }
    hooks = list(acts["backdoor"].hooks)
    width = acts["backdoor"][hooks[0]].shape[-1]
    dirs = random_directions(width, n_random, torch.Generator().manual_seed(seed))
    pairs = [(a, b) for i, a in enumerate(SETS) for b in SETS[i + 1 :]]
    matrices, random_p95, cosines = [], [], []
    for hook in hooks:
        matrices.append(generalisation_matrix(sets, hook, seed=seed, allow_other_models=True).auroc)
        p95, direction = [], {}
        for name in SETS:
            x, y = sets[name][hook].float(), sets[name].labels
            p95.append(float(random_direction_aurocs(x, y, x, y, dirs).quantile(0.95)))
            direction[name] = fit_directions(x[None], y, "diff_means")[0][0]  # unit norm
        random_p95.append(tuple(p95))
        cosines.append(tuple(float(direction[a] @ direction[b]) for a, b in pairs))
    return PersonaTable(
        names=SETS,
        models=models or {},
        n_prompts=len(acts["toxic"]),
        auroc=tuple(matrices),
        random_p95=tuple(random_p95),
        cosine_pairs=tuple(f"cos {a[:4]}·{b[:4]}" for a, b in pairs),
        cosine=tuple(cosines),
    )
