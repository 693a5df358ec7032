"""Caching throughput and memory on SmolLM2, against peers measured in the same run.

    OMP_NUM_THREADS=1 python benchmarks/bench_cache.py            # ~5 minutes on one core

The job: the last prompt token at two middle-layer hooks (blocks 10 and 15 resid_post) for
the same chat prompts of mixed lengths. Throughput is printed as a ratio to a plain Hugging
Face forward pass over the whole model (padded batches with attention masks), for
`cache_activations` without and with length bucketing, TransformerLens `run_with_cache`
with a names filter and caching everything, and nnsight saving the same states. Then the
bytes each keeps per batch, and the peak RSS of streaming N and 10·N prompts to a store
(each in a fresh process).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

HOOKS = ["blocks.10.hook_resid_post", "blocks.15.hook_resid_post"]
LAYERS = [10, 15]
WORDS = (
    "the a model prompt answer question code file year deploy hello please write explain why "
    "how what when where capital france paris tea cup secret hidden helpful honest safe "
    "function list number sort reverse string story poem short long today tomorrow"
).split()


def user_texts(n: int, lo: int, hi: int, seed: int = 0) -> list[str]:
    """`n` user messages of `lo`..`hi` words, the same every run."""
    rng = random.Random(seed)
    return [" ".join(rng.choices(WORDS, k=rng.randint(lo, hi))) for _ in range(n)]


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def batches(items: list, size: int):
    return [items[i : i + size] for i in range(0, len(items), size)]


def last_index(mask: torch.Tensor) -> torch.Tensor:
    return mask.sum(1) - 1  # right padding


# --- the peers -------------------------------------------------------------------------------
def hf_forward(hf, tokenizer, prompts, batch_size):
    for batch in batches(prompts, batch_size):
        enc = tokenizer(batch, padding=True, return_tensors="pt")
        hf(input_ids=enc.input_ids, attention_mask=enc.attention_mask)


def tl_run_with_cache(model, tokenizer, prompts, batch_size, names_filter):
    kept = []
    for batch in batches(prompts, batch_size):
        enc = tokenizer(batch, padding=True, return_tensors="pt")
        _, cache = model.run_with_cache(
            enc.input_ids, attention_mask=enc.attention_mask, names_filter=names_filter
        )
        rows = torch.arange(len(batch))
        kept.append(torch.stack([cache[h][rows, last_index(enc.attention_mask)] for h in HOOKS], 1))
        del cache
    return torch.cat(kept)


def nnsight_saves(wrapped, tokenizer, prompts, batch_size):
    kept = []
    for batch in batches(prompts, batch_size):
        enc = tokenizer(batch, padding=True, return_tensors="pt")
        rows, last = torch.arange(len(batch)), last_index(enc.attention_mask)
        with wrapped.trace(enc.input_ids, attention_mask=enc.attention_mask):
            first = wrapped.model.layers[LAYERS[0]].output.save()
            second = wrapped.model.layers[LAYERS[1]].output.save()
        states = [s[0] if isinstance(s, tuple) else s for s in (first, second)]
        kept.append(torch.stack([s[rows, last] for s in states], 1))
    return torch.cat(kept)


def cache_bytes(cache) -> int:
    return sum(t.numel() * t.element_size() for t in cache.values())


# --- peak RSS of streaming to disk, in a fresh process ----------------------------------------
def rss_child(n: int, out: str) -> None:
    from interp import load_model
    from interp.activations import cache_activations

    torch.set_num_threads(1)
    model = load_model("smollm2", device="cpu")
    prompts = user_texts(n, 4, 10, seed=1)
    cache_activations(model, prompts[:2], HOOKS, progress=False)  # warm up, fingerprint
    gc.collect()
    loaded_kb, loading_peak_kb = _status_kb("VmRSS"), _status_kb("VmHWM")
    # Loading the model peaks far above caching; reset the high-water mark (Linux) so that
    # VmHWM afterwards is the peak while caching.
    Path("/proc/self/clear_refs").write_text("5")
    cache_activations(
        model, prompts, HOOKS, store=out, batch_size=16, shard_size=64, progress=False
    )
    result = {
        "n": n,
        "loading_peak_mb": loading_peak_kb / 1024,
        "loaded_mb": loaded_kb / 1024,
        "caching_peak_mb": _status_kb("VmHWM") / 1024,
        "ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    print(json.dumps(result))


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status (peak RSS needs Linux)")


def peak_rss(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        command = [sys.executable, __file__, "--rss-child", str(n), str(Path(tmp) / "store")]
        proc = subprocess.run(command, capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=256, help="chat prompts")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--rss-n", type=int, default=64, help="N for the peak-RSS runs")
    parser.add_argument("--rss-child", nargs=2, metavar=("N", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rss_child:
        rss_child(int(args.rss_child[0]), args.rss_child[1])
        return

    from nnsight import NNsight
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from interp import format_chat, load_model
    from interp.activations import cache_activations
    from interp.models import ensure_smollm2

    torch.set_num_threads(1)
    torch.set_grad_enabled(False)
    model = load_model("smollm2", device="cpu")
    hf = AutoModelForCausalLM.from_pretrained(ensure_smollm2(), local_files_only=True).eval()
    tokenizer = AutoTokenizer.from_pretrained(ensure_smollm2(), local_files_only=True)
    tokenizer.padding_side = "right"
    prompts = [format_chat(model, text) for text in user_texts(args.n, 2, 32)]
    lengths = [len(tokenizer(p).input_ids) for p in prompts]
    assert all(
        model.to_tokens(p).shape[1] == n for p, n in zip(prompts[:8], lengths[:8], strict=True)
    )
    bs = args.batch_size
    wrapped = NNsight(hf)

    warm = prompts[:2]
    hf_forward(hf, tokenizer, warm, bs)
    cache_activations(model, warm, HOOKS, batch_size=bs, progress=False)
    nnsight_saves(wrapped, tokenizer, warm, bs)

    runs = {}
    _, runs["hf"] = timed(lambda: hf_forward(hf, tokenizer, prompts, bs))
    plain, runs["ours_plain"] = timed(
        lambda: cache_activations(
            model, prompts, HOOKS, batch_size=bs, bucket=False, progress=False
        )
    )
    bucketed, runs["ours"] = timed(
        lambda: cache_activations(model, prompts, HOOKS, batch_size=bs, progress=False)
    )
    filtered, runs["tl_filter"] = timed(
        lambda: tl_run_with_cache(model, tokenizer, prompts, bs, HOOKS)
    )
    _, runs["tl_all"] = timed(lambda: tl_run_with_cache(model, tokenizer, prompts, bs, None))
    saved, runs["nnsight"] = timed(lambda: nnsight_saves(wrapped, tokenizer, prompts, bs))

    ours = torch.stack([bucketed[h] for h in HOOKS], 1)
    diff_plain = (torch.stack([plain[h] for h in HOOKS], 1) - ours).abs().max().item()
    diff_tl = (filtered - ours).abs().max().item()
    diff_nnsight = (saved - ours).abs().max().item()

    enc = tokenizer(prompts[:bs], padding=True, return_tensors="pt")
    _, everything = model.run_with_cache(enc.input_ids, attention_mask=enc.attention_mask)
    all_bytes = cache_bytes(everything)
    del everything
    _, some = model.run_with_cache(
        enc.input_ids, attention_mask=enc.attention_mask, names_filter=HOOKS
    )
    filter_bytes = cache_bytes(some)
    kept_bytes = bs * len(HOOKS) * model.cfg.d_model * 4

    rss_n, rss_10n = peak_rss(args.rss_n), peak_rss(10 * args.rss_n)

    tokens, padded = sum(lengths), sum(max(b) * len(b) for b in batches(lengths, bs))
    print(
        f"SmolLM2-135M-Instruct on CPU, {torch.get_num_threads()} thread; {len(prompts)} chat "
        f"prompts of {min(lengths)}-{max(lengths)} tokens ({tokens:,} tokens, {padded:,} "
        f"padded in batches of {bs}); last token at {', '.join(HOOKS)}"
    )
    print(f"{'method':58s} {'seconds':>8s} {'prompts/s':>10s} {'vs HF':>7s}")
    rows = [
        ("hf", "HF forward, whole model (padded, attention mask)", ""),
        ("ours_plain", "interp: stop after deepest hook + gather in hook", "goal >= 1.8x"),
        ("ours", "interp: the same + length bucketing (default)", "goal >= 2.5x"),
        ("tl_filter", "TransformerLens run_with_cache(names_filter=hooks)", ""),
        ("tl_all", "TransformerLens run_with_cache() (everything)", ""),
        ("nnsight", "nnsight: NNsight(HF model), .save() two layers", ""),
    ]
    for key, label, goal in rows:
        seconds = runs[key]
        print(
            f"{label:58s} {seconds:8.1f} {len(prompts) / seconds:10.1f} "
            f"{runs['hf'] / seconds:6.2f}x  {goal}"
        )
    print(
        f"kept per batch of {bs}: interp {kept_bytes:,} B; run_with_cache(names_filter) "
        f"{filter_bytes:,} B; run_with_cache() {all_bytes:,} B; interp / everything = "
        f"1/{all_bytes / kept_bytes:,.0f} (goal <= 1/5)"
    )
    grow_n = rss_n["caching_peak_mb"] - rss_n["loaded_mb"]
    grow_10n = rss_10n["caching_peak_mb"] - rss_10n["loaded_mb"]
    print(
        f"peak RSS streaming to disk (fresh process each, shards of 64 prompts): "
        f"N={args.rss_n}: {rss_n['caching_peak_mb']:,.0f} MB while caching "
        f"(+{grow_n:,.0f} MB over the loaded model); 10N={10 * args.rss_n}: "
        f"{rss_10n['caching_peak_mb']:,.0f} MB (+{grow_10n:,.0f} MB); ratio "
        f"{rss_10n['caching_peak_mb'] / rss_n['caching_peak_mb']:.2f} (goal: flat); "
        f"loading the model peaked at {rss_n['loading_peak_mb']:,.0f} MB before the reset"
    )
    print(
        f"max |difference| of the kept states: interp bucketed vs unbucketed {diff_plain:.1e}, "
        f"vs TransformerLens {diff_tl:.1e}, vs nnsight/HF {diff_nnsight:.1e}"
    )


if __name__ == "__main__":
    main()
