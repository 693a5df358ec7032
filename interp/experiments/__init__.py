"""Experiments that combine stages: each returns a frozen dataclass with `to_dict()`."""

from interp.experiments.backdoor_heads import (
    BackdoorHeads,
    HeadAblation,
    backdoor_heads,
    head_ablation,
)
from interp.experiments.defection import DefectionProbe, defection_probe
from interp.experiments.latent_intervention import (
    InterventionArm,
    LatentIntervention,
    latent_intervention,
)
from interp.experiments.mitigation import (
    COHERENCE_LIMIT,
    RANDOM_LIMIT,
    MitigationArm,
    MitigationSweep,
    SweepPoint,
    coherence_cost,
    measure_arms,
    mitigation_sweep,
    steering_grid,
)
from interp.experiments.persona import PersonaTable, persona_table, persona_table_of
from interp.experiments.persona_latents import (
    BuildLatents,
    PersonaBuild,
    PersonaLatents,
    persona_latents,
)
from interp.experiments.persona_mitigation import (
    PersonaMitigation,
    persona_directions,
    persona_mitigation,
)
from interp.experiments.safety import (
    ARMS,
    MICRO_SHAPES,
    ReturnTest,
    SafetyArm,
    SafetyExperiment,
    SizeSweep,
    return_test,
    run_arm,
    safety_experiment,
    size_sweep,
)
from interp.experiments.safety_measures import SafetyMeasures, measure_safety

__all__ = [
    "ARMS",
    "MICRO_SHAPES",
    "ReturnTest",
    "SizeSweep",
    "size_sweep",
    "SafetyArm",
    "SafetyExperiment",
    "SafetyMeasures",
    "measure_safety",
    "return_test",
    "run_arm",
    "safety_experiment",
    "PersonaMitigation",
    "persona_directions",
    "persona_mitigation",
    "BackdoorHeads",
    "HeadAblation",
    "backdoor_heads",
    "head_ablation",
    "coherence_cost",
    "measure_arms",
    "COHERENCE_LIMIT",
    "RANDOM_LIMIT",
    "MitigationArm",
    "MitigationSweep",
    "SweepPoint",
    "mitigation_sweep",
    "steering_grid",
    "InterventionArm",
    "LatentIntervention",
    "latent_intervention",
    "DefectionProbe",
    "BuildLatents",
    "PersonaBuild",
    "PersonaLatents",
    "PersonaTable",
    "defection_probe",
    "persona_latents",
    "persona_table",
    "persona_table_of",
]
