"""Read an organism directory (`<home>/organisms/NAME`) back into a hooked model.

A fine-tune of a base model stores only a LoRA adapter (a few MB) and a card recording the
base's weight digest; loading refuses a base whose weights differ. A micro organism stores
its whole (tiny) model. Every file is checked against the sha256 the card records.
"""

from __future__ import annotations

import difflib
import hashlib
import json
from pathlib import Path

import torch
from transformer_lens import HookedTransformer

from interp.checksums import sha256_file
from interp.models.errors import ModelLoadError, OrganismNotTrainedError
from interp.models.hf import load_hf_directory

CARD = "card.json"
#: The card format this interp writes; it reads these (format 1 cards mixed the training
#: configuration into the recipe; they are read as they are).
CARD_FORMAT = 2
READABLE_CARD_FORMATS = (1, 2)


def train_command(name: str) -> str:
    """The command that (re)builds organism `name`."""
    if name.endswith("-micro"):
        return f"interp organism train {name.removesuffix('-micro')} --size micro"
    return f"interp organism train {name}"


def read_card_json(directory: Path, name: str) -> dict:
    """The organism's card as JSON, after checking its format and that every file it lists
    is intact. `interp.organisms.read_card` turns it into an `OrganismCard`."""
    card_file = directory / CARD
    if not card_file.is_file():
        built = [p.parent.name for p in directory.parent.glob(f"*/{CARD}")]
        close = difflib.get_close_matches(name, built, n=3, cutoff=0.6)
        hint = f" Built organisms with close names: {', '.join(close)}." if close else ""
        raise OrganismNotTrainedError(
            f"organism {name!r} is not trained yet (no {CARD} in {directory}); "
            f"train it with `{train_command(name)}` if it is a built-in recipe "
            f"(`interp organism list` shows them).{hint}"
        )
    try:
        card = json.loads(card_file.read_text())
        files = card["files"]
    except (json.JSONDecodeError, KeyError, TypeError):
        raise ModelLoadError(
            f"{card_file} is corrupted (not a valid organism card); retrain with "
            f"`{train_command(name)} --overwrite`."
        ) from None
    found = card.get("format_version")
    if found not in READABLE_CARD_FORMATS:
        newer = isinstance(found, int) and found > CARD_FORMAT
        raise ModelLoadError(
            f"{card_file} has card format {found}, and this interp reads formats "
            f"{', '.join(map(str, READABLE_CARD_FORMATS))}; "
            + ("it was built by a newer interp: upgrade interp to load it." if newer else
               f"it is older than those: rebuild it with `{train_command(name)} --overwrite`.")
        )  # fmt: skip
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
    card: dict | None = None,
) -> HookedTransformer:
    """Load the organism in `directory`; `base_dir` is its base model's HF directory.
    `card`: its card, already read (and its files checked) by `read_card_json`."""
    card = card or read_card_json(directory, name)
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
