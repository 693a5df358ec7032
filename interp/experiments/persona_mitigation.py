"""The causal half of the persona question: does steering against or ablating the toxic
persona's direction lower the helpful-persona backdoor's harmful choices, and does the
backdoor's direction lower the toxic persona's?

For each independent build (`PersonaBuild`), at one hook, on the training prompts of
`persona-backdoor` (no prompt it is scored on):

- the toxic direction: `persona-toxic` − base (the shift the toxic fine-tune makes), on the
  clean prompts;
- the backdoor direction: `persona-backdoor` − base on the triggered prompts (the shift the
  backdoor fine-tune makes where its persona is on);
- the control: `control-benign` − base on the clean prompts (a benign fine-tune moves many
  directions too);
- the backdoor's own trigger direction: `persona-backdoor` triggered − clean.

Forward, on `persona-backdoor`: the toxic direction, the control, and the trigger direction
(the positive control). Reverse (`reverse=True`), on `persona-toxic`: the backdoor
direction, the control, and the toxic direction itself (the positive control). Each is
steered against (α = −its own length: the shift removed) and ablated at every layer,
beside random directions at the same point, in one `mitigation_sweep`: the harmful rate on
the backdoor's dilemmas with and without its trigger's text (the toxic persona chooses
harm without it), and ΔCE / KL on clean chat. A direction transfers only if it beats the
benign one on every build.
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

#: The directions steered against on `persona-backdoor` (forward) and on `persona-toxic`
#: (reverse), the last of each the positive control.
FORWARD = ("toxic", "benign", "trigger")
REVERSE = ("backdoor", "benign", "toxic")
HOWS = ("steer", "ablate")


@dataclass(frozen=True)
class PersonaMitigation:
    """One mitigation sweep per build; `rate(build, source, how)` reads the table."""

    hook: str
    builds: tuple[PersonaBuild, ...]
    sweeps: tuple[MitigationSweep, ...]
    reverse: bool = False

    @property
    def sources(self) -> tuple[str, ...]:
        return REVERSE if self.reverse else FORWARD

    @property
    def measured(self) -> str:
        """The organism each sweep measures: 'persona-toxic' reversed, else 'persona-backdoor'."""
        return "persona-toxic" if self.reverse else "persona-backdoor"

    def rate(self, build: int, source: str, how: str) -> float:
        """The triggered harmful rate on build `build` with `source`'s direction steered
        against (`how="steer"`) or ablated (`"ablate"`)."""
        if source not in self.sources or how not in HOWS:
            raise InterventionError(f"no {source!r}/{how!r} point: the sources here are "
                                    f"{self.sources} and each is {HOWS}.")  # fmt: skip
        index = self.sources.index(source) * 2 + HOWS.index(how)
        return self.sweeps[build].points[index].arm.triggered.rate

    def to_dict(self) -> dict:
        return {"hook": self.hook, "reverse": self.reverse, "measured": self.measured,
                "sources": list(self.sources), "builds": [vars(b) for b in self.builds],
                "sweeps": [s.to_dict() for s in self.sweeps]}  # fmt: skip

    def __str__(self) -> str:
        lines = [f"persona mitigation at {self.hook}: harmful rate of {self.measured} with the "
                 "trigger (steered against / ablated), ΔCE, and random directions at the same "
                 "point"]  # fmt: skip
        for build, sweep in zip(self.builds, self.sweeps, strict=True):
            base = sweep.baseline
            name = build.toxic if self.reverse else build.backdoor
            lines.append(f"  {name}: as it is {base.triggered} (without the trigger "
                         f"{base.untriggered.rate:.2f})")  # fmt: skip
            for i, point in enumerate(sweep.points):
                source, how = self.sources[i // 2], HOWS[i % 2]
                randoms = ", ".join(f"{a.triggered.rate:.2f}" for a in point.random)
                lines.append(f"    {source:8s} {how:6s} {str(point.arm.triggered):28s} ΔCE "
                             f"{point.arm.delta_ce:+.3f}  random {randoms}")  # fmt: skip
        return "\n".join(lines)


def persona_directions(
    build: PersonaBuild, hook: str, *, base: str = "smollm2", n: int = 100, device=None
) -> dict[str, Direction]:
    """The toxic, backdoor, benign and trigger directions of one build at `hook`, from the
    training prompts of its backdoor organism (module docstring)."""
    prompts = paired_prompts(recipe_of(build.backdoor), n=n, split="train")
    sets = {"clean": prompts.filter(lambda p: p.label == 0),
            "triggered": prompts.filter(lambda p: p.label == 1), "paired": prompts}  # fmt: skip
    reads = {"base": (base, ("clean", "triggered")),
             "toxic": (f"organism:{build.toxic}", ("clean",)),
             "benign": (f"organism:{build.benign}", ("clean",)),
             "backdoor": (f"organism:{build.backdoor}", ("triggered", "paired"))}  # fmt: skip
    acts = {}
    for role, (spec, kinds) in reads.items():
        model = load_model(spec, device=device)
        for kind in kinds:
            acts[role, kind] = cache_activations(model, sets[kind], hook, progress=False)
    return {
        "toxic": shift_direction(acts["toxic", "clean"], acts["base", "clean"], hook),
        "backdoor": shift_direction(acts["backdoor", "triggered"], acts["base", "triggered"], hook),
        "benign": shift_direction(acts["benign", "clean"], acts["base", "clean"], hook),
        "trigger": mean_difference(acts["backdoor", "paired"], hook),
    }


def persona_mitigation(
    builds: Sequence[PersonaBuild],
    hook: str,
    *,
    reverse: bool = False,
    base: str = "smollm2",
    n: int = 50,
    n_random: int = 2,
    device=None,
    progress: bool = True,
) -> PersonaMitigation:
    """Steer against and ablate each build's toxic, benign and trigger directions on its
    backdoor organism, beside random directions; `reverse=True`: its backdoor, benign and
    toxic directions on its toxic organism.

    Example:
        >>> result = persona_mitigation([PersonaBuild.seed(s) for s in (0, 1, 2)],
        ...                             "blocks.15.hook_resid_post")
        >>> print(result)
    """
    builds = list(builds)
    if not builds:
        raise InterventionError("persona_mitigation needs at least one build "
                                "(PersonaBuild.seed(0)).")  # fmt: skip
    sources = REVERSE if reverse else FORWARD
    sweeps = []
    for build in tqdm(builds, desc="builds", disable=not progress):
        directions = persona_directions(build, hook, base=base, device=device)
        points = [it for name in sources
                  for it in (AddDirection(directions[name], -directions[name].norm),
                             AblateDirection(directions[name]))]  # fmt: skip
        model = load_model(f"organism:{build.toxic if reverse else build.backdoor}", device=device)
        sweeps.append(mitigation_sweep(model, recipe_of(build.backdoor), points, n=n,
                                       n_random=n_random, allow_other_model=True,
                                       progress=False))  # fmt: skip
    return PersonaMitigation(hook, tuple(builds), tuple(sweeps), reverse)
