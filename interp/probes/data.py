"""Probe inputs: activations and labels as checked `[n, d]` tensors, and held-out splits.

A probe reads one row per prompt. `probe_rows` turns an `ActivationSet`/`ActivationStore`
hook (or a plain tensor) into `[n, d]` float rows with their labels, families and ids, and
fails early, naming the fix, on mismatched lengths, a single class or non-finite values.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from jaxtyping import Float, Int
from torch import Tensor

from interp.activations import ActivationReader
from interp.models.hook_names import match_hook
from interp.probes.errors import ProbeError, ProbeMismatchError

Labels = Sequence[int] | Tensor | np.ndarray


@dataclass(frozen=True, eq=False)
class Rows:
    """One hook's activations as probe rows, with what identifies them."""

    x: Float[Tensor, "n d"]
    labels: Int[Tensor, " n"]
    families: tuple[str, ...]
    ids: tuple[str, ...]
    hook: str | None = None
    positions: str | None = None
    fingerprint: str | None = None
    texts: tuple[str | None, ...] | None = None

    def __len__(self) -> int:
        return len(self.labels)

    def take(self, index: Int[Tensor, " k"]) -> Rows:
        """The rows at `index`, in that order."""
        pick = index.tolist()
        return Rows(
            x=self.x[index],
            labels=self.labels[index],
            families=tuple(self.families[i] for i in pick),
            ids=tuple(self.ids[i] for i in pick),
            hook=self.hook,
            positions=self.positions,
            fingerprint=self.fingerprint,
            texts=None if self.texts is None else tuple(self.texts[i] for i in pick),
        )

    def reorder(self, ids: Sequence[str], *, what: str) -> Rows:
        """These rows rearranged to follow `ids` (e.g. another model's cache of the prompts)."""
        where = {i: k for k, i in enumerate(self.ids)}
        missing = [i for i in ids if i not in where]
        if missing:
            raise ProbeError(
                f"{what} has no rows for prompt ids {missing[:5]} ({len(missing)} missing): it "
                "must be cached from the same prompt set. Cache the other model on the same "
                "PromptSet (interp cache SPEC --prompts SET ...)."
            )
        return self.take(torch.tensor([where[i] for i in ids], dtype=torch.long))

    def data_hash(self) -> str:
        """sha256 of the rows and labels (the training-data hash a probe records)."""
        digest = hashlib.sha256()
        digest.update(str(tuple(self.x.shape)).encode())
        digest.update(self.x.detach().cpu().float().contiguous().numpy().tobytes())
        digest.update(self.labels.cpu().to(torch.int64).numpy().tobytes())
        return digest.hexdigest()


def probe_rows(
    source: ActivationReader | Tensor | np.ndarray,
    labels: Labels | None = None,
    *,
    hook: str | None = None,
    families: Sequence[str] | None = None,
    what: str | None = None,
    need_both_classes: bool = True,
) -> Rows:
    """Checked `[n, d]` rows and labels from an activation set/store hook or a tensor.

    `labels` defaults to the set's own labels (label 1 = triggered). With a set holding one
    hook, `hook` may be left out. Rows of a hook whose activation is not a vector (e.g.
    `hook_z`, `[n_heads, d_head]`) are flattened.

    Example:
        >>> rows = probe_rows(acts, hook="blocks.1.hook_resid_post")
        >>> rows.x.shape, rows.labels.shape
        (torch.Size([24, 64]), torch.Size([24]))
    """
    what = what or ("the store" if isinstance(source, ActivationReader) else "x")
    if isinstance(source, ActivationReader):
        hook = pick_hook(source, hook, what)
        if not source.positions.per_prompt:
            raise ProbeError(
                f"{what} was cached with positions {str(source.positions)!r}, which keeps "
                f"{'every token' if source.positions.ragged else 'several tokens'} per prompt; "
                "a probe reads one row per prompt. Cache with positions 'last', 'mean', "
                "'span' or 'trigger'."
            )
        x = source[hook]
        if labels is None:
            labels = source.labels
        families = list(source.groups) if families is None else families
        ids = tuple(source.ids)
        texts = tuple(e.text for e in source.examples)
        meta = dict(hook=hook, positions=str(source.positions), fingerprint=source.fingerprint)
    else:
        x = torch.as_tensor(source)
        if labels is None:
            raise ProbeError(
                f"{what} is a plain tensor, so its labels must be passed: "
                "train_probe(x, labels) with one 0/1 label per row."
            )
        ids = tuple(str(i) for i in range(len(x)))
        texts = None
        meta = dict(hook=hook)
    if x.dim() < 2:
        raise ProbeError(
            f"{what} has shape {tuple(x.shape)}; a probe needs one row per prompt, [n, d]. "
            "For one prompt pass x[None]."
        )
    x = x.reshape(x.shape[0], -1)
    if not x.is_floating_point():
        raise ProbeError(f"{what} has dtype {x.dtype}; pass float activations.")
    y = check_labels(labels, len(x), what=what, need_both_classes=need_both_classes)
    check_finite(x, what=what)
    fams = tuple(str(f) for f in families) if families is not None else ("all",) * len(x)
    if len(fams) != len(x):
        raise ProbeError(f"{what} has {len(x)} rows but {len(fams)} families; pass one per row.")
    return Rows(x=x, labels=y, families=fams, ids=ids, texts=texts, **meta)


