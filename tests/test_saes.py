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
