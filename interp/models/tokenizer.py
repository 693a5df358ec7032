"""Build a small byte-level BPE tokenizer locally, with a ChatML chat template.

Micro models (trained from scratch in seconds) and tests use it; nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Iterable

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

#: The chat format SmolLM2 uses, so micro models format turns the same way.
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<unk>")


def build_tokenizer(
    texts: Iterable[str], *, vocab_size: int = 512, chat_template: str = CHATML_TEMPLATE
) -> PreTrainedTokenizerFast:
    """Train a byte-level BPE tokenizer on `texts`; special tokens as in SmolLM2.

    `<|im_start|>` is BOS (not prepended automatically), `<|im_end|>` ends a turn (EOS) and
    `<|endoftext|>` pads, so padding never collides with BOS.

    Example:
        >>> tok = build_tokenizer(["hello world"] * 10, vocab_size=300)
        >>> tok.decode(tok("hello world").input_ids)
        'hello world'
    """
    core = Tokenizer(models.BPE(unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(texts, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token="<unk>",
        chat_template=chat_template,
    )
