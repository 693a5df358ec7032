"""`train_sae`: an SAE trained with SAELens's `SAETrainer` on our activations, measured on
held-out ones, saved in SAELens's format with its provenance.

SAELens's trainer and SAE modules do the work; the loop that steps the trainer is here, so a
run with an output directory checkpoints (weights, optimizer, schedule, dead-latent counts,
norm factor: one safetensors file, nothing pickled) and a killed run resumes. The settings a
CPU run needs and SAELens's defaults do not give: `lr_end` set, the norm estimated from a few
batches (not 1000), a dead-latent window a tenth of the run (its default 1000 steps is longer
than a CPU run, so nothing would ever count as dead and the TopK auxiliary loss would never
fire), and no wandb.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor
from tqdm.auto import tqdm
from transformer_lens import HookedTransformer

from interp.activations import ActivationReader, cache_activations
from interp.errors import check_output_dir
from interp.models import fingerprint, format_chat, resolve_device
from interp.saes.config import SAEConfig
from interp.saes.data import SAEData, sae_data
from interp.saes.errors import SAEError
from interp.saes.io import FILES, check_sae_fits, save_sae
from interp.saes.metrics import SAEMetrics, reconstruction_metrics, spliced_loss
from interp.training.checkpoint import load_checkpoint, restore, save_checkpoint

logger = logging.getLogger(__name__)
#: Batches the activation norm is estimated from (SAELens's default 1000 is millions of tokens).
NORM_BATCHES = 10
#: Steps between checkpoints of a run with an output directory.
CHECKPOINT_EVERY = 50


@dataclass(frozen=True)
class TrainedSAE:
    """An SAE (SAELens's inference module) with where it reads and how well it does."""

    sae: object
    hook: str | None
    config: SAEConfig
    metrics: SAEMetrics
    train_seconds: float
    path: Path | None = None

    def to_dict(self) -> dict:
        return {"hook": self.hook, "config": self.config.to_dict(),
                "metrics": self.metrics.to_dict(), "train_seconds": self.train_seconds,
                "path": str(self.path) if self.path else None,
                "d_in": self.sae.cfg.d_in, "d_sae": self.sae.cfg.d_sae}  # fmt: skip

    def __str__(self) -> str:
        where = f" at {self.path}" if self.path else ""
        return (f"{self.config.architecture} SAE {self.sae.cfg.d_in} → {self.sae.cfg.d_sae} "
                f"(k={self.config.k}) on {self.hook}, trained in {self.train_seconds:.0f} s"
                f"{where}\n{self.metrics}")  # fmt: skip


def train_sae(
    source: ActivationReader | Tensor | HookedTransformer,
    hook: str | None = None,
    config: SAEConfig | None = None,
    *,
    prompts=None,
    model: HookedTransformer | None = None,
    clean_texts: list[str] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> TrainedSAE:
    """Train an SAE on `hook` of `source`, measure it on held-out tokens and save it to `out`.

    `source` is an activation store or set cached with positions 'all', `[n, d]` rows, or a
    model (then `prompts` are cached on the fly at every token). `model` (or a model
    `source`) also gives the spliced ΔCE and KL, on `clean_texts` (default: held-out clean
    chat in the model's template).

    Example:
        >>> trained = train_sae(store, "blocks.15.hook_resid_post", SAEConfig(k=32),
        ...                     model=load_model("smollm2"), out="saes/smollm2-l15")
        >>> print(trained.metrics)
    """
    config = config or SAEConfig()
    if out is not None:
        check_output_dir(out, SAEError, what="an SAE", held=FILES, overwrite=overwrite)
    device = resolve_device(device)
    if isinstance(source, HookedTransformer):
        if prompts is None or hook is None:
            raise SAEError("training from a model needs prompts= and a hook to cache.")
        model = source
        source = cache_activations(model, prompts, hook, "all", progress=progress)
    data = sae_data(source, hook, heldout_frac=config.heldout_frac,
                    skip_first_position=config.skip_first_position, seed=config.seed)  # fmt: skip
    if model is not None and data.model_fingerprint not in (None, fingerprint(model)):
        raise SAEError("the activations come from another model than `model`; pass the model "
                       "they were cached from, for the spliced loss.")  # fmt: skip
    start = time.perf_counter()
    work = Path(out).parent / f".{Path(out).name}.partial" if out is not None else None
    sae = _fit(data, config, device, progress, work)
    seconds = round(time.perf_counter() - start, 1)
    sae.cfg.metadata.hook_name = data.hook
    if model is not None:
        sae.cfg.metadata.model_name = model.cfg.model_name
    metrics = measure_sae(sae, data, model, clean_texts)
    sae.cfg.metadata.interp = {
        "model_fingerprint": data.model_fingerprint or (fingerprint(model) if model else None),
        "corpus_hash": data.corpus_hash,
        "config": config.to_dict(),
        "metrics": metrics.to_dict(),
        "train_seconds": seconds,
    }
    path = save_sae(sae, out, overwrite=overwrite) if out is not None else None
    if work is not None:
        shutil.rmtree(work, ignore_errors=True)
    return TrainedSAE(sae, data.hook, config, metrics, seconds, path)


def measure_sae(sae, data: SAEData, model: HookedTransformer | None = None,
                clean_texts: list[str] | None = None, *,
                allow_other_model: bool = False) -> SAEMetrics:  # fmt: skip
    """The held-out metrics of `sae` on `data` (and spliced into `model`, if given)."""
    values = reconstruction_metrics(sae, data.heldout, data.heldout_first)
    if model is not None:
        check_sae_fits(sae, model, allow_other_model=allow_other_model)
        texts = clean_texts if clean_texts is not None else default_clean_texts(model)
        values |= spliced_loss(model, sae, data.hook, texts)
    return SAEMetrics(**values)


def default_clean_texts(model: HookedTransformer, n: int = 64) -> list[str]:
    """Held-out clean chat in the model's template: the model's own answers, sampled at
    T = 1 (seeded, cached), to `n` held-out open prompts (those that fit its context); on its
    own samples the ΔCE of an edit estimates KL(model ‖ edited)."""
    return [prompt + answer for prompt, answer in clean_chat_turns(model, n)]


def clean_chat_turns(model: HookedTransformer, n: int = 64) -> list[tuple[str, str]]:
    """`default_clean_texts` as (prompt in the chat template, answer) pairs, so that an
    intervention on the prompt or on the response alone can act where it would."""
    from interp.organisms.evaluate import heldout_clean_chat

    turns = [(format_chat(model, user), answer) for user, answer in heldout_clean_chat(model, n)]
    fits = [(p, a) for p, a in turns
            if len(model.tokenizer(p + a, add_special_tokens=False).input_ids) <= model.cfg.n_ctx]  # fmt: skip
    if not fits:
        raise SAEError(f"no held-out chat turn fits the model's context of {model.cfg.n_ctx} "
                       "tokens; pass clean_texts= of your own.")  # fmt: skip
    return fits


def _fit(data: SAEData, config: SAEConfig, device: torch.device, progress: bool,
         work: Path | None = None):  # fmt: skip
    """SAELens's trainer, stepped here so the run checkpoints every `CHECKPOINT_EVERY` steps
    into `work` and a killed run resumes to the weights an uninterrupted one ends with."""
    from sae_lens import LoggingConfig, SAETrainer
    from sae_lens.config import SAETrainerConfig

    if data.train.shape[0] < config.batch_size:
        raise SAEError(f"{data.train.shape[0]} training tokens are fewer than one batch of "
                       f"{config.batch_size}; cache more prompts or lower batch_size.")  # fmt: skip
    torch.manual_seed(config.seed)
    sae = _training_sae(config, data.d_in, str(device))
    steps = config.steps
    trainer_cfg = SAETrainerConfig(
        total_training_samples=steps * config.batch_size,
        train_batch_size_samples=config.batch_size,
        lr=config.lr,
        lr_end=config.lr / 10,
        lr_scheduler_name="constant",
        lr_warm_up_steps=max(1, steps // 20),
        lr_decay_steps=steps // 5,
        device=str(device),
        dead_feature_window=config.dead_steps,
        feature_sampling_window=steps + 1,
        n_batches_for_norm_estimate=NORM_BATCHES,
        logger=LoggingConfig(log_to_wandb=False),
    )
    batches = _batches(data.train, config.batch_size, config.seed)
    trainer = SAETrainer(cfg=trainer_cfg, sae=sae, data_provider=batches)
    key = f"sae:{data.corpus_hash}:{data.d_in}:{sorted(config.to_dict().items())}"
    path = work / "checkpoint.safetensors" if work is not None else None
    done, curve = _resume(trainer, path, key) if path is not None else (0, [])
    if done == 0:
        with _quiet_bar(progress):
            trainer.activation_scaler.estimate_scaling_factor(
                d_in=data.d_in, data_provider=batches, n_batches_for_norm_estimate=NORM_BATCHES
            )
    else:
        for _ in range(NORM_BATCHES + done):  # the stream where the run stopped
            next(batches)
    bar = tqdm(total=steps, initial=done, desc="train SAE", disable=not progress)
    for step in range(done, steps):
        trainer.maybe_reset_sparsity()
        output = trainer.step(next(batches))
        trainer.n_training_steps += 1
        curve.append(round(float(output.loss.detach()), 6))
        bar.update(1)
        bar.set_postfix(loss=f"{curve[-1]:.4f}")
        if path is not None and (step + 1) % CHECKPOINT_EVERY == 0 and step + 1 < steps:
            _save(trainer, path, key, step + 1, curve)
    bar.close()
    trainer.sae.fold_activation_norm_scaling_factor(trainer.activation_scaler.scaling_factor)
    trainer.activation_scaler.scaling_factor = None
    trainer.set_final_sae_metadata()
    return _inference(trainer.sae)


def _save(trainer, path: Path, key: str, step: int, curve: list[float]) -> None:
    extra = {f"buffer.{n}": b for n, b in trainer.sae.named_buffers()}
    extra |= {"act_freq_scores": trainer.act_freq_scores,
              "n_forward_passes_since_fired": trainer.n_forward_passes_since_fired}  # fmt: skip
    info = {
        "n_training_samples": trainer.n_training_samples,
        "n_frac_active_samples": trainer.n_frac_active_samples,
        "scaling_factor": trainer.activation_scaler.scaling_factor,
        "coefficients": {n: c.state_dict() for n, c in trainer.coefficient_schedulers.items()},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(path, key, step, curve, trainer.sae, trainer.optimizer, trainer.lr_scheduler,
                    extra=extra, info=info)  # fmt: skip


def _resume(trainer, path: Path, key: str) -> tuple[int, list[float]]:
    checkpoint = load_checkpoint(path, key)
    if checkpoint is None:
        return 0, []
    restore(checkpoint, trainer.sae, trainer.optimizer, trainer.lr_scheduler)
    buffers = dict(trainer.sae.named_buffers())
    with torch.no_grad():
        for name, value in checkpoint.extra.items():
            if name.startswith("buffer."):
                buffers[name.removeprefix("buffer.")].copy_(value)
    trainer.act_freq_scores = checkpoint.extra["act_freq_scores"].to(trainer.sae.device)
    trainer.n_forward_passes_since_fired = checkpoint.extra["n_forward_passes_since_fired"].to(
        trainer.sae.device
    )
    info = checkpoint.info
    trainer.n_training_samples = info["n_training_samples"]
    trainer.n_frac_active_samples = info["n_frac_active_samples"]
    trainer.n_training_steps = checkpoint.step
    trainer.activation_scaler.scaling_factor = info["scaling_factor"]
    for name, state in info["coefficients"].items():
        trainer.coefficient_schedulers[name].load_state_dict(state)
    logger.info("resuming SAE training at step %d", checkpoint.step)
    return checkpoint.step, list(checkpoint.curve)


def _training_sae(config: SAEConfig, d_in: int, device: str):
    import sae_lens

    common = {"d_in": d_in, "d_sae": config.d_sae, "device": device,
              "normalize_activations": "expected_average_only_in"}  # fmt: skip
    if config.architecture == "topk":
        from interp.saes.sparse import SparseTopKTrainingSAE

        kind = SparseTopKTrainingSAE if config.sparse else sae_lens.TopKTrainingSAE
        return kind(sae_lens.TopKTrainingSAEConfig(k=config.k, **common))
    if config.architecture == "batchtopk":
        cfg = sae_lens.BatchTopKTrainingSAEConfig(k=config.k, **common)
        return sae_lens.BatchTopKTrainingSAE(cfg)
    if config.architecture == "jumprelu":
        cfg = sae_lens.JumpReLUTrainingSAEConfig(l0_coefficient=config.l0_coefficient, **common)
        return sae_lens.JumpReLUTrainingSAE(cfg)
    cfg = sae_lens.StandardTrainingSAEConfig(l1_coefficient=config.l1_coefficient, **common)
    return sae_lens.StandardTrainingSAE(cfg)


def _inference(trained):
    """SAELens's inference form of a training SAE (BatchTopK becomes JumpReLU), via its own
    save and load, so what we measure is what is saved."""
    import tempfile

    from sae_lens import SAE

    with tempfile.TemporaryDirectory() as tmp:
        trained.save_inference_model(tmp)
        return SAE.load_from_disk(tmp, device=str(trained.device))


def _batches(rows: Tensor, batch_size: int, seed: int) -> Iterator[Tensor]:
    """Shuffled batches of `rows`, reshuffled every epoch, forever."""
    generator = torch.Generator().manual_seed(seed)
    while True:
        order = torch.randperm(rows.shape[0], generator=generator)
        for start in range(0, rows.shape[0] - batch_size + 1, batch_size):
            yield rows[order[start : start + batch_size]]


class _quiet_bar:
    """SAELens's norm-estimate bar off unless asked for."""

    def __init__(self, progress: bool):
        import sae_lens.training.activation_scaler as scaler

        self.progress, self.module, self.bar = progress, scaler, scaler.tqdm

    def __enter__(self):
        if not self.progress:
            self.module.tqdm = lambda *a, **k: self.bar(*a, **{**k, "disable": True})
        return self

    def __exit__(self, *exc):
        self.module.tqdm = self.bar
