"""Load times of the built-in SmolLM2, against Hugging Face loads measured in the same run.

    python benchmarks/bench_load.py

Prints the first load (GGUF de-quantised and converted, into a fresh interp home), the
cached load, and each as a ratio to `transformers` loading the same weights; also the largest
log-prob difference between the hooked model and HF on a chat prompt.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch
from transformers import AutoModelForCausalLM

import interp
from interp.models import ensure_smollm2
from interp.models.smollm2 import GGUF_NAME, _extract_gguf, smollm2_source


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def main() -> None:
    source = smollm2_source()
    real_home = interp.interp_home()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["INTERP_HOME"] = tmp
        (Path(tmp) / "downloads").symlink_to(real_home / "downloads")
        _, first = timed(lambda: interp.load_model("smollm2", device="cpu"))
        model, cached = timed(lambda: interp.load_model("smollm2", device="cpu"))
        gguf_dir = Path(tmp) / "gguf"
        gguf_dir.mkdir()
        _extract_gguf(source, gguf_dir)
        _, hf_gguf = timed(
            lambda: AutoModelForCausalLM.from_pretrained(
                gguf_dir, gguf_file=GGUF_NAME, dtype=torch.float32
            )
        )
        hf, hf_cached = timed(
            lambda: AutoModelForCausalLM.from_pretrained(ensure_smollm2(), local_files_only=True)
        )
    tokens = model.to_tokens(interp.format_chat(model, "Write a haiku about the sea."))
    with torch.no_grad():
        diff = (model(tokens).log_softmax(-1) - hf(tokens).logits.log_softmax(-1)).abs().max()
    print(
        f"first load (GGUF -> hooked, cached) {first:6.2f} s   HF from GGUF {hf_gguf:6.2f} s   "
        f"ratio {first / hf_gguf:.2f}x"
    )
    print(
        f"cached load (checksums verified)    {cached:6.2f} s   HF from safetensors "
        f"{hf_cached:6.2f} s   ratio {cached / hf_cached:.2f}x"
    )
    print(f"max |log-prob difference| vs HF on {tokens.shape[1]} tokens: {diff.item():.2e}")


if __name__ == "__main__":
    main()
