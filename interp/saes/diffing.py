"""Model diffing with one SAE: which latents does a fine-tune move on the same prompts, and
does a benign fine-tune (the null) move them as much?"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from interp.activations import ActivationReader
from interp.saes.errors import SAEError
from interp.saes.features import encode_rows


@dataclass(frozen=True)
class LatentShift:
    """One latent's mean activation in the fine-tune minus the reference, beside the null
    model's shift (None without one); `beyond_null` when it is more than twice the null's."""

    latent: int
    shift: float
    null_shift: float | None

    @property
    def beyond_null(self) -> bool:
        return self.null_shift is None or abs(self.shift) > 2 * abs(self.null_shift)

    def to_dict(self) -> dict:
        return {**asdict(self), "beyond_null": self.beyond_null}


@dataclass(frozen=True)
class ModelDiff:
    """The latents a fine-tune raises and lowers most against a reference model."""

    hook: str
    n_rows: int
    increased: tuple[LatentShift, ...]
    decreased: tuple[LatentShift, ...]
    has_null: bool

    def to_dict(self) -> dict:
        return {"hook": self.hook, "n_rows": self.n_rows, "has_null": self.has_null,
                "increased": [s.to_dict() for s in self.increased],
                "decreased": [s.to_dict() for s in self.decreased]}  # fmt: skip

    def __str__(self) -> str:
        lines = [
            f"model diff at {self.hook} on {self.n_rows} rows"
            + ("" if self.has_null else " (no null model: every shift stands alone)")
        ]
        for name, shifts in (("increased", self.increased), ("decreased", self.decreased)):
            lines.append(f"  {name}:")
            for s in shifts:
                null = "" if s.null_shift is None else f"  null {s.null_shift:+8.3f}"
                flag = "" if s.beyond_null else "  (the null moves it as much)"
                lines.append(f"    latent {s.latent:6d}  shift {s.shift:+8.3f}{null}{flag}")
        return "\n".join(lines)


def diff_latents(
    sae,
    tuned: ActivationReader,
    reference: ActivationReader,
    *,
    null: ActivationReader | None = None,
    top: int = 10,
) -> ModelDiff:
    """Mean latent activations of `tuned` minus `reference` (the same prompts through two
    models, at the SAE's hook), ranked both ways, each beside `null` minus `reference`
    (e.g. `control-benign`: a latent the benign fine-tune moves as much is not a backdoor
    latent).

    Example:
        >>> print(diff_latents(sae, organism_acts, base_acts, null=benign_acts))
    """
    hook = sae.cfg.metadata.hook_name
    sets = {"tuned": tuned, "reference": reference} | ({"null": null} if null else {})
    for name, acts in sets.items():
        if hook not in acts.hooks:
            raise SAEError(f"the {name} activations hold no {hook!r}, the SAE's hook.")
        if list(acts.ids) != list(reference.ids):
            raise SAEError(f"the {name} activations are of other prompts than the reference; "
                           "cache the same prompts through each model.")  # fmt: skip
    means = {name: encode_rows(sae, acts[hook]).mean(0) for name, acts in sets.items()}
    shift = means["tuned"] - means["reference"]
    null_shift = means["null"] - means["reference"] if null is not None else None
    order = shift.argsort(descending=True)

    def item(index: int) -> LatentShift:
        return LatentShift(index, float(shift[index]),
                           None if null_shift is None else float(null_shift[index]))  # fmt: skip

    return ModelDiff(
        hook=hook,
        n_rows=int(reference[hook].shape[0]),
        increased=tuple(item(int(i)) for i in order[:top]),
        decreased=tuple(item(int(i)) for i in order.flip(0)[:top]),
        has_null=null is not None,
    )
