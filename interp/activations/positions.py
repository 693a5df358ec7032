"""Position rules: which token positions of each prompt are kept.

A rule turns one prompt's tokens into a list of positions (0 = first token). `last`, `mean`,
`span` and `trigger` give one row per prompt (`[n, d]`), explicit indices give `[n, k, d]`,
and `all` keeps every prompt token in a flat `[total tokens, d]` layout with per-prompt
lengths beside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from interp.activations.errors import ActivationsError

Kind = Literal["last", "mean", "span", "trigger", "all", "indices"]
NAMED: tuple[str, ...] = ("last", "mean", "span", "trigger", "all")
#: Rules whose tokens come from a marked substring of the prompt.
MARKED: tuple[str, ...] = ("span", "trigger")

RULES_HELP = (
    "positions is 'last' (last prompt token), 'mean' (mean over the prompt tokens), 'span' "
    "(mean over the tokens of each prompt's meta['span'] substring), 'trigger' (mean over the "
    "trigger's tokens), 'all' (every token, ragged) or a list of token indices such as [-1, -2]"
)


@dataclass(frozen=True)
class Positions:
    """A position rule.

    Example:
        >>> Positions.parse("last").per_prompt
        True
        >>> Positions.parse([-1, -2]).row_prefix
        (2,)
    """

    kind: Kind
    indices: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in (*NAMED, "indices"):
            raise ActivationsError(f"unknown position rule {self.kind!r}; {RULES_HELP}.")
        if (self.kind == "indices") != bool(self.indices):
            raise ActivationsError(
                "explicit positions need at least one index (e.g. [-1]) and only kind "
                f"'indices' takes them; got kind={self.kind!r}, indices={self.indices}."
            )

    @classmethod
    def parse(cls, value: str | int | Sequence[int] | Positions) -> Positions:
        """Read a rule from a name, an index, a list of indices or a string like '-1,-2'."""
        if isinstance(value, Positions):
            return value
        if isinstance(value, bool):
            raise ActivationsError(f"{value!r} is not a position rule; {RULES_HELP}.")
        if isinstance(value, int):
            return cls("indices", (value,))
        if isinstance(value, str):
            text = value.strip()
            if text in NAMED:
                return cls(text)  # type: ignore[arg-type]
            try:
                return cls("indices", tuple(int(part) for part in text.strip("[]").split(",")))
            except ValueError:
                raise ActivationsError(f"unknown position rule {value!r}; {RULES_HELP}.") from None
        if isinstance(value, Sequence) and value and all(isinstance(i, int) for i in value):
            return cls("indices", tuple(int(i) for i in value))
        raise ActivationsError(f"{value!r} is not a position rule; {RULES_HELP}.")

    @property
    def per_prompt(self) -> bool:
        """True when the rule keeps one row per prompt (`[n, d]`)."""
        return self.kind in ("last", "mean", "span", "trigger")

    @property
    def ragged(self) -> bool:
        """True for `all`: a different number of rows per prompt, stored flat."""
        return self.kind == "all"

    @property
    def averages(self) -> bool:
        """True when several tokens are averaged into one row."""
        return self.kind in ("mean", "span", "trigger")

    @property
    def picks_tokens(self) -> bool:
        """True when each row is one token (so its token id is kept beside it)."""
        return self.kind in ("last", "indices", "all")

    @property
    def row_prefix(self) -> tuple[int, ...]:
        """Dimensions between the prompt and the activation: `(k,)` for k indices, else `()`."""
        return (len(self.indices),) if self.kind == "indices" else ()

    def to_dict(self) -> dict:
        return {"kind": self.kind, "indices": list(self.indices)}

    def to_json(self) -> str | list[int]:
        return list(self.indices) if self.kind == "indices" else self.kind

    @classmethod
    def from_json(cls, value: str | list[int]) -> Positions:
        return cls.parse(value)

    def __str__(self) -> str:
        return str(list(self.indices)) if self.kind == "indices" else self.kind

    def select(
        self,
        n_tokens: int,
        *,
        prompt_id: str,
        offsets: Sequence[tuple[int, int]] | None = None,
        marks: Sequence[tuple[int, int]] | None = None,
    ) -> list[int]:
        """The positions of one prompt of `n_tokens` tokens that this rule keeps.

        `offsets` are the tokens' character spans in the text and `marks` the character spans
        of the marked substring (for `span` and `trigger`).
        """
        if n_tokens == 0:
            raise ActivationsError(
                f"prompt {prompt_id!r} has no tokens; drop empty prompts before caching."
            )
        if self.kind == "last":
            return [n_tokens - 1]
        if self.kind in ("mean", "all"):
            return list(range(n_tokens))
        if self.kind == "indices":
            picked = [i if i >= 0 else n_tokens + i for i in self.indices]
            bad = [i for i, p in zip(self.indices, picked, strict=True) if not 0 <= p < n_tokens]
            if bad:
                raise ActivationsError(
                    f"position {bad[0]} is outside prompt {prompt_id!r}, which has {n_tokens} "
                    f"tokens (valid: {-n_tokens}..{n_tokens - 1}); use indices every prompt "
                    "has, or the 'last' or 'mean' rule."
                )
            return picked
        if offsets is None or marks is None:
            raise ActivationsError(f"rule {self.kind!r} needs token offsets and marked spans.")
        picked = [
            t
            for t, (a, b) in enumerate(offsets)
            if b > a and any(a < end and b > start for start, end in marks)
        ]
        if not picked:
            raise ActivationsError(
                f"the marked {self.kind} of prompt {prompt_id!r} covers no token; "
                "check that the mark is a non-empty substring of the prompt text."
            )
        return picked
