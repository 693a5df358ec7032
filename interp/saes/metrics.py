"""What an SAE is worth, measured by us on held-out data: reconstruction, sparsity, dead
latents, and what splicing it into the model costs in next-token loss."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from jaxtyping import Bool, Float
from torch import Tensor
from transformer_lens import HookedTransformer

from interp.saes.errors import SAEError


@dataclass(frozen=True)
class SAEMetrics:
    """Held-out metrics of one SAE. Explained variance is 1 − ‖x − x̂‖² / ‖x − x̄‖² over the
    held-out tokens, without the first position of each prompt and (`_all`) with it; L0 is the
    mean number of active latents per token; a latent is dead when it fires on none of the
    held-out tokens. ΔCE and KL compare the model with the SAE's reconstruction spliced in at
    every position but the first against the model itself on held-out clean chat; with the
    error term added back the model must be unchanged (a check of the splice)."""

    explained_variance: float
    explained_variance_all: float
    l0: float
    dead_fraction: float
    n_tokens: int
    clean_ce: float | None = None
    delta_ce: float | None = None
    kl: float | None = None
    delta_ce_with_error: float | None = None
    n_ce_tokens: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        out = (f"explained variance {self.explained_variance:.3f} (first position included: "
               f"{self.explained_variance_all:.3f}), L0 {self.l0:.1f}, dead "
               f"{self.dead_fraction:.1%} on {self.n_tokens} held-out tokens")  # fmt: skip
        if self.delta_ce is not None:
            out += (f"; spliced: ΔCE {self.delta_ce:+.3f} nats, KL {self.kl:.3f} (clean CE "
                    f"{self.clean_ce:.3f}; with the error term ΔCE {self.delta_ce_with_error:+.1e})"
                    f" on {self.n_ce_tokens} tokens")  # fmt: skip
        return out


@torch.inference_mode()
def reconstruction_metrics(
    sae, rows: Float[Tensor, "n d"], first: Bool[Tensor, " n"], batch_size: int = 4096
) -> dict:
    """Explained variance (without and with first positions), L0 and the dead fraction."""
    device, dtype = sae.W_dec.device, sae.W_dec.dtype
    sums = {"sq_err": 0.0, "sq_err_all": 0.0, "l0": 0.0}
    fired = torch.zeros(sae.cfg.d_sae, dtype=torch.bool, device=device)
    for start in range(0, rows.shape[0], batch_size):
        x = rows[start : start + batch_size].to(device, dtype)
        keep = ~first[start : start + batch_size].to(device)
        latents = sae.encode(x)
        err = (sae.decode(latents) - x).pow(2).sum(-1)
        sums["sq_err_all"] += float(err.sum())
        sums["sq_err"] += float(err[keep].sum())
        active = latents[keep] != 0
        sums["l0"] += float(active.sum())
        fired |= active.any(0)
    rest = rows[~first]
    n = int(rest.shape[0])
    var = float((rest.double() - rest.double().mean(0)).pow(2).sum())
    var_all = float((rows.double() - rows.double().mean(0)).pow(2).sum())
    return {
        "explained_variance": 1 - sums["sq_err"] / var,
        "explained_variance_all": 1 - sums["sq_err_all"] / var_all,
        "l0": sums["l0"] / max(n, 1),
        "dead_fraction": float((~fired).float().mean()),
        "n_tokens": n,
    }


def splice_hook(sae, *, error: bool = False, edit=None):
    """A TransformerLens hook function that replaces the activation at every position but the
    first with the SAE's reconstruction (of latents changed by `edit`, if given), plus the
    SAE's error on the unedited activation when `error` (so only the edit changes the model).
    Under generation with a KV cache each later step sees one new position: it is spliced."""

    def hook_fn(act: Tensor, hook) -> Tensor:
        start = 1 if act.shape[1] > 1 else 0  # a cached generation step sees one new position
        x = act[:, start:]
        flat = x.reshape(-1, x.shape[-1]).to(sae.W_dec.dtype)
        latents = sae.encode(flat)
        recon = sae.decode(latents)
        out = sae.decode(edit(latents)) if edit is not None else recon
        if error:
            out = out + (flat - recon)
        act = act.clone()
        act[:, start:] = out.reshape(x.shape).to(act.dtype)
        return act

    return hook_fn


@torch.inference_mode()
def spliced_loss(
    model: HookedTransformer, sae, hook: str, texts: list[str], batch_size: int = 8
) -> dict:
    """Clean CE, ΔCE and KL(clean ‖ spliced) per token on `texts`, and ΔCE with the error term."""
    spliced = loss_change(model, texts, {"spliced": [(hook, splice_hook(sae))],
                                         "error": [(hook, splice_hook(sae, error=True))]},
                          batch_size)  # fmt: skip
    return {
        "clean_ce": spliced["clean_ce"],
        "delta_ce": spliced["spliced"]["delta_ce"],
        "kl": spliced["spliced"]["kl"],
        "delta_ce_with_error": spliced["error"]["delta_ce"],
        "n_ce_tokens": spliced["n_tokens"],
    }


@torch.inference_mode()
def loss_change(
    model: HookedTransformer, texts: list[str], arms: dict[str, list], batch_size: int = 8
) -> dict:
    """The clean next-token CE on `texts` and, for each arm (a list of TransformerLens hooks),
    its ΔCE and KL(clean ‖ arm) per token, in nats.

    Example:
        >>> loss_change(model, texts, {"clamped": [(hook, splice_hook(sae, error=True, edit=f))]})
        {'clean_ce': 3.72, 'clamped': {'delta_ce': 0.004, 'kl': 0.003}, 'n_tokens': 4316}
    """
    tokenizer = model.tokenizer
    side, tokenizer.padding_side = tokenizer.padding_side, "right"  # pads after: no mask needed
    try:
        batches = [tokenizer(texts[i : i + batch_size], add_special_tokens=False, padding=True,
                             return_tensors="pt") for i in range(0, len(texts), batch_size)]  # fmt: skip
    finally:
        tokenizer.padding_side = side
    longest = max((b.input_ids.shape[1] for b in batches), default=0)
    if longest > model.cfg.n_ctx:
        raise SAEError(f"a text of {longest} tokens exceeds the model's context of "
                       f"{model.cfg.n_ctx}; interp does not cut texts: pass shorter ones.")  # fmt: skip
    nll = {name: 0.0 for name in ["clean", *arms]}
    kl = {name: 0.0 for name in arms}
    count = 0
    for batch in batches:
        tokens = batch.input_ids.to(model.cfg.device)
        mask = batch.attention_mask.to(model.cfg.device)[:, 1:].bool()
        target = tokens[:, 1:, None]
        clean = _logprobs(model, tokens, [])
        nll["clean"] -= float(clean.gather(-1, target)[..., 0][mask].sum())
        for name, hooks in arms.items():
            arm = _logprobs(model, tokens, hooks)
            nll[name] -= float(arm.gather(-1, target)[..., 0][mask].sum())
            per_token = (clean.exp() * (clean - arm)).sum(-1).clamp_min(0)  # rounding: ≥ 0
            kl[name] += float(per_token[mask].sum())
        count += int(mask.sum())
    n = max(count, 1)
    out: dict = {"clean_ce": nll["clean"] / n, "n_tokens": count}
    for name in arms:
        out[name] = {"delta_ce": (nll[name] - nll["clean"]) / n, "kl": kl[name] / n}
    return out


def _logprobs(model: HookedTransformer, tokens: Tensor, hooks) -> Tensor:
    return model.run_with_hooks(tokens, fwd_hooks=hooks)[:, :-1].float().log_softmax(-1)
