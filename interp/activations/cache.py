"""`cache_activations`: run prompts through a model and keep activations at a few hooks."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import torch
from tqdm.auto import tqdm
from transformer_lens import HookedTransformer

from interp.activations.activation_set import ActivationSet
from interp.activations.distributed import current_ranks
from interp.activations.engine import ChunkResult, run_chunk
from interp.activations.errors import ActivationsError
from interp.activations.hooks import plan_hooks
from interp.activations.inputs import PromptInputs
from interp.activations.manifest import StoreManifest
from interp.activations.positions import Positions
from interp.activations.store import ActivationStore
from interp.activations.writer import StoreWriter
from interp.errors import InterpError
from interp.models import fingerprint, resolve_dtype
from interp.models.edits import active_edits, unrecorded_hooks
from interp.prompts import PromptSet

logger = logging.getLogger(__name__)

#: Prompts per shard (and per unit of work: bucketing sorts lengths within a shard).
DEFAULT_SHARD_SIZE = 4096


def cache_activations(
    model: HookedTransformer,
    prompts: PromptSet | Sequence[str] | Sequence[Sequence[int]],
    hooks: str | Sequence[str],
    positions: str | int | Sequence[int] | Positions = "last",
    store: str | os.PathLike | None = None,
    *,
    batch_size: int = 16,
    dtype: str | torch.dtype | None = None,
    progress: bool = True,
    labels: Sequence[int] | torch.Tensor | None = None,
    groups: Sequence[str] | None = None,
    shard_size: int = DEFAULT_SHARD_SIZE,
    padding_side: Literal["right", "left"] = "right",
    overwrite: bool = False,
    bucket: bool = True,
) -> ActivationSet | ActivationStore:
    """Run `prompts` through `model` and keep the activations at `hooks` and `positions`.

    `prompts` is a `PromptSet` (chat sets are wrapped in the model's chat template), a list of
    strings fed as they are, or a list of token-id lists. `hooks` are TransformerLens names,
    short names (`"resid_post"`: every layer) or globs (`"blocks.2.*"`). `positions` is
    `"last"`, `"mean"`, `"span"` (mean over each prompt's `meta["span"]` substring),
    `"trigger"` (mean over the trigger's tokens), `"all"` or a list of indices (`[-1, -2]`).

    The forward pass stops after the deepest hook, hooks keep only the chosen positions, and
    prompts are batched with neighbours of similar length (results return in prompt order).
    Padded batches give the values of unpadded single-prompt runs.

    With `store=None` the result is an in-memory `ActivationSet`; with `store=DIR` it is
    streamed shard by shard to an `ActivationStore` there: re-running the same call resumes
    an interrupted run, and a store made by another model, prompt set, hooks, positions or
    dtype is never reused (pass a new directory, or `overwrite=True`). Under `torchrun`, each
    rank caches its share of the shards into the same store.

    `dtype` is the stored dtype (default: the model's). `labels` and `groups` override the
    prompt set's.

    Example:
        >>> acts = cache_activations(model, prompts, ["blocks.15.hook_resid_post"])
        >>> acts["blocks.15.hook_resid_post"].shape
        torch.Size([256, 576])
        >>> store = cache_activations(model, prompts, "resid_post", store="activations/run1")
    """
    rule = Positions.parse(positions)
    if batch_size < 1 or shard_size < 1:
        raise ActivationsError(
            f"batch_size and shard_size must be at least 1 (got {batch_size}, {shard_size})."
        )
    if padding_side not in ("right", "left"):
        raise ActivationsError(f"padding_side must be 'right' or 'left', not {padding_side!r}.")
    inputs = PromptInputs(model, prompts, labels=labels, groups=groups)
    inputs.check_rule(rule)
    plan = plan_hooks(model, hooks)
    foreign = unrecorded_hooks(model)
    if foreign:
        raise ActivationsError(
            f"the model carries hooks that interp did not put there (at {foreign[:3]}), so a "
            "cache could not say what it recorded; remove them (model.reset_hooks()), or apply "
            "the change as an interp intervention (interp.interventions.apply), which the cache "
            "records."
        )
    store_dtype = resolve_dtype(dtype) if dtype is not None else model.cfg.dtype
    request = StoreManifest(
        model_name=model.cfg.model_name,
        fingerprint=fingerprint(model),
        prompt_set=inputs.name,
        prompt_hash=inputs.content_hash(),
        n_prompts=len(inputs),
        hooks=plan.names,
        positions=rule,
        dtype=str(store_dtype).removeprefix("torch."),
        row_shapes=dict(plan.row_shapes),
        shard_size=shard_size,
        settings={"batch_size": batch_size, "padding_side": padding_side, "bucket": bucket},
        interventions=active_edits(model),
    )
    logger.info(
        "caching %d prompts at %d hooks (%s), stopping after %s",
        len(inputs),
        len(plan.names),
        rule,
        plan.stop_after,
    )

    def run(index_range: tuple[int, int], bar) -> ChunkResult:
        start, stop = index_range
        return run_chunk(
            model,
            inputs.encode(start, stop, rule),
            [e.id for e in inputs.examples[start:stop]],
            plan,
            rule,
            batch_size=batch_size,
            dtype=store_dtype,
            padding_side=padding_side,
            bucket=bucket,
            on_batch=bar.update,
        )

    ranks = current_ranks()
    try:
        if store is None:
            if ranks.world > 1:
                raise ActivationsError(
                    f"running as {ranks.world} ranks: pass store=DIR so that each rank writes "
                    "its shards into one store (an in-memory result would exist on one rank only)."
                )
            return _in_memory(request, inputs, run, progress)
        return _to_store(Path(store), request, inputs, run, ranks, progress, overwrite)
    finally:
        ranks.close()


def _in_memory(request: StoreManifest, inputs: PromptInputs, run, progress: bool) -> ActivationSet:
    results = []
    with tqdm(
        total=request.n_prompts, desc="cache activations", unit="prompt", disable=_bar_off(progress)
    ) as bar:
        for index in range(request.n_shards):
            results.append(run(request.shard_range(index), bar))
    first = results[0]
    return ActivationSet(
        tensors={h: torch.cat([r.tensors[h] for r in results]) for h in request.hooks},
        example_records=inputs.examples,
        rule=request.positions,
        model_fingerprint=request.fingerprint,
        prompt_hash=request.prompt_hash,
        model_name=request.model_name,
        interventions=request.interventions,
        lengths_tensor=None if first.lengths is None else torch.cat([r.lengths for r in results]),
        token_id_tensor=(
            None if first.token_ids is None else torch.cat([r.token_ids for r in results])
        ),
    )


def _to_store(
    path: Path,
    request: StoreManifest,
    inputs: PromptInputs,
    run,
    ranks,
    progress: bool,
    overwrite: bool,
) -> ActivationStore:
    writer = StoreWriter(path, request, ranks, overwrite=overwrite)
    fresh = overwrite or not path.exists()
    manifest = writer.prepare(inputs.examples)
    pending = writer.pending()
    total = sum(stop - start for start, stop in map(manifest.shard_range, pending))
    if len(manifest.shards):
        logger.info(
            "resuming %s: %d of %d shards already written",
            path,
            len(manifest.shards),
            manifest.n_shards,
        )
    failure: BaseException | None = None
    try:
        with tqdm(
            total=total,
            desc="cache activations",
            unit="prompt",
            disable=_bar_off(progress and ranks.is_main),
        ) as bar:
            for index in pending:
                writer.commit(index, run(manifest.shard_range(index), bar))
    except BaseException as err:  # every rank must still reach the verdict below
        failure = err
    if not ranks.all_ok(failure is None):
        if isinstance(failure, InterpError):  # a re-run of the same request fails again
            raise _after_bad_request(failure, writer, fresh and ranks.is_main) from None
        if failure is not None:
            raise failure
        raise ActivationsError(
            f"another caching rank failed, so {path} is unfinished; see that rank's error, fix "
            "it and re-run the same command to resume."
        )
    writer.finish()
    return ActivationStore(path)


def _after_bad_request(error: InterpError, writer: StoreWriter, created: bool) -> InterpError:
    """`error`, after removing the store this call started (a fixed request would not
    reuse it), or saying how to replace a resumed one."""
    if created:
        writer.discard()
        return error
    return type(error)(f"{error} The unfinished store at {writer.path} is kept; pass "
                       "overwrite=True (--overwrite) with the fixed request to replace it.")  # fmt: skip


def _bar_off(progress: bool) -> bool | None:
    """tqdm's `disable`: True when asked for no bar, None (off unless a TTY) otherwise."""
    return True if not progress else None
