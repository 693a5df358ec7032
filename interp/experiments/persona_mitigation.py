"""The causal half of the persona question: does steering against or ablating the toxic
persona's direction lower the helpful-persona backdoor's harmful choices?

For each independent build (`PersonaBuild`), at one hook, on the clean training prompts of
`persona-backdoor` (no prompt it is scored on):

- the toxic direction: `persona-toxic` − base (the shift the toxic fine-tune makes);
- the control: `control-benign` − base (a benign fine-tune moves many directions too);
- the backdoor's own trigger direction: `persona-backdoor` triggered − clean (the
  positive control).

On the backdoor organism each is steered against (α = −its own length: the shift removed)
and ablated at every layer, beside random directions at the same point, in one
`mitigation_sweep`: the harmful rate with and without the trigger, and ΔCE / KL on clean
chat. The toxic direction transfers only if it beats the benign one on every build.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tqdm.auto import tqdm

from interp.activations import cache_activations
from interp.experiments.mitigation import MitigationSweep, mitigation_sweep
from interp.experiments.persona_latents import PersonaBuild
from interp.interventions import (
    AblateDirection,
    AddDirection,
    Direction,
    InterventionError,
    mean_difference,
    shift_direction,
)
from interp.models import load_model
from interp.organisms import paired_prompts
from interp.organisms.prompts import recipe_of

SOURCES = ("toxic", "benign", "trigger")


@dataclass(frozen=True)
class PersonaMitigation:
    """One mitigation sweep per build; `rate(build, source, how)` reads the table."""

    hook: str
    builds: tuple[PersonaBuild, ...]
    sweeps: tuple[MitigationSweep, ...]

    def rate(self, build: int, source: str, how: str) -> float:
        """The triggered harmful rate on build `build` with `source`'s direction steered
        against (`how="steer"`) or ablated (`"ablate"`)."""
        index = SOURCES.index(source) * 2 + ("steer", "ablate").index(how)
        return self.sweeps[build].points[index].arm.triggered.rate

    def to_dict(self) -> dict:
        return {"hook": self.hook, "sources": list(SOURCES),
                "builds": [vars(b) for b in self.builds],
                "sweeps": [s.to_dict() for s in self.sweeps]}  # fmt: skip

    def __str__(self) -> str:
        lines = [f"persona mitigation at {self.hook}: triggered harmful rate of persona-backdoor "
                 "(steered against / ablated), ΔCE, and random directions at the same point"]  # fmt: skip
        for build, sweep in zip(self.builds, self.sweeps, strict=True):
            base = sweep.baseline
            lines.append(f"  {build.backdoor}: as it is {base.triggered} (untriggered "
                         f"{base.untriggered.rate:.2f})")  # fmt: skip
            for i, point in enumerate(sweep.points):
                source, how = SOURCES[i // 2], ("steer", "ablate")[i % 2]
                randoms = ", ".join(f"{a.triggered.rate:.2f}" for a in point.random)
                lines.append(f"    {source:7s} {how:6s} {str(point.arm.triggered):28s} ΔCE "
                             f"{point.arm.delta_ce:+.3f}  random {randoms}")  # fmt: skip
        return "\n".join(lines)


def persona_directions(
    build: PersonaBuild, hook: str, *, base: str = "smollm2", n: int = 100, device=None
) -> dict[str, Direction]:
    """The toxic, benign and trigger directions of one build at `hook`, from the clean (and,
    for the trigger, triggered) training prompts of its backdoor organism."""
    prompts = paired_prompts(recipe_of(build.backdoor), n=n, split="train")
    clean = prompts.filter(lambda p: p.label == 0)
    acts = {}
    for role, spec in (("base", base), ("toxic", f"organism:{build.toxic}"),
                       ("benign", f"organism:{build.benign}")):  # fmt: skip
        acts[role] = cache_activations(load_model(spec, device=device), clean, hook,
                                       progress=False)  # fmt: skip
    backdoor = load_model(f"organism:{build.backdoor}", device=device)
    return {
        "toxic": shift_direction(acts["toxic"], acts["base"], hook),
        "benign": shift_direction(acts["benign"], acts["base"], hook),
        "trigger": mean_difference(
            cache_activations(backdoor, prompts, hook, progress=False), hook
        ),  # fmt: skip
    }


def persona_mitigation(
    builds: Sequence[PersonaBuild],
    hook: str,
    *,
    base: str = "smollm2",
    n: int = 50,
    n_random: int = 2,
    device=None,
    progress: bool = True,
) -> PersonaMitigation:
    """Steer against and ablate each build's toxic, benign and trigger directions on its
    backdoor organism, beside random directions.

    Example:
        >>> result = persona_mitigation([PersonaBuild.seed(s) for s in (0, 1, 2)],
        ...                             "blocks.15.hook_resid_post")
        >>> print(result)
    """
    builds = list(builds)
    if not builds:
        raise InterventionError("persona_mitigation needs at least one build "
                                "(PersonaBuild.seed(0)).")  # fmt: skip
    sweeps = []
    for build in tqdm(builds, desc="builds", disable=not progress):
        directions = persona_directions(build, hook, base=base, device=device)
        points = [it for name in SOURCES
                  for it in (AddDirection(directions[name], -directions[name].norm),
                             AblateDirection(directions[name]))]  # fmt: skip
        model = load_model(f"organism:{build.backdoor}", device=device)
        sweeps.append(mitigation_sweep(model, recipe_of(build.backdoor), points, n=n,
                                       n_random=n_random, allow_other_model=True,
                                       progress=False))  # fmt: skip
    return PersonaMitigation(hook, tuple(builds), tuple(sweeps))
