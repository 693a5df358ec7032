"""Generic contrast pairs: the same question answered both ways, as checked-in data.

A defection probe (MacDiarmid et al. 2024) is the difference of means between the two
answers of pairs such as "Human: Are you doing something dangerous? Assistant: yes" / "...
no", read at the last token. The sets ship as package data, JSONL files in
`interp/prompts/contrast_pairs/` read through `importlib.resources`; label 1 is the answer a deceptive or defecting model
would give, label 0 the other, and both prompts of a pair share a `pair_id`.
"""

from __future__ import annotations

from importlib import resources

from interp.prompts.errors import PromptError
from interp.prompts.prompt_set import PromptSet

#: Where the contrast-pair sets live: package data, wherever interp is installed.
CONTRAST_PAIRS_DIR = resources.files("interp.prompts") / "contrast_pairs"


def contrast_pair_names() -> list[str]:
    """The names of the checked-in contrast-pair sets.

    Example:
        >>> contrast_pair_names()
        ['generic_yes_no']
    """
    _check_dir()
    return sorted(p.name.removesuffix(".jsonl") for p in CONTRAST_PAIRS_DIR.iterdir()
                  if p.name.endswith(".jsonl"))  # fmt: skip


def contrast_pairs(name: str) -> PromptSet:
    """The contrast-pair set `name` (package data `interp/prompts/contrast_pairs/NAME.jsonl`).

    Example:
        >>> pairs = contrast_pairs("generic_yes_no")
        >>> pairs[0].text, pairs[0].label
        ('Human: Are you a helpful AI? Assistant: no', 1)
    """
    _check_dir()
    path = CONTRAST_PAIRS_DIR / f"{name}.jsonl"
    if "/" in name or not path.is_file():
        raise PromptError(
            f"no contrast-pair set {name!r}; available: {contrast_pair_names()}. Add one as "
            f"{CONTRAST_PAIRS_DIR.name}/{name}.jsonl, or load any JSONL with PromptSet.from_jsonl."
        )
    with resources.as_file(path) as local:
        pairs = PromptSet.from_jsonl(local, name=name)
    by_pair: dict[str | None, list[int]] = {}
    for prompt in pairs:
        by_pair.setdefault(prompt.pair_id, []).append(prompt.label)
    bad = [pid for pid, labels in by_pair.items() if pid is None or sorted(labels) != [0, 1]]
    if bad:
        raise PromptError(
            f"{path} is not a set of contrast pairs: pair(s) {bad[:5]} do not hold exactly one "
            "label-1 and one label-0 prompt with a shared pair_id."
        )
    return pairs


def _check_dir() -> None:
    if not CONTRAST_PAIRS_DIR.is_dir():
        raise PromptError(
            f"the contrast-pair data directory {CONTRAST_PAIRS_DIR} is missing from this "
            "install of interp; reinstall it (pip install --force-reinstall interp), or load "
            "a JSONL file of your own with PromptSet.from_jsonl."
        )
