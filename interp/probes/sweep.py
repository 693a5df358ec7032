"""`probe_sweep`: every hook x method, scored on held-out prompts, against the controls.

Three ways to hold prompts out:

- `probe_sweep(acts)`: a seeded split of `acts` (stratified by label; a triggered prompt
  and its clean twin, sharing a `pair_id`, land on the same side);
- `probe_sweep(acts, train=pairs)`: fit on another set, e.g. generic contrast pairs (a
  defection probe), and evaluate on all of `acts`;
- `probe_sweep(acts, heldout=test)`: fit on all of `acts`, evaluate on `test`.

Random draws (split, random directions, bootstrap resamples) come from generators seeded
from `seed` and a fixed name each, so the same seed gives the same numbers, and turning one
control off leaves the others' numbers unchanged.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm

from interp.activations import ActivationReader
from interp.probes.alarms import sweep_warnings
from interp.probes.controls import (
    length_auroc,
    length_matched,
    random_direction_aurocs,
    random_directions,
    text_lengths,
)
from interp.probes.data import Rows, check_labels, pick_hook, probe_rows, split_rows
from interp.probes.errors import ProbeError, ProbeMismatchError
from interp.probes.methods import fit_directions
from interp.probes.metrics import (
    auroc,
    bootstrap_auroc,
    bootstrap_mean,
    fpr_by_family,
    stratified_resamples,
    threshold_at_recall,
)
from interp.probes.results import ControlScore, HookBaseline, ProbeResult, SweepResult
from interp.probes.sweep_config import DEFAULT_SWEEP, SweepConfig
from interp.probes.train import make_probe

#: Fewer held-out prompts than this in either class and the sweep says its numbers mean little.
MIN_PER_CLASS = 20
#: On a CPU, hooks are stacked together only while their rows fit in cache (a logistic fit
#: then takes them one at a time, each hook's design matrix staying in cache).
CPU_BATCH_BYTES = 8 << 20
GPU_BATCH_BYTES = 2 << 30


def probe_sweep(
    acts: ActivationReader,
    config: SweepConfig = DEFAULT_SWEEP,
    *,
    hooks: Sequence[str] | None = None,
    train: ActivationReader | None = None,
    heldout: ActivationReader | None = None,
    controls: Mapping[str, ActivationReader] | None = None,
    control_train: Mapping[str, ActivationReader] | None = None,
    device: str | torch.device | None = None,
    hook_batch: int | None = None,
    progress: bool = True,
    **options,
) -> SweepResult:
    """Fit a probe per hook x method and score it on held-out prompts, with controls.

    Args:
        acts: triggered (label 1) and clean (label 0) prompts' activations, one row per
            prompt (an `ActivationSet` or `ActivationStore`).
        config: the options (`SweepConfig`); any of its fields may also be passed by
            keyword (`methods=["logistic"]`, `n_random=0`, `seed=1`).
        hooks: hooks to sweep (default: all of `acts`'s).
        train / heldout: fit on another set / evaluate on another set (see module doc).
        controls: other models' activations of the same evaluation prompts, by name, e.g.
            `{"control-clean": ..., "control-benign": ..., "base": ...}`.
        control_train: those models' activations of the training prompts, when the
            training prompts are not part of `controls` (with `train=` or `heldout=`).

    The stages, in order: which rows fit and which score (`_plan`), per chunk of hooks the
    rows themselves, the random-direction baselines, the fits, the scores with their
    controls, and the summary with its warnings.

    Example:
        >>> sweep = probe_sweep(acts, methods=["diff_means", "logistic"],
        ...                     controls={"control-clean": clean_acts}, seed=0)
        >>> print(sweep)  # table, then any warnings
        >>> sweep.plot()
    """
    config = config.replace(**options) if options else config
    plan = _plan(acts, config, hooks, train, heldout, controls, control_train)
    dev = torch.device(device) if device else _default_device()
    results: list[ProbeResult] = []
    baselines: dict[str, HookBaseline] = {}
    random_dirs: dict[int, torch.Tensor] = {}  # per width, drawn once
    random_gen = _gen(config.seed, "random")
    bar = tqdm(total=len(plan.hooks), desc="hooks", disable=not progress or None, leave=False)
    for chunk in _chunks(plan.fit_src, plan.hooks, len(plan.fit_idx), dev, hook_batch):
        rows = _chunk_rows(plan, chunk, config)
        for k, hook in enumerate(chunk):
            baselines[hook] = _baseline(plan, rows, k, hook, config, random_dirs, random_gen, dev)
        for method in config.methods:
            fits = _fits(plan, rows, method, config, dev)
            results += [_score_hook(plan, rows, fits, k, hook, method, config)
                        for k, hook in enumerate(chunk)]  # fmt: skip
        bar.update(len(chunk))
    bar.close()
    return _summary(plan, results, baselines, config)


@dataclass(frozen=True)
class _Plan:
    """Which prompts fit and which are scored, and what every hook's scoring shares."""

    mode: str
    hooks: list[str]
    fit_src: ActivationReader
    eval_src: ActivationReader
    fit_idx: torch.Tensor
    eval_idx: torch.Tensor
    y_fit: torch.Tensor
    y_eval: torch.Tensor
    fit_ids: list[str]
    eval_ids: list[str]
    eval_families: list[str]
    resamples: torch.Tensor | None
    lengths: torch.Tensor | None
    length_auroc: float | None
    matched: torch.Tensor | None
    controls: dict[str, ActivationReader]
    control_fit: dict[str, ActivationReader]


def _plan(acts, config, hooks, train, heldout, controls, control_train) -> _Plan:
    """Stage 1, checked before any fit: the split, the labels, the resamples, the lengths."""
    if train is not None and heldout is not None:
        raise ProbeError(
            "pass train= (fit on another set, evaluate on acts) or heldout= (fit on acts, "
            "evaluate on another set), not both."
        )
    hooks = _resolve_hooks(acts, hooks)
    mode = "train" if train is not None else "heldout" if heldout is not None else "split"
    fit_src = train if train is not None else acts
    eval_src = heldout if heldout is not None else acts
    _same_model(fit_src, eval_src, "train=" if train is not None else "heldout=")
    controls = dict(controls or {})
    control_train = dict(control_train or {})
    unknown = set(control_train) - set(controls)
    if unknown:
        raise ProbeError(
            f"control_train names {sorted(unknown)} are not in controls {sorted(controls)}; "
            "give each control's evaluation activations in controls= too."
        )
    seed = config.seed
    fit_idx, eval_idx = _indices(mode, fit_src, eval_src, config.test_frac, _gen(seed, "split"))
    y_fit = check_labels(fit_src.labels[fit_idx], len(fit_idx), what="the training prompts")
    y_eval = check_labels(eval_src.labels[eval_idx], len(eval_idx), what="the held-out prompts")
    lengths = text_lengths([eval_src.examples[i].text for i in eval_idx.tolist()])
    matched = None
    if lengths is not None and config.length_match:
        matched = length_matched(lengths, y_eval)
        if matched is not None and len({int(v) for v in y_eval[matched]}) < 2:
            matched = None
    control_fit = {
        name: control_train.get(name, reader)
        for name, reader in controls.items()
        if name in control_train or mode == "split"
    }
    return _Plan(
        mode=mode,
        hooks=hooks,
        fit_src=fit_src,
        eval_src=eval_src,
        fit_idx=fit_idx,
        eval_idx=eval_idx,
        y_fit=y_fit,
        y_eval=y_eval,
        fit_ids=[fit_src.ids[i] for i in fit_idx.tolist()],
        eval_ids=[eval_src.ids[i] for i in eval_idx.tolist()],
        eval_families=[eval_src.groups[i] for i in eval_idx.tolist()],
        resamples=stratified_resamples(y_eval, config.n_bootstrap, _gen(seed, "bootstrap")),
        lengths=lengths,
        length_auroc=length_auroc(lengths, y_eval) if lengths is not None else None,
        matched=matched,
        controls=controls,
        control_fit=control_fit,
    )


@dataclass(frozen=True)
class _ChunkRows:
    """Stage 2: the rows of one chunk of hooks, for the model and for each control."""

    fit: list[Rows]
    eval: list[Rows]
    control_eval: dict[str, list[Rows]]
    control_fit: dict[str, list[Rows]]


def _chunk_rows(plan: _Plan, chunk: list[str], config: SweepConfig) -> _ChunkRows:
    fit_rows, eval_rows = _rows(plan.fit_src, plan.eval_src, chunk, plan.fit_idx, plan.eval_idx)
    fit_ids = plan.fit_ids if plan.mode == "split" else None
    return _ChunkRows(
        fit=fit_rows,
        eval=eval_rows,
        control_eval={
            n: [_control_rows(r, h, plan.eval_ids, plan.y_eval, n) for h in chunk]
            for n, r in plan.controls.items()
        },
        control_fit={
            n: [_control_fit_rows(r, h, fit_ids, n) for h in chunk]
            for n, r in plan.control_fit.items()
            if config.refit_controls
        },
    )


def _baseline(plan, rows: _ChunkRows, k, hook, config, random_dirs, generator, dev) -> HookBaseline:
    """Stage 3: random directions at one hook (drawn once per width, seeded)."""
    if not config.n_random:
        return HookBaseline(hook=hook)
    d = rows.fit[k].x.shape[1]
    if d not in random_dirs:
        random_dirs[d] = random_directions(d, config.n_random, generator)
    values = random_direction_aurocs(
        rows.fit[k].x.to(dev), plan.y_fit, rows.eval[k].x, plan.y_eval, random_dirs[d]
    )
    return HookBaseline(
        hook=hook,
        random_best=float(values.max()),
        random_p95=float(torch.quantile(values, 0.95)),
        n_random=config.n_random,
    )


def _fits(plan, rows: _ChunkRows, method, config, dev):
    """Stage 4: one method's directions at every hook of the chunk, and on each control."""
    x_fit = torch.stack([r.x for r in rows.fit]).to(dev)
    w, b = fit_directions(x_fit, plan.y_fit, method, config.probe)
    del x_fit
    refits = {}
    for name, control in rows.control_fit.items():
        x = torch.stack([r.x for r in control]).to(dev)
        wc, bc = fit_directions(x, control[0].labels, method, config.probe)
        refits[name] = (wc.cpu(), bc.cpu())
    return w, b, refits


def _score_hook(plan, rows: _ChunkRows, fits, k, hook, method, config) -> ProbeResult:
    """Stage 5: the probe at one hook, scored on the held-out prompts and the controls."""
    w, b, refits = fits
    probe = make_probe(rows.fit[k], method, config.probe, w[k], float(b[k]))
    y = plan.y_eval
    controls = []
    for name in plan.controls:
        c_eval = rows.control_eval[name][k].x
        applied = float(auroc(probe.score(c_eval), y))
        refit = transfer = None
        if name in refits:
            wc, bc = refits[name]
            direction = wc[k].to(torch.float64)
            refit = float(auroc(c_eval.double() @ direction + bc[k], y))
            transfer = float(auroc(rows.eval[k].x.double() @ direction + bc[k], y))
        controls.append(ControlScore(name, applied, refit, transfer))
    return _score(
        hook, method, probe, probe.score(rows.eval[k].x), y, plan.eval_families,
        plan.resamples, config.recall, controls, plan.matched,
    )  # fmt: skip


def _summary(plan: _Plan, results, baselines, config: SweepConfig) -> SweepResult:
    """Stage 6: results in hook × method order, with probe metrics, settings and warnings."""
    order = {
        (h, m): i for i, (h, m) in enumerate((h, m) for h in plan.hooks for m in config.methods)
    }
    results = sorted(results, key=lambda r: order[(r.hook, r.method)])
    results = [_with_probe_metrics(r, baselines[r.hook], plan.length_auroc) for r in results]
    eval_src = plan.eval_src
    settings = {
        "seed": config.seed,
        "test_frac": config.test_frac if plan.mode == "split" else None,
        "n_random": config.n_random,
        "n_bootstrap": config.n_bootstrap,
        "recall": config.recall,
        "alarm": config.alarm,
        "refit_controls": config.refit_controls,
        "length_match": config.length_match,
        "controls": sorted(plan.controls),
        "config": config.probe.to_dict(),
        "fingerprint": eval_src.fingerprint,
        "positions": str(eval_src.positions),
    }
    same_model = [n for n, r in plan.controls.items() if r.fingerprint == eval_src.fingerprint]
    warnings = sweep_warnings(
        results, baselines, config.methods, alarm=config.alarm, length_auroc=plan.length_auroc,
        same_model=same_model,
    )  # fmt: skip
    counts = [int((plan.y_eval == c).sum()) for c in (1, 0)]
    if min(counts) < MIN_PER_CLASS:
        warnings.append(
            f"only {counts[0]} triggered and {counts[1]} clean held-out prompts: with fewer "
            f"than {MIN_PER_CLASS} of each, an AUROC (and its bootstrap interval) says little; "
            "hold out more prompts."
        )
    if config.length_match and plan.lengths is not None and plan.matched is None:
        warnings.append(
            "no held-out triggered and clean prompts are alike in length, so the "
            "length-matched control could not run; add prompts of overlapping lengths."
        )
    return SweepResult(
        results=tuple(results),
        baselines=baselines,
        hooks=tuple(plan.hooks),
        methods=config.methods,
        mode=plan.mode,
        n_train=len(plan.fit_idx),
        n_eval=len(plan.eval_idx),
        eval_labels=plan.y_eval,
        eval_ids=tuple(plan.eval_ids),
        length_auroc=plan.length_auroc,
        n_length_matched=0 if plan.matched is None else len(plan.matched),
        warnings=tuple(warnings),
        settings=settings,
    )


def _score(hook, method, probe, scores, y, families, resamples, recall, controls, matched):
    correct = ((scores > 0).long() == y).double()
    threshold = threshold_at_recall(scores, y, recall)
    negatives = scores[y == 0]
    fpr = float((negatives >= threshold).double().mean()) if len(negatives) else math.nan
    lm = None
    if matched is not None:
        lm = float(auroc(scores[matched], y[matched]))
    return ProbeResult(
        hook=hook,
        method=method,
        auroc=bootstrap_auroc(scores, y, resamples=resamples),
        accuracy=bootstrap_mean(correct, resamples),
        recall=recall,
        threshold=threshold,
        fpr=fpr,
        families=tuple(fpr_by_family(scores, y, families, threshold)),
        controls=tuple(controls),
        length_matched_auroc=lm,
        probe=probe,
        scores=scores,
    )


def _with_probe_metrics(r: ProbeResult, base: HookBaseline, len_auroc) -> ProbeResult:
    metrics = {
        **r.probe.metrics,
        "heldout_auroc": r.auroc.value,
        "heldout_auroc_low": r.auroc.low,
        "heldout_auroc_high": r.auroc.high,
        "heldout_accuracy": r.accuracy.value,
        f"fpr_at_recall_{r.recall:g}": r.fpr,
        "n_heldout": len(r.scores),
    }
    if base.random_best is not None:
        metrics["random_best"] = base.random_best
        metrics["random_p95"] = base.random_p95
    for c in r.controls:
        metrics[f"control:{c.name}:applied"] = c.applied
    probe = dataclasses.replace(r.probe, metrics=metrics)
    return dataclasses.replace(r, probe=probe)


def _resolve_hooks(acts: ActivationReader, hooks: Sequence[str] | None) -> list[str]:
    if isinstance(hooks, str):
        hooks = [hooks]
    chosen = list(acts.hooks if hooks is None else hooks)
    if not chosen:
        raise ProbeError("no hooks to sweep; pass hooks=[...] or cache some.")
    for hook in chosen:
        pick_hook(acts, hook, "acts")
    return chosen


def _same_model(fit_src: ActivationReader, eval_src: ActivationReader, what: str) -> None:
    if fit_src is not eval_src and fit_src.fingerprint != eval_src.fingerprint:
        raise ProbeMismatchError(
            f"the {what} activations come from model {fit_src.fingerprint[:16]}... but acts "
            f"from {eval_src.fingerprint[:16]}...; fit and evaluate on the same model (pass "
            "other models as controls=)."
        )
    if fit_src is not eval_src and str(fit_src.positions) != str(eval_src.positions):
        raise ProbeMismatchError(
            f"the {what} activations were cached at positions {str(fit_src.positions)!r} but "
            f"acts at {str(eval_src.positions)!r}; cache both with the same rule."
        )


def _indices(mode, fit_src, eval_src, test_frac, generator):
    if mode != "split":
        return torch.arange(len(fit_src)), torch.arange(len(eval_src))
    labels = check_labels(fit_src.labels, len(fit_src), what="acts")
    rows = Rows(
        x=torch.empty(len(fit_src), 0),
        labels=labels,
        families=tuple(fit_src.groups),
        ids=tuple(fit_src.ids),
    )
    pair_ids = [e.pair_id for e in fit_src.examples]
    return split_rows(rows, test_frac=test_frac, generator=generator, pair_ids=pair_ids)


def _rows(fit_src, eval_src, chunk, fit_idx, eval_idx) -> tuple[list[Rows], list[Rows]]:
    fit_rows, eval_rows = [], []
    for hook in chunk:
        whole = probe_rows(fit_src, hook=hook, need_both_classes=False, what="acts")
        fit_rows.append(whole.take(fit_idx))
        if eval_src is not fit_src:
            whole = probe_rows(eval_src, hook=hook, need_both_classes=False, what="heldout")
        eval_rows.append(whole.take(eval_idx))
    return fit_rows, eval_rows


def _control_rows(reader, hook, ids, y_eval, name) -> Rows:
    rows = probe_rows(reader, hook=hook, need_both_classes=False, what=f"control {name!r}")
    rows = rows.reorder(ids, what=f"control {name!r}")
    if not torch.equal(rows.labels, y_eval):
        raise ProbeMismatchError(
            f"control {name!r} labels its prompts differently from acts; cache the control "
            "model on the very same PromptSet."
        )
    return rows


def _control_fit_rows(reader, hook, ids, name) -> Rows:
    rows = probe_rows(reader, hook=hook, what=f"control {name!r} (training prompts)")
    return rows if ids is None else rows.reorder(ids, what=f"control {name!r}")


def _chunks(src, hooks, n, device, hook_batch) -> list[list[str]]:
    """Consecutive hooks of equal width, as many per chunk as fit the batch budget."""
    if hook_batch is None:
        budget = GPU_BATCH_BYTES if device.type == "cuda" else CPU_BATCH_BYTES
        itemsize = 8 if device.type == "cuda" else 4
    chunks: list[list[str]] = []
    for hook in hooks:
        width = math.prod(src.row_shape(hook))
        limit = hook_batch or max(1, budget // max(1, n * (width + 1) * itemsize))
        last = chunks[-1] if chunks else None
        if last and len(last) < limit and math.prod(src.row_shape(last[0])) == width:
            last.append(hook)
        else:
            chunks.append([hook])
    return chunks


def _gen(seed: int, name: str) -> torch.Generator:
    digest = hashlib.sha256(f"{seed}:{name}".encode()).digest()
    return torch.Generator().manual_seed(int.from_bytes(digest[:8], "little") >> 1)


def _default_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")
