"""Experiments that combine stages: each returns a frozen dataclass with `to_dict()`."""

from interp.experiments.defection import DefectionProbe, defection_probe
from interp.experiments.demo import DEMO_ORGANISMS, DemoResult, check_demo, run_demo
from interp.experiments.latent_clamp import ClampArm, LatentClamp, latent_clamp
from interp.experiments.persona import PersonaTable, persona_table, persona_table_of

__all__ = [
    "ClampArm",
    "LatentClamp",
    "latent_clamp",
    "DEMO_ORGANISMS",
    "DefectionProbe",
    "DemoResult",
    "PersonaTable",
    "check_demo",
    "defection_probe",
    "persona_table",
    "persona_table_of",
    "run_demo",
]