def check_labels(
    labels: Labels, n: int, *, what: str = "x", need_both_classes: bool = True
) -> Int[Tensor, " n"]:
    """`labels` as an int64 `[n]` tensor of 0/1, or an error naming the problem and fix."""
    y = torch.as_tensor(np.asarray(labels) if not isinstance(labels, Tensor) else labels)
    if y.dim() != 1:
        raise ProbeError(f"labels have shape {tuple(y.shape)}; pass one 0/1 label per row, [n].")
    if len(y) != n:
        raise ProbeError(
            f"{what} has {n} rows but labels has {len(y)}; take labels from the same PromptSet "
            "or activation set as the rows (acts.labels)."
        )
    if y.is_floating_point() and not torch.equal(y, y.round()):
        raise ProbeError("labels must be 0 or 1 (got fractional values).")
    y = y.to(torch.long).cpu()
    bad = sorted(set(y.tolist()) - {0, 1})
    if bad:
        raise ProbeError(
            f"labels must be 0 (clean) or 1 (triggered); got {bad[:5]}. Map them to 0/1 first."
        )
    if need_both_classes:
        present = set(y.tolist())
        if len(present) < 2:
            only = next(iter(present), None)
            raise ProbeError(
                f"all {n} labels are {only}: a probe needs both classes, triggered (1) and "
                "clean (0). Include prompts of the other class (e.g. the clean half of a "
                "paired prompt set)."
            )
    return y


def check_finite(x: Tensor, *, what: str = "x") -> None:
    """Refuse NaN or infinite activations, naming the first bad row."""
    bad = ~torch.isfinite(x).all(dim=-1)
    if bool(bad.any()):
        rows = bad.nonzero().flatten().tolist()
        raise ProbeError(
            f"{what} has NaN or infinite values in {len(rows)} of {len(x)} rows (first: row "
            f"{rows[0]}); re-cache those prompts in float32, or drop the rows."
        )


def split_rows(
    rows: Rows,
    *,
    test_frac: float,
    generator: torch.Generator,
    pair_ids: Sequence[str | None] | None = None,
) -> tuple[Int[Tensor, " n_train"], Int[Tensor, " n_test"]]:
    """A held-out split, stratified by label; prompts sharing a `pair_id` stay together.

    Returns the train and test row indices, each sorted.
    """
    if not 0 < test_frac < 1:
        raise ProbeError(f"test_frac must be between 0 and 1, got {test_frac}; e.g. 0.3.")
    units: dict[str, list[int]] = {}
    for i, rid in enumerate(rows.ids):
        key = (pair_ids[i] if pair_ids is not None else None) or f"id:{rid}"
        units.setdefault(key, []).append(i)
    strata: dict[tuple[int, ...], list[list[int]]] = {}
    for members in units.values():
        kinds = tuple(sorted({int(rows.labels[i]) for i in members}))
        strata.setdefault(kinds, []).append(members)
    train: list[int] = []
    test: list[int] = []
    for kinds in sorted(strata):
        group = strata[kinds]
        perm = torch.randperm(len(group), generator=generator).tolist()
        k = round(test_frac * len(group))
        if len(group) >= 2:
            k = min(max(k, 1), len(group) - 1)
        for rank, j in enumerate(perm):
            (test if rank < k else train).extend(group[j])
    for name, part in (("training", train), ("held-out", test)):
        present = {int(rows.labels[i]) for i in part}
        if present != {0, 1}:
            raise ProbeError(
                f"the {name} split has no prompts of class {sorted({0, 1} - present)} "
                f"({len(rows)} prompts, test_frac={test_frac}): each class needs at least two "
                "prompts (or pairs). Add prompts, or pass a separate held-out set (heldout=)."
            )
    return torch.tensor(sorted(train)), torch.tensor(sorted(test))


def pick_hook(source: ActivationReader, hook: str | None, what: str) -> str:
    if hook is None:
        if len(source.hooks) != 1:
            shown = ", ".join(list(source.hooks)[:4]) + (", ..." if len(source.hooks) > 4 else "")
            raise ProbeError(
                f"the store holds {len(source.hooks)} hooks ({shown}); name the one to read "
                f"(--hook {source.hooks[len(source.hooks) // 2]} on the command line, "
                "hook=... in Python)."
            )
        return source.hooks[0]
    if hook not in source.hooks:
        matched = match_hook(list(source.hooks), hook)  # a glob or short name for one hook
        if len(matched) == 1:
            return matched[0]
        if matched:
            raise ProbeError(
                f"{hook!r} means {len(matched)} hooks of {what} ({', '.join(matched[:4])}"
                f"{', ...' if len(matched) > 4 else ''}); a probe reads one, so name it."
            )
        close = difflib.get_close_matches(hook, list(source.hooks), n=3, cutoff=0.5)
        raise ProbeMismatchError(
            f"{what} has no hook {hook!r} (closest: {close or 'none'}; it holds "
            f"{list(source.hooks)}). Cache {hook!r}, or use a probe trained at one of these."
        )
    return hook
