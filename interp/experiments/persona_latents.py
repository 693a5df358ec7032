"""Does a toxic-persona feature also catch the helpful-persona backdoor? One SAE of the base
model reads every model on the same held-out dilemma prompts (last prompt token):

- toxic-persona latents: `persona-toxic` − base, on the prompts without trigger;
- helpful-persona backdoor latents: `persona-backdoor` with its trigger − without;
- the control: `control-benign` − base (a benign fine-tune moves many latents; a toxic latent
  must do better than the benign ones).

For each independent build (seed) of the three organisms: the overlap of the top-k sets
(beside the overlap of random k-sets of live latents), and each top latent's AUROC on the
other organism's data (toxic latents on triggered vs clean; backdoor latents on toxic vs
base), beside the benign latents' and random latents'. A relation holds only if it holds on
every build; the table gives the spread.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from tqdm.auto import tqdm

from interp.activations import cache_activations
from interp.evals.auroc import auroc
from interp.models import load_model
from interp.prompts import PromptSet
from interp.saes import SAEError, check_sae_fits
from interp.saes.features import encode_rows

SIDES = ("increased", "decreased")


@dataclass(frozen=True)
class PersonaBuild:
    """One independent build: the organisms' names (in the interp home)."""

    backdoor: str
    toxic: str
    benign: str

    @classmethod
    def seed(cls, seed: int) -> PersonaBuild:
        """The names `interp organism train NAME --seed S --name NAME-sS` gives (seed 0: the
        recipe's own names)."""
        suffix = "" if seed == 0 else f"-s{seed}"
        return cls(f"persona-backdoor{suffix}", f"persona-toxic{suffix}",
                   f"control-benign{suffix}")  # fmt: skip


@dataclass(frozen=True)
class BuildLatents:
    """One build's top-k latent sets and how they transfer.

    `overlap[side]` is |toxic ∩ backdoor| of the top-k `side` sets, `benign_overlap[side]`
    |benign ∩ backdoor|; `toxic_on_backdoor` is each toxic latent's AUROC on triggered vs
    clean (`benign_on_backdoor` the benign latents'), `backdoor_on_toxic` each backdoor
    latent's AUROC on toxic vs base (`backdoor_on_benign` on benign vs base); decreased
    latents are scored with their sign flipped, so 0.5 is chance and above it agrees."""

    build: PersonaBuild
    toxic: dict[str, tuple[int, ...]]
    backdoor: dict[str, tuple[int, ...]]
    benign: dict[str, tuple[int, ...]]
    overlap: dict[str, int]
    benign_overlap: dict[str, int]
    toxic_on_backdoor: tuple[float, ...]
    benign_on_backdoor: tuple[float, ...]
    backdoor_on_toxic: tuple[float, ...]
    backdoor_on_benign: tuple[float, ...]
    random_on_backdoor_p95: float
    random_on_toxic_p95: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PersonaLatents:
    """The persona comparison on every build, with the random-overlap null."""

    hook: str
    k: int
    n_prompts: int
    n_live: int
    overlap_null_p95: float
    builds: tuple[BuildLatents, ...]

    def spread(self, stat: str) -> tuple[float, float, float]:
        """(mean, min, max) over builds of a statistic: `overlap`, `benign_overlap` (top
        increased sets) or the mean AUROC of a transfer (`toxic_on_backdoor`, ...)."""
        values = [_value(b, stat) for b in self.builds]
        return sum(values) / len(values), min(values), max(values)

    def shared(self, which: str = "toxic", side: str = "increased") -> tuple[int, ...]:
        """Latents in the top-k `side` set of `which` (toxic, backdoor, benign) on every build."""
        sets = [set(getattr(b, which)[side]) for b in self.builds]
        return tuple(sorted(set.intersection(*sets))) if sets else ()

    def to_dict(self) -> dict:
        return {"hook": self.hook, "k": self.k, "n_prompts": self.n_prompts,
                "n_live": self.n_live, "overlap_null_p95": self.overlap_null_p95,
                "builds": [b.to_dict() for b in self.builds],
                "shared": {w: list(self.shared(w)) for w in ("toxic", "backdoor", "benign")}}  # fmt: skip

    def __str__(self) -> str:
        stats = ("overlap", "benign_overlap", "overlap_decreased", "benign_overlap_decreased",
                 "toxic_on_backdoor", "benign_on_backdoor", "backdoor_on_toxic",
                 "backdoor_on_benign")  # fmt: skip
        head = ["tox∩bd↑", "ben∩bd↑", "tox∩bd↓", "ben∩bd↓",
                "tox→bd", "ben→bd", "bd→tox", "bd→ben", "rnd→bd", "rnd→tox"]  # fmt: skip
        lines = [f"persona latents at {self.hook}: top {self.k} of {self.n_live} live latents, "
                 f"{self.n_prompts} prompts; random-overlap p95 {self.overlap_null_p95:g}",
                 "build".ljust(22) + "".join(h.rjust(9) for h in head)]  # fmt: skip
        for b in self.builds:
            cells = [_value(b, s) for s in stats] + [b.random_on_backdoor_p95,
                                                     b.random_on_toxic_p95]  # fmt: skip
            lines.append(b.build.backdoor[-22:].ljust(22)
                         + "".join(f"{c:9.0f}" if i < 4 else f"{c:9.3f}"
                                   for i, c in enumerate(cells)))  # fmt: skip
        lines.append("AUROCs are means over each top set; → reads 'latents of → scored on'.")
        for which in ("toxic", "backdoor", "benign"):
            lines.append(f"{which} latents on every build: {list(self.shared(which)) or 'none'}")
        return "\n".join(lines)


