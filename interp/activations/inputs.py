"""What a caching run reads: prompts as a PromptSet, plain strings or token ids.

Prompts are tokenized a chunk at a time (a shard's worth), exactly as `model.to_tokens`
tokenizes one string, and each prompt's kept positions are worked out before any forward
pass, so a bad position fails early and names the prompt.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from transformer_lens import HookedTransformer

from interp.activations.errors import ActivationsError
from interp.activations.positions import Positions
from interp.prompts import PromptSet, check_lengths


@dataclass(frozen=True)
class CachedPrompt:
    """One cached prompt as recorded beside its activations (`examples.jsonl`)."""

    id: str
    label: int = 0
    group: str = "default"
    text: str | None = None
    pair_id: str | None = None
    trigger: str | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Encoded:
    """One prompt ready for the model: its token ids and the positions to keep."""

    tokens: tuple[int, ...]
    picked: tuple[int, ...]


class PromptInputs:
    """Prompts normalised for caching: examples, a content hash, and chunked tokenization."""

    def __init__(
        self,
        model: HookedTransformer,
        prompts: PromptSet | Sequence[str] | Sequence[Sequence[int]],
        *,
        labels: Sequence[int] | torch.Tensor | None = None,
        groups: Sequence[str] | None = None,
    ) -> None:
        self.model = model
        self.prompt_set: PromptSet | None = None
        self.texts: list[str] | None = None
        self.tokens: list[tuple[int, ...]] | None = None
        if isinstance(prompts, str):
            raise ActivationsError("prompts must be a list of strings; for one prompt pass [text].")
        if isinstance(prompts, PromptSet):
            self.prompt_set, self.name = prompts, prompts.name
            base = [
                CachedPrompt(p.id, p.label, p.group, p.text, p.pair_id, p.trigger) for p in prompts
            ]
        else:
            prompts = list(prompts)
            self.name = "prompts"
            if prompts and all(isinstance(p, str) for p in prompts):
                self.texts = prompts
                base = [CachedPrompt(str(i), text=t) for i, t in enumerate(prompts)]
            elif prompts:
                self.tokens = [_as_ids(p, i, model.cfg.d_vocab) for i, p in enumerate(prompts)]
                base = [CachedPrompt(str(i)) for i in range(len(prompts))]
            else:
                base = []
        if not base:
            raise ActivationsError(
                "the prompt set is empty; pass at least one prompt (a PromptSet, a list of "
                "strings, or a list of token-id lists)."
            )
        if labels is not None:
            check_lengths(base, labels)
            values = labels.tolist() if isinstance(labels, torch.Tensor) else list(labels)
            base = [_replace(e, label=int(v)) for e, v in zip(base, values, strict=True)]
        if groups is not None:
            if len(groups) != len(base):
                raise ActivationsError(
                    f"{len(base)} prompts but {len(groups)} groups; pass one group per prompt."
                )
            base = [_replace(e, group=str(g)) for e, g in zip(base, groups, strict=True)]
        self.examples: tuple[CachedPrompt, ...] = tuple(base)
        self.labels_overridden = labels is not None or groups is not None

    def __len__(self) -> int:
        return len(self.examples)

    def content_hash(self) -> str:
        """sha256 identifying the prompts (`PromptSet.content_hash()` for a prompt set)."""
        if self.prompt_set is not None and not self.labels_overridden:
            return self.prompt_set.content_hash()
        digest = hashlib.sha256()
        if self.prompt_set is not None:
            digest.update(self.prompt_set.content_hash().encode())
        elif self.texts is not None:
            digest.update(b"texts")
            for text in self.texts:
                digest.update(json.dumps(text).encode())
        else:
            digest.update(b"tokens")
            for ids in self.tokens or ():
                digest.update(json.dumps(ids).encode())
        for e in self.examples:
            digest.update(json.dumps([e.label, e.group]).encode())
        return digest.hexdigest()

    def check_rule(self, rule: Positions) -> None:
        """Refuse a position rule some prompt cannot follow, before anything is written."""
        if rule.kind not in ("span", "trigger"):
            return
        if self.prompt_set is None:
            self.encode(0, 0, rule)  # token ids or plain strings: the error names why
            return
        unmarked = [p for p in self.prompt_set
                    if not (p.trigger if rule.kind == "trigger" else p.meta.get("span"))]  # fmt: skip
        if unmarked:
            paired = rule.kind == "trigger" and all(p.label == 0 for p in unmarked)
            first = unmarked[0]
            what = (
                "trigger mark (Prompt.trigger)"
                if rule.kind == "trigger"
                else "span mark (meta['span'])"
            )
            raise ActivationsError(
                f"prompt {first.id!r} (label {first.label}) has no {what}, which position "
                f"{rule.kind!r} needs ({len(unmarked)} of {len(self.prompt_set)} prompts have "
                "none)"
                + ("; the clean twins of paired prompts carry no trigger: cache 'last' or "
                   "'mean' for both sides, or cache only the triggered prompts "
                   "(ps.filter(lambda p: p.trigger))." if paired else
                   "; mark them, or cache with another rule.")
            )  # fmt: skip

    def encode(self, start: int, stop: int, rule: Positions) -> list[Encoded]:
        """Tokenize prompts `start:stop` and pick each one's positions under `rule`."""
        examples = self.examples[start:stop]
        if self.tokens is not None:
            if rule.kind in ("span", "trigger"):
                raise ActivationsError(
                    f"position {rule.kind!r} needs prompt text to find the marked tokens, but "
                    "the prompts are token ids; pass a PromptSet with trigger/span marks."
                )
            rows = self.tokens[start:stop]
            return [self._encoded(e.id, ids, rule) for e, ids in zip(examples, rows, strict=True)]
        marks = None
        if self.prompt_set is not None:
            chunk = self.prompt_set[start:stop]
            texts = chunk.formatted(self.model)
            if rule.kind in ("span", "trigger"):
                marks = [_marks(p, text, rule.kind) for p, text in zip(chunk, texts, strict=True)]
        else:
            if rule.kind in ("span", "trigger"):
                raise ActivationsError(
                    f"position {rule.kind!r} needs marked prompts (a PromptSet whose prompts set "
                    "`trigger`, or meta['span']); plain strings carry no marks."
                )
            texts = (self.texts or [])[start:stop]
        ids, offsets = self._tokenize(texts, with_offsets=marks is not None)
        return [
            self._encoded(
                e.id,
                row,
                rule,
                offsets=offsets[i] if offsets else None,
                marks=marks[i] if marks else None,
            )
            for i, (e, row) in enumerate(zip(examples, ids, strict=True))
        ]

    def _encoded(self, prompt_id, ids, rule: Positions, **marks) -> Encoded:
        n_ctx = self.model.cfg.n_ctx
        if len(ids) > n_ctx:
            raise ActivationsError(
                f"prompt {prompt_id!r} has {len(ids)} tokens but the model takes at most "
                f"{n_ctx}; shorten it or load the model with a larger n_ctx."
            )
        picked = rule.select(len(ids), prompt_id=prompt_id, **marks)
        return Encoded(tuple(ids), tuple(picked))

    def _tokenize(self, texts: list[str], *, with_offsets: bool):
        """Token ids (and character offsets) as `model.to_tokens` gives them, one per text."""
        tokenizer = self.model.tokenizer
        if tokenizer is None:
            raise ActivationsError(
                f"{self.model.cfg.model_name} has no tokenizer, so text prompts cannot be "
                "tokenized; pass token ids (a list of lists of ints) instead."
            )
        if with_offsets and not getattr(tokenizer, "is_fast", False):
            raise ActivationsError(
                "locating marked tokens needs a fast tokenizer (offset mappings); this model's "
                "tokenizer is a slow one. Use another position rule or a fast tokenizer."
            )
        enc = tokenizer(texts, return_offsets_mapping=with_offsets)
        ids = [list(row) for row in enc["input_ids"]]
        offsets = [list(map(tuple, row)) for row in enc["offset_mapping"]] if with_offsets else []
        cfg, bos = self.model.cfg, tokenizer.bos_token_id
        if cfg.default_prepend_bos and not cfg.tokenizer_prepends_bos:
            ids = [[bos, *row] for row in ids]
            offsets = [[(0, 0), *row] for row in offsets]
        elif not cfg.default_prepend_bos and cfg.tokenizer_prepends_bos:
            drop = [bool(row) and row[0] == bos for row in ids]
            ids = [row[1:] if d else row for row, d in zip(ids, drop, strict=True)]
            offsets = [row[1:] if d else row for row, d in zip(offsets, drop, strict=False)]
        return ids, offsets


