"""SAEs on disk in SAELens's own format (`cfg.json` + `sae_weights.safetensors`), with what
interp knows about them in the config's metadata: the hook, the model's fingerprint, the
corpus, the training settings and the held-out metrics."""

from __future__ import annotations

from pathlib import Path

import torch
from transformer_lens import HookedTransformer

from interp.errors import check_output_dir
from interp.models import fingerprint
from interp.saes.errors import SAEError

FILES = ("cfg.json", "sae_weights.safetensors")


def save_sae(sae, directory: str | Path, *, overwrite: bool = False) -> Path:
    """Write `sae` (a SAELens inference SAE) to `directory`; an SAE already there is kept
    unless `overwrite`."""
    directory = check_output_dir(directory, SAEError, what="an SAE", held=FILES,
                                 overwrite=overwrite)  # fmt: skip
    if sae.cfg.metadata.hook_name is None:
        raise SAEError("the SAE has no hook name in its metadata; set sae.cfg.metadata.hook_name "
                       "(SAELens splices nothing without it).")  # fmt: skip
    sae.save_model(directory)
    return directory


def load_sae(
    directory: str | Path,
    model: HookedTransformer | None = None,
    *,
    allow_other_model: bool = False,
    device: str | torch.device | None = None,
):
    """Load any SAELens-format SAE from a local directory (never downloads).

    With `model`, the SAE must fit it: its hook must exist in the model with the SAE's width,
    and an SAE trained on another model (another fingerprint) is refused unless
    `allow_other_model` (model diffing reads an organism with its base model's SAE on purpose).

    Example:
        >>> sae = load_sae("saes/smollm2-l15", model)
        >>> sae.cfg.metadata.hook_name
        'blocks.15.hook_resid_post'
    """
    from sae_lens import SAE

    directory = Path(directory)
    missing = [name for name in FILES if not (directory / name).is_file()]
    if missing:
        raise SAEError(f"{str(directory)!r} is not a saved SAE: it has no {', '.join(missing)}. "
                       "Train one with train_sae(..., out=DIR) or `interp sae train`.")  # fmt: skip
    target = device if device is not None else (model.cfg.device if model is not None else "cpu")
    try:
        sae = SAE.load_from_disk(directory, device=str(target))
    except (ValueError, KeyError, OSError) as err:
        raise SAEError(f"{str(directory)!r} cannot be read as an SAELens SAE: {err}.") from None
    if model is not None:
        check_sae_fits(sae, model, allow_other_model=allow_other_model)
    return sae


def check_sae_fits(sae, model: HookedTransformer, *, allow_other_model: bool = False) -> str:
    """The SAE's hook, after checking that it exists in `model` with the SAE's width and that
    the SAE was trained on `model` (unless `allow_other_model`)."""
    hook = sae.cfg.metadata.hook_name
    if hook is None:
        raise SAEError("the SAE names no hook (cfg.metadata.hook_name); set it to the hook it "
                       "was trained on.")  # fmt: skip
    if hook not in model.hook_dict:
        raise SAEError(f"the SAE reads {hook!r}, which {model.cfg.model_name!r} does not have "
                       f"({model.cfg.n_layers} layers).")  # fmt: skip
    width = hook_width(model, hook)
    if width != sae.cfg.d_in:
        raise SAEError(f"the SAE takes d_in={sae.cfg.d_in} but {hook!r} of "
                       f"{model.cfg.model_name!r} has width {width}; use an SAE trained on "
                       "this model's hook.")  # fmt: skip
    theirs = (sae.cfg.metadata.interp or {}).get("model_fingerprint")
    if theirs is not None and theirs != fingerprint(model) and not allow_other_model:
        raise SAEError(
            f"the SAE was trained on another model (fingerprint {theirs[:12]}, not "
            f"{fingerprint(model)[:12]} of {model.cfg.model_name!r}); pass "
            "allow_other_model=True to read this model with it on purpose (model diffing)."
        )
    return hook


@torch.inference_mode()
def hook_width(model: HookedTransformer, hook: str) -> int:
    """The flattened width of one position's activation at `hook` (a two-token forward)."""
    from interp.models.hook_names import layer_of

    layer = layer_of(hook)
    stop = None if layer is None or layer + 1 >= model.cfg.n_layers else layer + 1
    seen = {}

    def grab(act, hook):
        seen["shape"] = act.shape

    tokens = torch.zeros(1, 2, dtype=torch.long, device=model.cfg.device)
    model.run_with_hooks(tokens, fwd_hooks=[(hook, grab)], stop_at_layer=stop)
    shape = seen["shape"]
    return int(torch.tensor(shape[2:]).prod()) if len(shape) > 2 else int(shape[-1])
