"""Plain-words warnings for a sweep: when a probe also fires on a control."""

from __future__ import annotations

from collections.abc import Sequence

from interp.probes.results import HookBaseline, ProbeResult


def sweep_warnings(
    results: Sequence[ProbeResult],
    baselines: dict[str, HookBaseline],
    methods: Sequence[str],
    *,
    alarm: float,
    length_auroc: float | None,
    same_model: Sequence[str] = (),
) -> list[str]:
    """One sentence per problem, naming the hooks and the numbers behind it."""
    out: list[str] = []
    for name in same_model:
        out.append(
            f"control {name!r} has the same model fingerprint as the organism: it is not a "
            "different model, so it controls for nothing."
        )
    for method in methods:
        rows = [r for r in results if r.method == method]
        if not rows:
            continue
        best = max(rows, key=lambda r: r.auroc.value)
        for name in [c.name for c in rows[0].controls]:
            for kind, what in (
                ("applied", f"the {method} probe also fires on {name!r}"),
                ("refit", f"a {method} probe fitted on {name!r} also separates its prompts"),
            ):
                hot = [(r, getattr(r.control(name), kind)) for r in rows]
                hot = [(r, v) for r, v in hot if v is not None and v >= alarm]
                if hot:
                    r, v = max(hot, key=lambda rv: rv[1])
                    out.append(
                        f"{what}: AUROC >= {alarm:g} at {len(hot)} of {len(rows)} hooks (up to "
                        f"{v:.3f} at {r.hook}); it may detect the trigger text or a fine-tune "
                        "rather than the backdoor."
                    )
            transfer = best.control(name).transfer
            if transfer is not None and transfer >= alarm and transfer >= best.auroc.low:
                out.append(
                    f"a {method} probe fitted on {name!r} works on the organism as well as its "
                    f"own probe at {best.hook} (AUROC {transfer:.3f} vs {best.auroc}): the "
                    "direction is not specific to the organism."
                )
        base = baselines.get(best.hook)
        if base is not None and base.random_best is not None:
            if best.auroc.low <= base.random_best:
                out.append(
                    f"the best {method} probe ({best.hook}, AUROC {best.auroc}) is not clearly "
                    f"above the best of {base.n_random} random directions "
                    f"({base.random_best:.3f}); its 95% interval reaches down to it."
                )
        if best.length_matched_auroc is not None and (
            best.auroc.value - best.length_matched_auroc > 0.1
        ):
            out.append(
                f"the best {method} probe ({best.hook}) drops from AUROC {best.auroc.value:.3f} "
                f"to {best.length_matched_auroc:.3f} on length-matched prompts: it partly "
                "reads prompt length."
            )
    if length_auroc is not None and length_auroc >= alarm:
        out.append(
            f"prompt length alone separates triggered from clean held-out prompts (AUROC "
            f"{length_auroc:.3f}); read the length-matched column."
        )
    return out