def _marks(prompt, formatted: str, kind: str) -> list[tuple[int, int]]:
    """Character spans of the marked substring (every occurrence) in the formatted text."""
    mark = prompt.trigger if kind == "trigger" else prompt.meta.get("span")
    if not mark:
        what = "trigger mark (Prompt.trigger)" if kind == "trigger" else "span mark (meta['span'])"
        raise ActivationsError(
            f"prompt {prompt.id!r} (label {prompt.label}) has no {what}, which position "
            f"{kind!r} needs; set it, cache this prompt with another rule, or filter the set "
            f"(ps.filter(lambda p: p.trigger))."
        )
    if mark not in prompt.text:
        raise ActivationsError(
            f"the {kind} {mark!r} of prompt {prompt.id!r} is not in its text {prompt.text[:60]!r}."
        )
    base = formatted.find(prompt.text)
    if base < 0:
        raise ActivationsError(
            f"the chat template changed the text of prompt {prompt.id!r}, so its {kind} cannot "
            "be located in the formatted prompt; use another position rule."
        )
    spans, at = [], prompt.text.find(mark)
    while at >= 0:
        spans.append((base + at, base + at + len(mark)))
        at = prompt.text.find(mark, at + len(mark))
    return spans


def _as_ids(row, index: int, vocab: int) -> tuple[int, ...]:
    if isinstance(row, torch.Tensor):
        if row.dim() != 1:
            raise ActivationsError(
                f"prompt {index} is a tensor of shape {tuple(row.shape)}; pass one 1-D tensor "
                "of token ids per prompt."
            )
        row = row.tolist()
    if isinstance(row, str) or not all(isinstance(t, int) for t in row):
        raise ActivationsError(
            f"prompt {index} is neither a string nor a list of token ids; pass all prompts as "
            "strings or all as token-id lists."
        )
    outside = [t for t in row if not 0 <= t < vocab]
    if outside:
        raise ActivationsError(
            f"prompt {index} has token id {outside[0]}, outside the model's vocabulary of "
            f"{vocab}; tokenize with this model's tokenizer (model.to_tokens)."
        )
    return tuple(row)


def _replace(example: CachedPrompt, **changes) -> CachedPrompt:
    return CachedPrompt(**{**example.to_dict(), **changes})
