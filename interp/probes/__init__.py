"""Linear probes with controls: methods, held-out sweeps, generalisation, plots."""

from interp.probes.errors import ProbeError, ProbeMismatchError
from interp.probes.generalisation import GeneralisationMatrix, generalisation_matrix
from interp.probes.layer_choice import (
    LAYER_RULES,
    AboveControls,
    HighestAUROC,
    LayerRule,
    choose_layer,
)
from interp.probes.methods import METHODS, ProbeConfig, fit_directions, fit_logistic
from interp.probes.metrics import (
    FamilyFPR,
    Interval,
    auroc,
    bootstrap_auroc,
    fpr_by_family,
    threshold_at_recall,
)
from interp.probes.model_diff import model_contrast
from interp.probes.probe import Probe
from interp.probes.results import ControlScore, HookBaseline, ProbeResult, SweepResult
from interp.probes.scoring import ProbeScore, score_probe
from interp.probes.sweep import probe_sweep
from interp.probes.sweep_config import SweepConfig
from interp.probes.train import train_probe

__all__ = [
    "LAYER_RULES",
    "METHODS",
    "AboveControls",
    "ControlScore",
    "FamilyFPR",
    "GeneralisationMatrix",
    "HighestAUROC",
    "HookBaseline",
    "Interval",
    "LayerRule",
    "Probe",
    "ProbeConfig",
    "ProbeError",
    "ProbeMismatchError",
    "ProbeResult",
    "ProbeScore",
    "SweepConfig",
    "SweepResult",
    "auroc",
    "bootstrap_auroc",
    "choose_layer",
    "fit_directions",
    "fit_logistic",
    "fpr_by_family",
    "generalisation_matrix",
    "model_contrast",
    "probe_sweep",
    "score_probe",
    "threshold_at_recall",
    "train_probe",
]
