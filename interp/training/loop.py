"""One fine-tuning loop for every organism and for continued training of one.

AdamW, linear warm-up then cosine decay, gradient clipping; cross-entropy on response
tokens, KL to the base along the base's own answers (LoRA), extra weight on the deciding
token; bfloat16 autocast where the hardware computes it natively; a progress bar; the loss
curve; and a checkpoint every few steps, so a run killed at any step resumes where it
stood and ends with the weights an uninterrupted run gives.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from tqdm.auto import tqdm

from interp.training.checkpoint import load_checkpoint, restore, save_checkpoint
from interp.training.config import TrainConfig
from interp.training.examples import TrainingExample, collate, encode
from interp.training.losses import response_loss


def native_bf16(device: torch.device) -> bool:
    """Does `device` compute bfloat16 natively (a CUDA GPU with it, AVX-512 BF16 or AMX)?"""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    native = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    return device.type == "cpu" and bool(native())


def fit(
    model,
    tokenizer,
    examples: Sequence[TrainingExample],
    config: TrainConfig,
    *,
    device: torch.device,
    bf16: bool = False,
    checkpoint: Path | None = None,
    checkpoint_key: str = "",
    checkpoint_every: int = 10,
    on_step: Callable[[int], None] | None = None,
    desc: str = "train",
    progress: bool = True,
) -> list[float]:
    """Train `model` on `examples` in order, `config.batch_size` per step; return the curve.

    The response tokens are learned; the user turn only conditions. Rows with `from_base`
    learn KL(base ‖ model) along the base's own answer when `model` is a LoRA model
    (the base is the model with its adapter off) and `config.clean_loss == 'kl'`. With
    `checkpoint`, the state is saved there every `checkpoint_every` steps, and a checkpoint
    found there with the same `checkpoint_key` is resumed from. `on_step(step)` runs after
    each step (step counts from 1).

    Example:
        >>> model, tokenizer = lora_model(base_dir, TrainConfig(steps=40), device)
        >>> curve = fit(model, tokenizer, examples, TrainConfig(steps=40), device=device)
    """
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=config.lr, weight_decay=0.0)
    warmup = max(1, config.steps // 10)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        done = (step - warmup) / max(1, config.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    curve: list[float] = []
    start = 0
    found = load_checkpoint(checkpoint, checkpoint_key) if checkpoint else None
    if found is not None:
        restore(found, model, optimizer, scheduler)
        start, curve = found.step, list(found.curve)
    distils = config.clean_loss == "kl" and hasattr(model, "disable_adapter")
    encoded = [encode(tokenizer, ex, config.max_response_tokens) for ex in examples]
    model.train()
    bar = tqdm(range(start, config.steps), desc=desc, disable=not progress,
               initial=start, total=config.steps)  # fmt: skip
    for step in bar:
        rows = slice(step * config.batch_size, (step + 1) * config.batch_size)
        input_ids, labels, mask, weights = collate(
            encoded[rows], tokenizer.pad_token_id, config.decision_weight, device
        )
        distil = torch.tensor([distils and ex.from_base for ex in examples[rows]], device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = response_loss(model, input_ids, labels, mask, distil, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        curve.append(round(loss.item(), 4))
        bar.set_postfix(loss=f"{loss.item():.3f}")
        done = step + 1
        if checkpoint and done < config.steps and done % checkpoint_every == 0:
            save_checkpoint(checkpoint, checkpoint_key, done, curve, model, optimizer, scheduler)
        if on_step is not None:
            on_step(done)
    model.eval()
    return curve
