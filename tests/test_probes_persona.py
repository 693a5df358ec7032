"""Model diffing and the persona table on activations with a planted shared direction."""

from __future__ import annotations

import json

import matplotlib
import pytest
import torch

from interp.activations import ActivationSet, CachedPrompt, Positions
from interp.experiments.persona import persona_table_of
from interp.probes import ProbeMismatchError
from interp.probes.model_diff import model_contrast

D, N = 64, 80
HOOK = "blocks.0.hook_resid_post"

matplotlib.use("Agg")


def rows(shift: torch.Tensor | None, seed: int, *, paired: bool = False) -> ActivationSet:
    """`N` prompts (paired: each with trigger, label 1, and without), rows = noise + shift
    (on label-1 rows when paired, on every row otherwise)."""
    g = torch.Generator().manual_seed(seed)
    if paired:
        examples = [
            CachedPrompt(f"q{i}-{label}", label, "dilemma", pair_id=f"q{i}")
            for i in range(N // 2)
            for label in (1, 0)
        ]
    else:
        examples = [CachedPrompt(f"q{i}", 0, "dilemma") for i in range(N)]
    x = torch.randn(N, D, generator=g)
    if shift is not None:
        on = torch.tensor([e.label == 1 or not paired for e in examples], dtype=torch.float32)
        x = x + on[:, None] * shift
    return ActivationSet({HOOK: x}, tuple(examples), Positions("last"), str(seed) * 8, "p")


def test_model_contrast_interleaves_the_two_models_rows_as_pairs():
    tuned, base = rows(torch.ones(D), 1), rows(None, 2)
    both = model_contrast(tuned, base)
    assert both.labels[:4].tolist() == [1, 0, 1, 0]
    assert torch.equal(both[HOOK][0::2], tuned[HOOK]) and torch.equal(both[HOOK][1::2], base[HOOK])
    assert [e.pair_id for e in both.examples[:2]] == ["q0", "q0"]
    with pytest.raises(ProbeMismatchError, match="different prompts"):
        model_contrast(tuned, rows(None, 2, paired=True))


def test_a_shared_direction_transfers_and_the_benign_shift_does_not():
    g = torch.Generator().manual_seed(0)
    shared, other = torch.randn(D, generator=g), torch.randn(D, generator=g)
    other -= (other @ shared) / (shared @ shared) * shared  # orthogonal to the shared one
    acts = {
        "backdoor": rows(1.5 * shared / shared.norm() * 3, 10, paired=True),
        "toxic": rows(2.0 * shared / shared.norm() * 3, 11),
        "benign": rows(2.0 * other / other.norm() * 3, 12),
        "base": rows(None, 13),
    }
    table = persona_table_of(acts, n_random=200)
    assert table.cell("backdoor", "backdoor")[0] > 0.95
    assert table.cell("toxic", "backdoor")[0] > 0.9  # the shared direction transfers
    assert table.cell("backdoor", "toxic")[0] > 0.9
    assert 0.25 < table.cell("benign", "backdoor")[0] < 0.75  # an unrelated fine-tune does not
    assert table.random_p95[0][0] < table.cell("toxic", "backdoor")[0]
    cos = dict(zip(table.cosine_pairs, table.cosine[0], strict=True))
    assert cos["cos back·toxi"] > 0.8 and abs(cos["cos back·beni"]) < 0.4
    assert "toxi→back" in str(table)
    ax = table.plot()
    assert len(ax.lines) == 6 and list(ax.lines[0].get_ydata()) == table.cell("toxic", "backdoor")
    json.dumps(table.to_dict())
