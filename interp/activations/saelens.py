"""Export cached activations in the format SAELens trains from.

SAELens reads cached activations (`ActivationsStore(..., cached_activations_path=DIR)`,
or `LanguageModelSAERunnerConfig(use_cached_activations=True, cached_activations_path=DIR)`)
from a Hugging Face `datasets` dataset saved with `save_to_disk`: one
`Array2D(shape=(context_size, d_in))` column per hook, plus an optional `token_ids` column
`Sequence(Value("int32"), length=context_size)`. Each stored row becomes one dataset row:
`context_size` is 1 for one-row-per-prompt rules and for `all` (each token a row), and k for
k explicit indices. Multi-dimensional hooks (e.g. `hook_z`) are flattened into `d_in`.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from interp.activations.errors import ActivationsError


def to_saelens(
    reader,
    directory: str | Path,
    hooks: str | Sequence[str] | None = None,
    *,
    progress: bool = True,
) -> Path:
    """Write `hooks` of `reader` (an ActivationSet or ActivationStore) to `directory`.

    The dataset is written shard by shard into a temporary directory beside `directory`
    and renamed into place when complete, so memory holds one shard at a time.

    Example:
        >>> store.to_saelens("activations/run1-saelens", "blocks.15.hook_resid_post")
        >>> ActivationsStore(model=None, dataset=None, cached_activations_path=..., ...)
    """
    import datasets
    from datasets import Array2D, Features, Value
    from datasets import Sequence as HfSequence
    from datasets.utils import (
        are_progress_bars_disabled,
        disable_progress_bars,
        enable_progress_bars,
    )

    directory = Path(directory)
    names = (
        list(reader.hooks) if hooks is None else [hooks] if isinstance(hooks, str) else list(hooks)
    )
    for name in names:
        reader._check_hook(name)
    if directory.exists() and any(directory.iterdir()):
        raise ActivationsError(f"{directory} exists and is not empty; pass a new directory.")
    context = math.prod(reader.positions.row_prefix) if reader.positions.row_prefix else 1
    stored = str(reader.dtype).removeprefix("torch.")
    dtype = stored if stored in ("float32", "float16", "float64") else "float32"
    d_in = {h: math.prod(reader.row_shape(h)) for h in names}
    columns = {h: Array2D(shape=(context, d_in[h]), dtype=dtype) for h in names}
    keep_tokens = reader._has_token_ids
    if keep_tokens:
        columns["token_ids"] = HfSequence(Value("int32"), length=context)
    features = Features(columns)

    directory.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp.", dir=directory.parent))
    bars_were_off = are_progress_bars_disabled()
    disable_progress_bars()  # one bar of ours rather than one of theirs per shard
    try:
        streams = [reader._parts(h) for h in names]
        if keep_tokens:
            streams.append(reader._parts("token_ids"))
        pieces = []
        parts_iter = tqdm(
            zip(*streams, strict=True),
            desc="export to SAELens",
            unit="shard",
            disable=True if not progress else None,
        )
        for i, parts in enumerate(parts_iter):
            data = {
                h: part.to(getattr(torch, dtype)).reshape(-1, context, d_in[h]).numpy()
                for h, part in zip(names, parts, strict=False)
            }
            if keep_tokens:
                data["token_ids"] = parts[-1].to(torch.int32).reshape(-1, context).numpy()
            piece = work / f"shard_{i:05d}"
            datasets.Dataset.from_dict(data, features=features).save_to_disk(str(piece))
            pieces.append(piece)
        joined = datasets.concatenate_datasets([datasets.load_from_disk(str(p)) for p in pieces])
        final = work / "final"
        joined.save_to_disk(str(final))
        del joined
        if directory.exists():
            directory.rmdir()
        os.replace(final, directory)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not bars_were_off:
            enable_progress_bars()
    return directory
