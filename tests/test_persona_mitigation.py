"""The persona mitigation on micro builds: each direction is the shift it names, and each
point's rate is the organism's rate with that intervention applied, forward and reversed."""

from __future__ import annotations

import json

import pytest
import torch

from interp.activations import cache_activations
from interp.experiments import PersonaBuild, persona_directions, persona_mitigation
from interp.interventions import AblateDirection, InterventionError, apply
from interp.models import load_model
from interp.organisms import behaviour_rates, paired_prompts, recipe_of

BUILD = PersonaBuild("persona-backdoor-micro", "persona-toxic-micro", "control-benign-micro")
BASE = "organism:control-clean-micro"
HOOK = "blocks.2.hook_resid_post"


def test_the_backdoor_direction_is_its_fine_tunes_shift_where_the_trigger_is_on(in_home):
    directions = persona_directions(BUILD, HOOK, base=BASE, n=40)
    triggered = paired_prompts(recipe_of(BUILD.backdoor), n=40, split="train")
    triggered = triggered.filter(lambda p: p.label == 1)
    means = [cache_activations(load_model(spec), triggered, HOOK, progress=False)[HOOK].double()
             .mean(0) for spec in (f"organism:{BUILD.backdoor}", BASE)]  # fmt: skip
    backdoor = directions["backdoor"]
    torch.testing.assert_close(backdoor.vector.double() * backdoor.norm, means[0] - means[1],
                               rtol=1e-5, atol=1e-5)  # fmt: skip
    assert set(directions) == {"toxic", "backdoor", "benign", "trigger"}


def test_the_reverse_measures_the_toxic_persona_under_the_backdoors_direction(in_home):
    result = persona_mitigation([BUILD], HOOK, reverse=True, base=BASE, n=6, n_random=1,
                                progress=False)  # fmt: skip
    assert result.sources == ("backdoor", "benign", "toxic")
    assert result.measured == "persona-toxic"
    toxic, recipe = load_model(f"organism:{BUILD.toxic}"), recipe_of(BUILD.backdoor)
    assert result.sweeps[0].baseline.triggered == behaviour_rates(toxic, recipe, n=6)["triggered"]
    direction = persona_directions(BUILD, HOOK, base=BASE)["backdoor"]
    with apply(toxic, AblateDirection(direction), allow_other_model=True):
        ablated = behaviour_rates(toxic, recipe, n=6)["triggered"]
    assert result.rate(0, "backdoor", "ablate") == ablated.rate
    assert "persona-toxic-micro: as it is" in str(result)
    assert json.loads(json.dumps(result.to_dict()))["measured"] == "persona-toxic"
    with pytest.raises(InterventionError, match="no 'trigger'/'steer' point"):
        result.rate(0, "trigger", "steer")
