"""The sparse TopK step computes SAELens's TopK step: the same loss, outputs and gradients,
with and without the auxiliary loss for dead latents, with and without the decoder-norm
rescaling; and a run of it saves SAELens's format."""

from __future__ import annotations

import pytest
import sae_lens
import torch
from sae_lens.saes.sae import TrainStepInput

from interp.saes.sparse import SparseTopKTrainingSAE


def _step(sae, x, dead):
    sae.zero_grad()
    out = sae.training_forward_pass(TrainStepInput(sae_in=x, coefficients={},
                                                   dead_neuron_mask=dead, n_training_steps=0,
                                                   is_logging_step=False))  # fmt: skip
    out.loss.backward()
    return out, {name: p.grad.clone() for name, p in sae.named_parameters()}


@pytest.mark.parametrize("rescale", [True, False])
@pytest.mark.parametrize("with_dead", [False, True])
def test_the_sparse_step_has_saelens_loss_and_gradients(rescale, with_dead):
    torch.manual_seed(0)
    cfg = sae_lens.TopKTrainingSAEConfig(d_in=48, d_sae=192, k=6, device="cpu",
                                         rescale_acts_by_decoder_norm=rescale)  # fmt: skip
    dense = sae_lens.TopKTrainingSAE(cfg)
    sparse = SparseTopKTrainingSAE(cfg)
    sparse.load_state_dict(dense.state_dict())
    x = torch.randn(64, 48) * 3
    dead = torch.arange(192) < 80 if with_dead else None
    (a, grads_a), (b, grads_b) = _step(dense, x, dead), _step(sparse, x, dead)
    torch.testing.assert_close(b.loss, a.loss)
    torch.testing.assert_close(b.sae_out, a.sae_out)
    torch.testing.assert_close(b.feature_acts, a.feature_acts)
    assert set(b.losses) == set(a.losses)
    for name, grad in grads_a.items():
        torch.testing.assert_close(grads_b[name], grad, msg=name)
    assert int((b.feature_acts != 0).sum(-1).max()) <= 6


def test_a_sparse_run_saves_saelens_format(tmp_path):
    from sae_lens import SAE

    from interp.saes import SAEConfig, train_sae

    rows = torch.randn(3000, 32)
    config = SAEConfig(d_sae=64, k=4, tokens=64 * 25, batch_size=64)
    assert config.sparse
    trained = train_sae(rows, "blocks.0.hook_resid_post", config, out=tmp_path / "sae",
                        progress=False)  # fmt: skip
    loaded = SAE.load_from_disk(tmp_path / "sae")
    assert loaded.cfg.architecture() == "topk"
    torch.testing.assert_close(loaded.encode(rows[:5]), trained.sae.encode(rows[:5]))
    assert trained.metrics.l0 == pytest.approx(4.0)
