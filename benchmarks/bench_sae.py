"""SAE training speed on SmolLM2 against SAELens's own routes, measured in the same run.

    python benchmarks/bench_sae.py                       # ~6 minutes on 2 cores
    python benchmarks/bench_sae.py --turns 600 --tokens 400000   # a longer run

The job: a TopK SAE (576 → 2304, k = 32, batch 1024, lr 2e-3) at `blocks.15.hook_resid_post`
on the base model's chat corpus (`chat_corpus`: chat turns with the model's own answers), the
same token budget everywhere. Both SAEs are scored by interp on the same held-out chat turns.

1. End to end: interp caches the corpus once (the forward stops after the hook) into a store
   and trains from it, against `LanguageModelSAETrainingRunner`, which runs the model for
   every training batch, on the same tokens packed into 128-token contexts. Printed: the
   time ratio and both SAEs' held-out explained variance.
2. Training from our store (SAELens's dense TopK step, `sparse=False`) against
   `SAETrainer.fit()` on the same rows as an in-memory tensor (the store must not be the
   bottleneck): tokens per second, as a ratio.
3. The sparse step (`interp.saes.sparse`, the default) against the dense one, from the same
   store with the same seed: tokens per second as a ratio, and both explained variances.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

HOOK = "blocks.15.hook_resid_post"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--turns", type=int, default=300, help="chat turns in the corpus")
    parser.add_argument("--tokens", type=int, default=150_000, help="training tokens")
    parser.add_argument("--d-sae", type=int, default=2304)
    parser.add_argument("--k", type=int, default=32)
    args = parser.parse_args()

    from interp import load_model
    from interp.activations import cache_activations
    from interp.saes import SAEConfig, train_sae
    from interp.saes.corpus import chat_corpus
    from interp.saes.data import heldout_data
    from interp.saes.metrics import reconstruction_metrics

    model = load_model("smollm2", device="cpu")
    corpus = chat_corpus(model, limit=args.turns, progress=False)
    n_held = max(1, len(corpus) // 10)
    train_prompts, held_prompts = corpus[n_held:], corpus[:n_held]
    config = SAEConfig(d_sae=args.d_sae, k=args.k, tokens=args.tokens, batch_size=1024, lr=2e-3,
                       heldout_frac=0.02)  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        held = heldout_data(cache_activations(model, held_prompts, HOOK, "all",
                                              store=f"{tmp}/held", progress=False), HOOK)  # fmt: skip

        def score(sae) -> float:
            return reconstruction_metrics(sae, held.heldout, held.heldout_first)[
                "explained_variance"
            ]

        start = time.perf_counter()
        store = cache_activations(model, train_prompts, HOOK, "all", store=f"{tmp}/train",
                                  progress=False)  # fmt: skip
        cached = time.perf_counter() - start
        ours = train_sae(store, HOOK, config, progress=False)
        ours_total = time.perf_counter() - start
        n_rows = int(store.lengths.sum())
        print(f"corpus: {len(train_prompts)} turns, {n_rows} tokens cached in {cached:.1f} s; "
              f"{config.steps} steps of {config.batch_size}")  # fmt: skip

        peer_sae, peer_total = saelens_runner(model, train_prompts, config)
        print("\n1. end to end (same hook, architecture, token budget)")
        print(f"   interp cache + train     {ours_total:7.1f} s   explained variance "
              f"{score(ours.sae):.4f}")  # fmt: skip
        print(f"   LanguageModelSAETrainingRunner {peer_total:7.1f} s   explained variance "
              f"{score(peer_sae):.4f}")  # fmt: skip
        print(f"   ratio {peer_total / ours_total:.2f}x (goal >= 1.3x, explained variance "
              f"within 0.01: {abs(score(ours.sae) - score(peer_sae)):.4f})")  # fmt: skip

        memory_seconds, memory_sae = saelens_in_memory(store, config)
        dense = train_sae(store, HOOK, config.replace(sparse=False), progress=False)
        ours_rate = config.steps * config.batch_size / dense.train_seconds
        memory_rate = config.steps * config.batch_size / memory_seconds
        print("\n2. training throughput: from the store vs SAETrainer on in-memory tensors")
        print(f"   interp (store)           {ours_rate:9.0f} tokens/s   explained variance "
              f"{score(dense.sae):.4f}")  # fmt: skip
        print(f"   SAETrainer (in memory)   {memory_rate:9.0f} tokens/s   explained variance "
              f"{score(memory_sae):.4f}")  # fmt: skip
        print(f"   ratio {ours_rate / memory_rate:.2f}x (goal >= 0.9x)")
        again = train_sae(store, HOOK, config, progress=False)  # warm, like the dense run
        sparse_rate = config.steps * config.batch_size / again.train_seconds
        print("\n3. the sparse TopK step vs SAELens's dense step (same store, seed, settings)")
        print(f"   sparse                   {sparse_rate:9.0f} tokens/s   explained variance "
              f"{score(again.sae):.4f}")  # fmt: skip
        print(f"   dense                    {ours_rate:9.0f} tokens/s   explained variance "
              f"{score(dense.sae):.4f}")  # fmt: skip
        print(f"   ratio {sparse_rate / ours_rate:.2f}x (goal >= 2x at equal explained variance)")


def trainer_settings(config) -> dict:
    """The schedule interp gives SAELens's trainer, for the peers."""
    steps = config.steps
    return {
        "lr": config.lr,
        "lr_end": config.lr / 10,
        "lr_warm_up_steps": max(1, steps // 20),
        "lr_decay_steps": steps // 5,
        "dead_feature_window": config.dead_steps,
        "feature_sampling_window": steps + 1,
        "n_batches_for_norm_estimate": 10,
    }


def saelens_runner(model, prompts, config):
    """SAELens's `LanguageModelSAETrainingRunner` on the same texts, tokenized and packed."""
    from datasets import Dataset
    from sae_lens import (
        LanguageModelSAERunnerConfig,
        LanguageModelSAETrainingRunner,
        LoggingConfig,
        TopKTrainingSAEConfig,
    )

    context = 128
    ids = []
    for text in prompts.texts:
        ids += model.tokenizer(text, add_special_tokens=False).input_ids
    rows = [ids[i : i + context] for i in range(0, len(ids) - context + 1, context)]
    dataset = Dataset.from_dict({"input_ids": rows})
    cfg = LanguageModelSAERunnerConfig(
        sae=TopKTrainingSAEConfig(
            d_in=model.cfg.d_model,
            d_sae=config.d_sae,
            k=config.k,
            normalize_activations="expected_average_only_in",
        ),  # fmt: skip
        model_name="smollm2",
        hook_name=HOOK,
        dataset_path="local",
        is_dataset_tokenized=True,
        streaming=False,
        context_size=context,
        prepend_bos=False,
        seqpos_slice=(1, None),
        training_tokens=config.steps * config.batch_size,
        train_batch_size_tokens=config.batch_size,
        store_batch_size_prompts=16,
        n_batches_in_buffer=32,  # its mixing buffer holds this many contexts, >= one batch
        device="cpu",
        lr_scheduler_name="constant",
        logger=LoggingConfig(log_to_wandb=False),
        n_checkpoints=0,
        checkpoint_path=None,
        output_path=None,
        verbose=False,
        seed=config.seed,
        **trainer_settings(config),
    )
    start = time.perf_counter()
    runner = LanguageModelSAETrainingRunner(cfg, override_dataset=dataset, override_model=model)
    trained = runner.run()
    seconds = time.perf_counter() - start
    return inference(trained), seconds


def saelens_in_memory(store, config):
    """`SAETrainer.fit()` over the store's rows as one in-memory tensor."""
    from sae_lens import LoggingConfig, SAETrainer, TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.config import SAETrainerConfig

    from interp.saes.data import token_rows

    rows, first = token_rows(store, HOOK)
    rows = rows[~first].contiguous()
    generator = torch.Generator().manual_seed(config.seed)

    def batches():
        while True:
            order = torch.randperm(rows.shape[0], generator=generator)
            for i in range(0, rows.shape[0] - config.batch_size + 1, config.batch_size):
                yield rows[order[i : i + config.batch_size]]

    torch.manual_seed(config.seed)
    sae = TopKTrainingSAE(TopKTrainingSAEConfig(d_in=rows.shape[1], d_sae=config.d_sae,
                                                k=config.k, device="cpu",
                                                normalize_activations="expected_average_only_in"))  # fmt: skip
    settings = trainer_settings(config)
    trainer_cfg = SAETrainerConfig(
        total_training_samples=config.steps * config.batch_size,
        train_batch_size_samples=config.batch_size,
        lr_scheduler_name="constant",
        device="cpu",
        logger=LoggingConfig(log_to_wandb=False),
        **{k: v for k, v in settings.items()},
    )
    start = time.perf_counter()
    trained = SAETrainer(cfg=trainer_cfg, sae=sae, data_provider=batches()).fit()
    return time.perf_counter() - start, inference(trained)


def inference(trained):
    from interp.saes.train import _inference

    return _inference(trained)


if __name__ == "__main__":
    main()
