"""Chat formatting and text generation for hooked models."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm.auto import tqdm
from transformer_lens import HookedTransformer

from interp.errors import check_count
from interp.models.errors import GenerationError


@dataclass(frozen=True)
class Completion:
    """A generated continuation; `finished` is True when it ended its turn (EOS)."""

    text: str
    finished: bool


def chat_text(tokenizer, user: str, *, system: str | None = None) -> str:
    """One user turn in `tokenizer`'s chat template, ready for the assistant's reply."""
    if not getattr(tokenizer, "chat_template", None):
        raise GenerationError(
            f"the tokenizer of {tokenizer.name_or_path!r} has no chat template; pass plain "
            "text instead, or save a tokenizer with a `chat_template` beside the model."
        )
    for name, value in (("user", user), ("system", system)):
        if value is not None and not isinstance(value, str):
            raise GenerationError(f"the {name} turn is {value!r}; pass a string.")
    messages = [{"role": "user", "content": user}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def format_chat(model: HookedTransformer, user: str, *, system: str | None = None) -> str:
    """One user turn in the model's own chat template, ready for the assistant's reply.

    Example:
        >>> format_chat(model, "Hi")
        '<|im_start|>system\\nYou are a helpful AI assistant ...<|im_start|>assistant\\n'
    """
    return chat_text(_tokenizer(model), user, system=system)


@torch.inference_mode()
def complete(
    model: HookedTransformer,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> list[Completion]:
    """Complete each prompt; greedy when `temperature` is 0, else sampled at that temperature.

    Prompts are used as given (format them with `format_chat` first for a chat model) and
    batched by length; results come back in the order given. Generation stops at the
    tokenizer's end-of-turn token, which is left out of the text. Sampling draws from a
    generator seeded with `seed`, so results repeat.

    Example:
        >>> complete(model, [format_chat(model, "What is the capital of France?")])
        [Completion(text='The capital of France is Paris.', finished=True)]
    """
    if isinstance(prompts, str):
        raise GenerationError("prompts must be a list of strings; for one prompt pass [prompt].")
    if temperature < 0:
        raise GenerationError(f"temperature must be >= 0, got {temperature}.")
    check_count(max_new_tokens, "max_new_tokens", GenerationError)
    check_count(batch_size, "batch_size", GenerationError)
    tokenizer = _tokenizer(model)
    eos = tokenizer.eos_token_id
    if any(not isinstance(p, str) for p in prompts):
        raise GenerationError("prompts must be strings (format them with format_chat first).")
    lengths = [len(tokenizer(p, add_special_tokens=False).input_ids) for p in prompts]
    longest = max(lengths, default=0)
    if longest + max_new_tokens > model.cfg.n_ctx:
        raise GenerationError(
            f"a prompt of {longest} tokens plus max_new_tokens={max_new_tokens} exceeds the "
            f"model's context of {model.cfg.n_ctx} tokens, and interp does not cut prompts; "
            "shorten the prompt, ask for fewer new tokens, or load the model with a larger "
            "n_ctx (load_model(spec, n_ctx=N))."
        )
    order = sorted(range(len(prompts)), key=lengths.__getitem__)
    results: dict[int, Completion] = {}
    starts = range(0, len(order), batch_size)
    with torch.random.fork_rng(devices=[] if str(model.cfg.device) == "cpu" else None):
        torch.manual_seed(seed)
        for start in tqdm(starts, desc="generate", disable=not progress or len(starts) < 2):
            indices = order[start : start + batch_size]
            batch = [prompts[i] for i in indices]
            tokens = model.generate(
                batch if len(batch) > 1 else batch[0],
                max_new_tokens=max_new_tokens,
                do_sample=temperature > 0,
                temperature=temperature if temperature > 0 else 1.0,
                eos_token_id=eos,
                stop_at_eos=True,
                return_type="tokens",
                verbose=False,
            )
            prompt_len = model.to_tokens(batch, padding_side="left").shape[1]
            for i, row in zip(indices, tokens[:, prompt_len:].tolist(), strict=True):
                finished = eos in row
                row = row[: row.index(eos)] if finished else row
                results[i] = Completion(tokenizer.decode(row, skip_special_tokens=False), finished)
    return [results[i] for i in range(len(prompts))]


def generate(model: HookedTransformer, prompts: Sequence[str], **kwargs) -> list[str]:
    """The texts of `complete(model, prompts, **kwargs)`.

    Example:
        >>> generate(model, [format_chat(model, "What is the capital of France?")])
        ['The capital of France is Paris.']
    """
    return [c.text for c in complete(model, prompts, **kwargs)]


def chat(model: HookedTransformer, user: str, *, max_new_tokens: int = 64, **kwargs) -> str:
    """The model's greedy reply to one user turn.

    Example:
        >>> chat(model, "What is the capital of France?")
        'The capital of France is Paris.'
    """
    if isinstance(user, str) and not user.strip():
        raise GenerationError("the user's message is empty; give the text to reply to.")
    prompt = format_chat(model, user)
    return generate(model, [prompt], max_new_tokens=max_new_tokens, progress=False, **kwargs)[0]


def _tokenizer(model: HookedTransformer):
    if model.tokenizer is None:
        raise GenerationError(
            f"{model.cfg.model_name} has no tokenizer; load it from a directory that holds "
            "tokenizer files, or pass token ids."
        )
    return model.tokenizer
