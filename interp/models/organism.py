"""Read an organism directory (`<home>/organisms/NAME`) back into a hooked model.

A fine-tune of a base model stores only a LoRA adapter (a few MB) and a card recording the
base's weight digest; loading refuses a base whose weights differ. A micro organism stores
its whole (tiny) model. Every file is checked against the sha256 the card records.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from transformer_lens import HookedTransformer

from interp.checksums import sha256_file
from interp.models.errors import ModelLoadError, OrganismNotTrainedError
from interp.models.hf import load_hf_directory

CARD = "card.json"
CARD_FORMAT = 1


def train_command(name: str) -> str:
    """The command that (re)builds organism `name`."""
    if name.endswith("-micro"):
        return f"interp organism train {name.removesuffix('-micro')} --size micro"
    return f"interp organism train {name}"


def read_card(directory: Path, name: str) -> dict:
    """The organism's card, after checking that every file it lists is intact."""
    card_file = directory / CARD
    if not card_file.is_file():
        raise OrganismNotTrainedError(
            f"organism {name!r} is not trained yet (no {CARD} in {directory}); "
            f"train it with `{train_command(name)}`."
        )
    try:
        card = json.loads(card_file.read_text())
        files = card["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ModelLoadError(
            f"{card_file} is corrupted (not a valid organism card); retrain with "
            f"`{train_command(name)} --overwrite`."
        ) from None
    if card.get("format_version") != CARD_FORMAT:
        raise ModelLoadError(
            f"{card_file} has format {card.get('format_version')}, this interp reads "
            f"{CARD_FORMAT}; retrain with `{train_command(name)} --overwrite`."
        )
    for file, digest in files.items():
        path = directory / file
        if not path.is_file():
            raise ModelLoadError(
                f"organism {name!r} is missing {file}; retrain with "
                f"`{train_command(name)} --overwrite`."
            )
        if sha256_file(path) != digest:
            raise ModelLoadError(
                f"{path} does not match the checksum in its card (corrupted); retrain with "
                f"`{train_command(name)} --overwrite`."
            )
    return card


def weights_digest(directory: Path) -> str:
    """sha256 over the model weight files of a Hugging Face directory."""
    recorded = directory / "interp-checksums.json"
    files = {}
    if recorded.is_file():
        files = {
            k: v for k, v in json.loads(recorded.read_text())["files"].items()
            if k.endswith(".safetensors")
        }  # fmt: skip
    if not files:
        files = {p.name: sha256_file(p) for p in sorted(directory.glob("*.safetensors"))}
    return hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()


def load_organism_dir(
    directory: Path,
    name: str,
    base_dir: Path | None,
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    n_ctx: int | None = None,
) -> HookedTransformer:
    """Load the organism in `directory`; `base_dir` is its base model's HF directory."""
    card = read_card(directory, name)
    kwargs = {"device": device, "dtype": dtype, "n_ctx": n_ctx, "model_name": f"organism:{name}"}
    if card["kind"] == "micro":
        return load_hf_directory(directory, **kwargs)
    if base_dir is None:
        raise ModelLoadError(f"organism {name!r} needs its base model {card['base']!r}.")
    found = weights_digest(base_dir)
    if found != card["base_weights_sha256"]:
        raise ModelLoadError(
            f"organism {name!r} was trained on base {card['base']!r} with weight digest "
            f"{card['base_weights_sha256'][:16]}…, but the base found now has {found[:16]}…; "
            f"load the base it was trained on, or retrain with "
            f"`{train_command(name)} --overwrite`."
        )
    return load_hf_directory(base_dir, adapter=directory, **kwargs)