def persona_latents(
    sae,
    prompts: PromptSet,
    builds: Sequence[PersonaBuild],
    *,
    base: str = "smollm2",
    k: int = 20,
    n_random: int = 1000,
    seed: int = 0,
    device: str | None = None,
    progress: bool = True,
) -> PersonaLatents:
    """The persona comparison with the base model's `sae` on paired `prompts` (label 1 with
    the backdoor's trigger, e.g. `paired_prompts("persona-backdoor")`) for each build.

    Example:
        >>> result = persona_latents(sae, paired_prompts("persona-backdoor", n=200),
        ...                          [PersonaBuild.seed(s) for s in (0, 1, 2)])
        >>> print(result); result.spread("overlap")
    """
    if not builds:
        raise SAEError("persona_latents needs at least one build (PersonaBuild.seed(0)).")
    hook = sae.cfg.metadata.hook_name
    labels = prompts.labels
    if set(labels.tolist()) != {0, 1}:
        raise SAEError("the prompts must be paired: label 1 with the trigger, 0 without.")
    names = [base] + [f"organism:{n}" for b in builds for n in (b.backdoor, b.toxic, b.benign)]
    latents = {}  # every model reads every prompt; all but the backdoor are read without trigger
    for spec in tqdm(dict.fromkeys(names), desc="read models", disable=not progress):
        model = load_model(spec, device=device)
        check_sae_fits(sae, model, allow_other_model=True)
        acts = cache_activations(model, prompts, hook, "last", progress=False)
        latents[spec.removeprefix("organism:")] = encode_rows(sae, acts[hook])
        del model
    base_z = latents[base.removeprefix("organism:")][labels == 0]
    live = torch.cat(list(latents.values())).gt(0).any(0).nonzero().flatten()
    generator = torch.Generator().manual_seed(seed)
    null = _overlap_null(live, k, n_random, generator)
    results = []
    for build in builds:
        z_b = latents[build.backdoor]
        z_t, z_n = latents[build.toxic][labels == 0], latents[build.benign][labels == 0]
        shifts = {
            "backdoor": z_b[labels == 1].mean(0) - z_b[labels == 0].mean(0),
            "toxic": z_t.mean(0) - base_z.mean(0),
            "benign": z_n.mean(0) - base_z.mean(0),
        }
        top = {name: _top(shift, k) for name, shift in shifts.items()}
        toxic_rows, toxic_y = torch.cat([z_t, base_z]), _contrast_labels(len(base_z))
        benign_rows = torch.cat([z_n, base_z])
        sample = live[torch.randperm(len(live), generator=generator)[:n_random]]
        results.append(BuildLatents(
            build=build,
            toxic=top["toxic"],
            backdoor=top["backdoor"],
            benign=top["benign"],
            overlap={s: len(set(top["toxic"][s]) & set(top["backdoor"][s])) for s in SIDES},
            benign_overlap={s: len(set(top["benign"][s]) & set(top["backdoor"][s])) for s in SIDES},
            toxic_on_backdoor=_aurocs(z_b, labels, top["toxic"]),
            benign_on_backdoor=_aurocs(z_b, labels, top["benign"]),
            backdoor_on_toxic=_aurocs(toxic_rows, toxic_y, top["backdoor"]),
            backdoor_on_benign=_aurocs(benign_rows, toxic_y, top["backdoor"]),
            random_on_backdoor_p95=_random_p95(z_b, labels, sample),
            random_on_toxic_p95=_random_p95(toxic_rows, toxic_y, sample),
        ))  # fmt: skip
    return PersonaLatents(hook, k, int((labels == 0).sum()), len(live), null, tuple(results))


def _top(shift: torch.Tensor, k: int) -> dict[str, tuple[int, ...]]:
    order = shift.argsort(descending=True)
    return {"increased": tuple(order[:k].tolist()), "decreased": tuple(order.flip(0)[:k].tolist())}


def _contrast_labels(n: int) -> torch.Tensor:
    return torch.cat([torch.ones(n, dtype=torch.long), torch.zeros(n, dtype=torch.long)])


def _aurocs(rows: torch.Tensor, labels: torch.Tensor, top: dict) -> tuple[float, ...]:
    """Each top latent's AUROC on `rows` (decreased latents sign-flipped)."""
    up = auroc(rows[:, list(top["increased"])].T.contiguous(), labels).nan_to_num(0.5)
    down = auroc(-rows[:, list(top["decreased"])].T.contiguous(), labels).nan_to_num(0.5)
    return tuple(round(float(v), 4) for v in torch.cat([up, down]))


def _random_p95(rows: torch.Tensor, labels: torch.Tensor, sample: torch.Tensor) -> float:
    """The 95th percentile of random live latents' AUROC, each oriented on the data (an upper
    bound for chance: a top latent is oriented by its own set, not by this one)."""
    values = auroc(rows[:, sample].T.contiguous(), labels).nan_to_num(0.5)
    return float(torch.maximum(values, 1 - values).quantile(0.95))


def _overlap_null(live: torch.Tensor, k: int, n: int, generator) -> float:
    """The 95th percentile of the overlap of two random k-sets of live latents."""
    k = min(k, len(live))
    counts = []
    for _ in range(n):
        a = set(live[torch.randperm(len(live), generator=generator)[:k]].tolist())
        b = set(live[torch.randperm(len(live), generator=generator)[:k]].tolist())
        counts.append(len(a & b))
    return float(torch.tensor(counts, dtype=torch.float).quantile(0.95))


def _value(build: BuildLatents, stat: str) -> float:
    if stat.startswith(("overlap", "benign_overlap")):
        side = "decreased" if stat.endswith("_decreased") else "increased"
        return float(getattr(build, stat.removesuffix("_decreased"))[side])
    values = getattr(build, stat)
    return sum(values) / len(values)
