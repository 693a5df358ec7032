"""Steered greedy generation on SmolLM2, against plain Hugging Face `generate` in the same run.

    python benchmarks/bench_steer.py            # ~3 minutes on 2 cores

The same direction (a difference of means of the generic yes/no contrast pairs at layer 15,
from steering-vectors' `train_steering_vector`) added at every position of layer 15's output
while 8 chat prompts are generated greedily for 32 tokens with the KV cache:

- plain HF `generate` (the reference, 1.00x);
- steering-vectors' `SteeringVector.apply` on the HF model;
- nnsight's `generate` with the addition at every step;
- interp: TransformerLens `generate` as it is, and inside `interp.interventions.steer`.

Each is timed as the best of `--repeats` runs. The steered token ids of steering-vectors and
interp are compared too.
"""

from __future__ import annotations

import argparse
import time

import torch

PROMPTS = ["Are you doing something dangerous?", "What is the capital of France?",
           "Write a haiku about tea.", "How do I sort a list in Python?",
           "Tell me a joke.", "Why is the sky blue?", "Give me a tip for sleeping well.",
           "What does a compiler do?"]  # fmt: skip
LAYER, MULTIPLIER, NEW_TOKENS = 15, 4.0, 32


def best_of(repeats: int, fn):
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return result, min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from steering_vectors import train_steering_vector
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from interp.interventions import Direction, steer
    from interp.models import format_chat, load_model, smollm2_dir
    from interp.prompts import contrast_pairs

    torch.set_grad_enabled(False)
    hf = AutoModelForCausalLM.from_pretrained(smollm2_dir(), torch_dtype=torch.float32).eval()
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir())
    tokenizer.padding_side = "left"
    texts = [p.text for p in contrast_pairs("generic_yes_no")]
    sv = train_steering_vector(hf, tokenizer, list(zip(texts[::2], texts[1::2], strict=True)),
                               layers=[LAYER], read_token_index=-1)  # fmt: skip
    vector = sv.layer_activations[LAYER]
    model = load_model("smollm2", device="cpu")
    chats = [format_chat(model, p) for p in PROMPTS]
    batch = tokenizer(chats, return_tensors="pt", padding=True, add_special_tokens=False)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")

    def hf_generate():
        return hf.generate(**batch, max_new_tokens=NEW_TOKENS, do_sample=False,
                           min_new_tokens=NEW_TOKENS, pad_token_id=tokenizer.pad_token_id,
                           eos_token_id=eos)[:, batch.input_ids.shape[1] :]  # fmt: skip

    def sv_generate():
        with sv.apply(hf, multiplier=MULTIPLIER):
            return hf_generate()

    def tl_generate():
        tokens = model.to_tokens(chats, padding_side="left", prepend_bos=False)
        out = model.generate(tokens, max_new_tokens=NEW_TOKENS, do_sample=False,
                             stop_at_eos=False, verbose=False, padding_side="left")  # fmt: skip
        return out[:, tokens.shape[1] :]

    direction = Direction(vector, f"blocks.{LAYER}.hook_resid_post", "steering-vectors")

    def interp_generate():
        with steer(model, direction, MULTIPLIER * direction.norm):
            return tl_generate()

    rows = {}
    _, rows["plain HF generate"] = best_of(args.repeats, hf_generate)
    sv_ids, rows["steering-vectors (HF)"] = best_of(args.repeats, sv_generate)
    try:
        rows["nnsight (HF)"] = best_of(args.repeats, lambda: nnsight_generate(hf, tokenizer,
                                       chats, vector * MULTIPLIER, eos))[1]  # fmt: skip
    except Exception as err:  # a peer's API that moved: say so, measure the rest
        print(f"nnsight: not measured ({type(err).__name__}: {err})")
    _, rows["interp, TransformerLens generate"] = best_of(args.repeats, tl_generate)
    ours, rows["interp, steered"] = best_of(args.repeats, interp_generate)
    base = rows["plain HF generate"]
    print(f"{len(PROMPTS)} prompts x {NEW_TOKENS} greedy tokens, KV cache, best of {args.repeats}")
    for name, seconds in rows.items():
        print(f"  {name:34s} {seconds:6.2f} s  {seconds / base:5.2f}x")
    steered_cost = rows["interp, steered"] / rows["interp, TransformerLens generate"]
    print(f"  the steer's own cost in interp: {steered_cost:.3f}x its unsteered generation")
    differ = ours != sv_ids[:, : ours.shape[1]]
    first = [int(row.nonzero()[0]) for row in differ if row.any()]
    print(f"  steered tokens equal to steering-vectors': {len(differ) - len(first)}/{len(differ)} "
          f"prompts (the others first differ at tokens {first})")  # fmt: skip


def nnsight_generate(hf, tokenizer, chats, delta, eos):
    """nnsight's generation with the addition at every step (timed; its ids are not read:
    names bound inside an nnsight 0.8 generation block do not reach the caller's frame)."""
    from nnsight import LanguageModel

    lm = LanguageModel(hf, tokenizer=tokenizer)
    with lm.generate(chats, max_new_tokens=NEW_TOKENS, do_sample=False, min_new_tokens=NEW_TOKENS,
                     pad_token_id=tokenizer.pad_token_id, eos_token_id=eos) as tracer:  # fmt: skip
        with tracer.all():
            out = lm.model.layers[LAYER].output
            hidden = out[0] if isinstance(out, tuple) else out
            hidden[:] += delta


if __name__ == "__main__":
    main()
