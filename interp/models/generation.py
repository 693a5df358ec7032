"""Chat formatting and text generation for hooked models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from tqdm.auto import tqdm
from transformer_lens import HookedTransformer


def format_chat(model: HookedTransformer, user: str, *, system: str | None = None) -> str:
    """One user turn in the model's own chat template, ready for the assistant's reply.

    Example:
        >>> format_chat(model, "Hi")
        '<|im_start|>system\\nYou are a helpful AI assistant ...<|im_start|>assistant\\n'
    """
    tokenizer = _tokenizer(model)
    if not getattr(tokenizer, "chat_template", None):
        raise ValueError(
            f"{model.cfg.model_name} has no chat template; pass plain text to generate() "
            "or save a tokenizer with a `chat_template` beside the model."
        )
    messages = [{"role": "user", "content": user}]
    if system is not None:
        messages.insert(0, {"role": "system", "content": system})
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


@torch.inference_mode()
def generate(
    model: HookedTransformer,
    prompts: Sequence[str],
    *,
    max_new_tokens: int = 64,
    temperature: float = 0.0,
    batch_size: int = 16,
    seed: int = 0,
    progress: bool = True,
) -> list[str]:
    """Complete each prompt; greedy when `temperature` is 0, else sampled at that temperature.

    Prompts are used as given (format them with `format_chat` first for a chat model).
    Generation stops at the tokenizer's end-of-turn token, which is left out of the result.
    Sampling draws from a generator seeded with `seed`, so results repeat.

    Example:
        >>> generate(model, [format_chat(model, "What is the capital of France?")])
        ['The capital of France is Paris.']
    """
    if isinstance(prompts, str):
        raise TypeError("prompts must be a list of strings; for one prompt pass [prompt].")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}.")
    tokenizer = _tokenizer(model)
    eos = tokenizer.eos_token_id
    completions: list[str] = []
    starts = range(0, len(prompts), batch_size)
    with torch.random.fork_rng(devices=[] if model.cfg.device == "cpu" else None):
        torch.manual_seed(seed)
        for start in tqdm(starts, desc="generate", disable=not progress or len(starts) < 2):
            batch = list(prompts[start : start + batch_size])
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
            for row in tokens[:, prompt_len:].tolist():
                if eos in row:
                    row = row[: row.index(eos)]
                completions.append(tokenizer.decode(row, skip_special_tokens=False))
    return completions


def chat(model: HookedTransformer, user: str, *, max_new_tokens: int = 64, **kwargs) -> str:
    """The model's greedy reply to one user turn.

    Example:
        >>> chat(model, "What is the capital of France?")
        'The capital of France is Paris.'
    """
    prompt = format_chat(model, user)
    return generate(model, [prompt], max_new_tokens=max_new_tokens, progress=False, **kwargs)[0]


def _tokenizer(model: HookedTransformer):
    if model.tokenizer is None:
        raise ValueError(
            f"{model.cfg.model_name} has no tokenizer; load it from a directory that holds "
            "tokenizer files, or pass token ids."
        )
    return model.tokenizer
