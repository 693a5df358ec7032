"""Safety training on organisms (SFT, RL, adversarial, and the benign return test): an
organism in, an organism out, with its parent recorded in the card."""

from interp.organisms.safety.config import METHODS, SafetyConfig, SafetyError
from interp.organisms.safety.redteam import RedTeam, RedTeamPrompt, red_team, rescore
from interp.organisms.safety.rl import safety_rl
from interp.organisms.safety.train import adversarial_training, benign_training, safety_sft

__all__ = [
    "METHODS",
    "RedTeam",
    "RedTeamPrompt",
    "SafetyConfig",
    "SafetyError",
    "adversarial_training",
    "benign_training",
    "red_team",
    "rescore",
    "safety_rl",
    "safety_sft",
]
