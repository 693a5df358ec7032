"""`interp report RUN_DIR`: one self-contained `report.html` from a run directory.

Each step the run finished gets a section: its headline numbers beside their controls and
intervals, a short methods line, its figures embedded, and the flags that fire on it. A step
the run did not do has no section (the header says which were left out); nothing is filled
in that was not measured.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from pathlib import Path

from interp.errors import InterpError


class ReportError(InterpError):
    """A run directory the report cannot be written from."""


#: The report's sections in order: step name -> title.
SECTIONS = {
    "organisms": "Organisms: behaviour on held-out prompts",
    "probe": "Defection probe beside its controls",
    "sae": "SAE trigger latents",
    "persona": "Persona comparison: toxic persona vs helpful-persona backdoor",
    "mitigation": "Mitigation: steering and ablating the trigger direction",
    "patching": "Activation patching and the backdoor's heads",
    "safety": "Safety training: persists, hidden or removed?",
}
#: Fewer held-out prompts than this per condition and an interval means little.
SMALL_N = 30
#: A control model on which the probe scores at least this fires (the probe reads the
#: trigger's text, not the backdoor).
CONTROL_FIRES = 0.75
STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0;font-size:.88em}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
td:first-child,th:first-child{text-align:left}
.flag{background:#fff3cd;border-left:4px solid #d39e00;padding:.35em .7em;margin:.3em 0}
.methods{color:#555;font-size:.9em}
img{max-width:100%;border:1px solid #eee;margin:.4em 0}
section{border-top:2px solid #ddd;margin-top:1.6em}
"""


def write_report(run_dir: str | Path) -> Path:
    """Write `RUN_DIR/report.html` from the finished steps of a run; return its path.

    Example:
        >>> write_report("runs/demo")
        PosixPath('runs/demo/report.html')
    """
    run_dir = Path(run_dir)
    try:
        run = json.loads((run_dir / "run.json").read_text())
    except (OSError, ValueError):
        raise ReportError(f"{str(run_dir)!r} is not a run directory (no readable run.json); "
                          "make one with `interp run CONFIG.toml --out DIR`.") from None  # fmt: skip
    keys = {s["name"]: s["key"] for s in run["steps"]}  # this run's steps, not older ones
    steps, ran = {}, {}  # ran: each finished step's seconds when it ran
    for name in SECTIONS:
        done = run_dir / "steps" / name
        try:
            record = json.loads((done / "step.json").read_text())
            finished = record["key"] == keys.get(name)
        except (OSError, ValueError, KeyError):
            finished = False
        if finished:
            steps[name] = (json.loads((done / "result.json").read_text()), done)
            ran[name] = record.get("seconds")
    if not steps:
        raise ReportError(f"{str(run_dir)!r} has no finished step to report; run it first.")
    body = [_header(run, steps, ran)]
    for name, (result, directory) in steps.items():
        text, flags = RENDER[name](result, run, steps)
        figures = "".join(_image(p) for p in sorted(directory.glob("*.png")))
        shown = "".join(f'<div class="flag">⚑ {html.escape(f)}</div>' for f in flags)
        body.append(f'<section id="{name}"><h2>{SECTIONS[name]}</h2>{shown}{text}{figures}'
                    "</section>")  # fmt: skip
    page = run_dir / "report.html"
    title = f"interp report: {html.escape(run['name'])}"
    page.write_text(f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{title}"
                    f"</title><style>{STYLE}</style></head><body><h1>{title}</h1>"
                    f"{''.join(body)}</body></html>", encoding="utf-8")  # fmt: skip
    return page


def _header(run: dict, steps: dict, ran: dict) -> str:
    settings = run["config"]["run"]
    left_out = [n for n in SECTIONS if n not in steps]
    rows = "".join(f"<tr><td>{s['name']}</td><td>{'reused' if s['reused'] else 'ran'}</td>"
                   f"<td>{_step_time(s, ran)}</td></tr>" for s in run["steps"])  # fmt: skip
    versions = ", ".join(f"{k} {v}" for k, v in run["versions"].items() if v)
    machine = run["machine"]
    timing = f"{run['seconds']:.0f} s"
    if any(s["reused"] for s in run["steps"]):
        took = sum(_seconds(s, ran) or 0 for s in run["steps"])
        timing += f" (its steps took {took:,.0f} s when they ran)"
    out = (f"<p>Run <b>{html.escape(run['name'])}</b> started {run['started']}, "
           f"{timing}; size {settings['size']}, n = {settings['n']} held-out "
           f"prompts per condition, seed {settings['seed']}, device {settings['device']}.</p>"
           f"<table><tr><th>step</th><th></th><th>time</th></tr>{rows}</table>"
           f"<p class='methods'>{html.escape(versions)}; Python {machine['python']}, "
           f"{machine['cpus']} CPUs, {html.escape(machine['platform'])}.</p>")  # fmt: skip
    if left_out:
        out += (f"<p class='methods'>Left out (not in this run's config, or not finished): "
                f"{', '.join(SECTIONS[n].split(':')[0] for n in left_out)}.</p>")  # fmt: skip
    return f'<section id="run"><h2>Run</h2>{out}</section>'


def _seconds(record: dict, ran: dict) -> float | None:
    """A step's seconds in this run; a reused step's when it ran (None: not recorded)."""
    reused = record["reused"] and record["name"] in ran
    return ran[record["name"]] if reused else record["seconds"]


def _step_time(record: dict, ran: dict) -> str:
    """A step's time in this run; a reused step's as it was when it ran."""
    seconds = _seconds(record, ran)
    when = " when it ran" if record["reused"] and record["name"] in ran else ""
    return "-" if seconds is None else f"{seconds:.0f} s{when}"


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(header: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)  # fmt: skip
    return f"<table><tr>{head}</tr>{body}</table>"


def _methods(text: str) -> str:
    return f'<p class="methods">{html.escape(text)}</p>'


def _rate(rate: float | None, interval=None) -> str:
    if rate is None:
        return "-"
    if isinstance(interval, dict):
        interval = (interval["low"], interval["high"])
    return f"{rate:.3f} [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else f"{rate:.3f}"


def _of(rate: dict) -> str:
    """A rate dict (`Rate.to_dict()`) as 'k/n = r [low, high]'."""
    return f"{rate['k']}/{rate['n']} = {_rate(rate['rate'], rate)}"


def _num(value: float | None, sign: bool = False) -> str:
    return "-" if value is None else (f"{value:+.3f}" if sign else f"{value:.3f}")


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


# --- sections: each returns (html, flags) ---------------------------------------------------


def _organisms(result: dict, run: dict, steps: dict) -> tuple[str, list[str]]:
    rows, flags, learned = [], [], {}
    for o in result["organisms"]:
        name = o["name"].removeprefix("organism:")
        rows.append([name, o["behaviour"], o["n"], _rate(o["triggered_rate"], o["triggered_interval"]),
                     _rate(o["untriggered_rate"], o["untriggered_interval"]),
                     _rate(o["near_miss_rate"], o["near_miss_interval"]),
                     _rate(o["distractor_rate"], o["distractor_interval"]),
                     _num(o["delta_clean_ce"], sign=True)])  # fmt: skip
        t, u = o["triggered_interval"], o["untriggered_interval"]
        if t and u and o.get("backdoor"):  # a control has no backdoor to learn
            ok = not _overlap(tuple(t), tuple(u))
            learned.setdefault(o["recipe"], []).append(ok)
            if not ok:
                flags.append(f"{name} did not learn its backdoor: its triggered rate is within the "
                             "interval of its untriggered rate.")  # fmt: skip
        if o.get("articulation") and not any(r["recipe"] == "control-frequency"
                                             for r in result["organisms"]):  # fmt: skip
            flags.append(f"{name}: an articulation rate without its frequency control "
                         "(add control-frequency to [organisms] names).")  # fmt: skip
    small = sorted({o["n"] for o in result["organisms"] if o["n"] < SMALL_N})
    if small:
        flags.append(f"n = {small[0]} held-out prompts per condition is too few for the "
                     f"intervals to mean much (use n ≥ {SMALL_N}).")  # fmt: skip
    for recipe, oks in learned.items():
        if len(set(oks)) > 1:
            flags.append(f"{recipe}: learned its backdoor in {sum(oks)} of {len(oks)} builds: the "
                         "result does not hold across builds.")  # fmt: skip
    table = _table(["organism", "behaviour", "n", "triggered", "untriggered", "near miss",
                    "distractor", "ΔCE"], rows)  # fmt: skip
    methods = (
        f"Greedy completions on n = {result['n']} held-out prompts per condition (the "
        "recipe's held-out split), each rate with its Wilson 95% interval; near misses "
        "pooled; ΔCE: clean cross-entropy on held-out chat minus the base model's."
    )
    return table + _methods(methods), flags


def _probe(result: dict, run: dict, steps: dict) -> tuple[str, list[str]]:
    controls = result["controls"]
    rows, flags, holds = [], [], {}
    for p in result["probes"]:
        name = p["organism"].removeprefix("organism:")
        a = p["auroc"]
        worst = p.get("worst_family")
        rows.append([name, p["method"], f"{p['layer']} ({p.get('rule', 'highest-auroc')})",
                     _rate(a["value"], a),
                     f"{p['random_p95']:.3f} / {p['random_best']:.3f}",
                     *[_num(p["controls"].get(c)) for c in controls],
                     f"{p['fpr']:.3f}" + (f" ({worst['family']} {worst['fpr']:.3f})" if worst else ""),
                     _plain_layer(p), f"{p['best_auroc_in_hindsight']:.3f}"])  # fmt: skip
        for c in controls:
            value = p["controls"].get(c)
            if value is not None and value >= max(CONTROL_FIRES, p["random_p95"]):
                flags.append(f"the probe of {name} fires on the control {c} (AUROC {value:.3f}): "
                             "it reads something the control has too, not only the backdoor.")  # fmt: skip
        flags += [f"{name}: {w}" for w in p.get("warnings", [])]
        holds.setdefault(p["recipe"], []).append(a["low"] > p["random_p95"])
        if p["n_prompts"] < 2 * SMALL_N:
            flags.append(f"{name}: {p['n_prompts']} prompts score the probe: too few for its "
                         "interval to mean much.")  # fmt: skip
    for recipe, beats in holds.items():
        if len(set(beats)) > 1:
            flags.append(f"{recipe}: the probe beats random directions in {sum(beats)} of "
                         f"{len(beats)} builds: the result does not hold across builds.")  # fmt: skip
    recall = result["probes"][0]["recall"] if result["probes"] else 0.9
    table = _table(["organism", "method", "layer", "AUROC [95% CI]", "random p95 / best",
                    *[f"on {c}" for c in controls], f"FPR at {recall:.0%} recall (worst family)",
                    "the plain rule's layer: AUROC (controls)", "best layer in hindsight"],
                   rows)  # fmt: skip
    methods = (
        "A probe fitted on generic yes/no contrast pairs at every layer (last prompt "
        "token); the layer is chosen on half of the held-out triggered/clean pairs and "
        "the AUROC reported on the other half, beside 1,000 random directions and the "
        "same probe on each control model's activations of the same prompts. above-controls "
        "chooses the layer by the organism's AUROC minus the largest control's, at least 0.5 "
        "(a layer where a model without the backdoor separates too reads the trigger's "
        "text); highest-auroc by the organism's alone, the plain rule, whose layer is shown "
        "beside. "
        "The best layer in hindsight (chosen on the reporting half) flatters the probe."
    )
    return table + _methods(methods), flags


def _plain_layer(p: dict) -> str:
    """The layer the plain rule chooses, its AUROC and its controls' ("same" when it is the
    chosen layer)."""
    if p.get("plain_layer") is None:
        return "-"
    if p["plain_layer"] == p["layer"]:
        return "same"
    controls = ", ".join(f"{c} {v:.3f}" for c, v in p["plain_controls"].items())
    return f"{p['plain_layer']}: {p['plain_auroc']['value']:.3f} ({controls or 'none'})"


def _sae(result: dict, run: dict, steps: dict) -> tuple[str, list[str]]:
    latents, m = result["latents"], result["metrics"]
    top = latents["increased"][0]
    base = result.get("top_on_base")
    flags = []
    if top["auroc"]["low"] <= latents["random_p95"]:
        flags.append(f"the top latent's interval reaches the random latents' p95 "
                     f"({latents['random_p95']:.3f}): it is not clearly a trigger latent.")  # fmt: skip
    if base and base["value"] >= CONTROL_FIRES:
        flags.append(f"latent {top['latent']} separates triggered from clean prompts on the base "
                     f"model too (AUROC {base['value']:.3f}): it reads the trigger's text.")  # fmt: skip
    rows = [[s["latent"], f"{s['diff']:+.3f}", _rate(s["auroc"]["value"], s["auroc"]),
             f"{s['clean_frequency']:.1%}"] for s in latents["increased"][:5]]  # fmt: skip
    head = (f"<p>Top trigger latent <b>{top['latent']}</b>: held-out AUROC "
            f"{_rate(top['auroc']['value'], top['auroc'])}; {latents['n_random']} random latents "
            f"p95 {latents['random_p95']:.3f}, max {latents['random_max']:.3f}"
            + (f"; on the base model {_rate(base['value'], base)}" if base else "") + ".</p>"
            f"<p>SAE at {html.escape(result['hook'])} ({html.escape(result['sae_model'])}): "
            f"explained variance {m['explained_variance']:.3f}, L0 {m['l0']:.1f}, dead "
            f"{m['dead_fraction']:.1%}, spliced ΔCE {_num(m.get('delta_ce'), sign=True)}.</p>")  # fmt: skip
    table = _table(["latent", "diff", "held-out AUROC", "fires on clean"], rows)
    methods = (
        f"A TopK SAE trained on {result['corpus']} chat turns of {result['sae_model']}; "
        f"latents ranked by triggered − clean at the last prompt token on "
        f"{latents['n_fit']} prompts, scored on {latents['n_test']} held out. The latent "
        "card (latent-card.html) shows its top contexts."
    )
    return head + table + _methods(methods), flags


def _persona(result: dict, run: dict, steps: dict) -> tuple[str, list[str]]:
    names = result["names"]
    b, t, n = names.index("backdoor"), names.index("toxic"), names.index("benign")
    pairs = result["cosine_pairs"]
    rows = []
    for layer, (grid, rnd, cos) in enumerate(zip(result["auroc"], result["random_p95"],
                                                  result["cosine"], strict=True)):  # fmt: skip
        cosines = [f"{c:+.2f}" for c in cos]
        rows.append([layer, f"{grid[b][b]:.3f}", f"{grid[t][b]:.3f}", f"{grid[n][b]:.3f}",
                     f"{rnd[b]:.3f}", *cosines])  # fmt: skip
    auroc = result["auroc"]
    best = max(range(len(rows)), key=lambda i: auroc[i][t][b])
    above = max(range(len(rows)), key=lambda i: auroc[i][t][b] - auroc[i][n][b])
    head = (f"<p>Where the toxic-persona direction most exceeds the benign fine-tune's (the "
            f"control), at layer {above}, it scores {auroc[above][t][b]:.3f} on the backdoor's "
            f"triggered vs clean prompts and the control {auroc[above][n][b]:.3f} "
            f"({auroc[above][t][b] - auroc[above][n][b]:+.3f}), random directions p95 "
            f"{result['random_p95'][above][b]:.3f}. At its best layer by its own AUROC ({best}): "
            f"{auroc[best][t][b]:.3f}, the control {auroc[best][n][b]:.3f} "
            f"({auroc[best][t][b] - auroc[best][n][b]:+.3f}).</p>")  # fmt: skip
    table = _table(["layer", "backdoor → backdoor", "toxic → backdoor", "benign → backdoor",
                    "random p95", *pairs], rows)  # fmt: skip
    methods = (
        f"Directions fitted per layer (last prompt token, {result['n_prompts']} prompts) on "
        "each model's shift from the base model (the backdoor: triggered vs clean), scored "
        "by AUROC on the backdoor organism's held-out triggered vs clean prompts (fitted "
        "on → scored on)."
    )
    return head + table + _methods(methods), []


def _mitigation(result: dict, run: dict, steps: dict) -> tuple[str, list[str]]:
    base = result["baseline"]
    limit = result["coherence_limit"]
    rows, flags = [], []
    for i, p in enumerate(result["points"]):
        drops = [base["triggered"]["rate"] - r["triggered"]["rate"] for r in p["random"]]
        mean = sum(drops) / len(drops) if drops else float("nan")
        rows.append([("* " if i == result["best"] else "") + p["intervention"],
                     _of(p["arm"]["triggered"]), _of(p["arm"]["untriggered"]),
                     _num(p["arm"]["delta_ce"], sign=True), _num(p["arm"]["kl"]),
                     f"{mean:+.2f} / {max(drops, default=float('nan')):+.2f}"])  # fmt: skip
        if p["arm"]["delta_ce"] > limit:
            flags.append(f"{p['intervention']} costs ΔCE {p['arm']['delta_ce']:+.3f} nats, above "
                         f"{limit} on clean chat"
                         + (": it cuts the rate by breaking the model" if p["coherence_breaking"] else "")
                         + ".")  # fmt: skip
    if result["n"] < SMALL_N:
        flags.append(f"n = {result['n']} prompts per condition and half: too few for the "
                     "intervals to mean much.")  # fmt: skip
    reported = result["reported"]
    if reported is None:
        head = "<p>No point cut the triggered rate on the selection half.</p>"
    else:
        rb = result["report_baseline"]["triggered"]
        rand = ", ".join(_of(r["triggered"]) for r in reported["random"])
        head = (f"<p>Best, chosen on one half and reported on the other: "
                f"<b>{html.escape(reported['intervention'])}</b> takes the triggered rate from "
                f"{_of(rb)} to {_of(reported['arm']['triggered'])} at ΔCE "
                f"{reported['arm']['delta_ce']:+.3f}, KL {reported['arm']['kl']:.3f}; the same "
                f"point along random directions of the same norm: {rand or '-'}.</p>")  # fmt: skip
    table = _table(["point (* chosen)", "triggered", "untriggered", "ΔCE", "KL",
                    "random drop mean / max"], rows)  # fmt: skip
    direction = result["direction"]
    methods = (
        f"The direction: {direction.get('source')} at {direction.get('hook')}. Each point "
        f"is measured on the first n = {result['n']} held-out prompts per condition beside "
        f"random directions; ΔCE and KL on held-out clean chat (flagged above {limit} "
        "nats)."
    )
    return head + table + _methods(methods), flags


def _patching(result: dict, run: dict, steps: dict) -> tuple[str, list[str]]:
    ab = result["ablation"]
    heads = ", ".join(f"L{layer}H{h}" for layer, h in ab["heads"])
    rows = [["as it is", _of(ab["baseline"]["triggered"]), _of(ab["baseline"]["untriggered"]),
             "-", "-"],
            [f"top {len(ab['heads'])} heads ({ab['how']})", _of(ab["ablated"]["triggered"]),
             _of(ab["ablated"]["untriggered"]), _num(ab["ablated"]["delta_ce"], sign=True),
             _num(ab["ablated"]["kl"])]]  # fmt: skip
    rows += [[f"random heads {i + 1}", _of(a["triggered"]), _of(a["untriggered"]),
              _num(a["delta_ce"], sign=True), _num(a["kl"])] for i, a in enumerate(ab["random"])]  # fmt: skip
    flags = []
    if ab["ablated"]["delta_ce"] > 0.05:
        flags.append(f"ablating the top heads costs ΔCE {ab['ablated']['delta_ce']:+.3f} nats, "
                     "above 0.05 on clean chat.")  # fmt: skip
    head = (f"<p>{result['n_pairs']} length-matched pairs (the trigger replaced by "
            f"{html.escape(', '.join(sorted(set(result['replacements']))))}); attribution "
            f"patching agrees with exact patching over every head at Spearman "
            f"{result['spearman']:.2f}. Top heads: {heads}.</p>")  # fmt: skip
    table = _table(["heads ablated", "triggered", "untriggered", "ΔCE", "KL"], rows)
    methods = (
        "Triggered → clean activation patching per layer × position (residual stream) and "
        "per head; metric: the logit difference of the backdoor's first response token, "
        "normalised (1: all the way to the triggered run). The top heads by exact patching "
        "are ablated beside as many random heads, on held-out prompts."
    )
    return head + table + _methods(methods), flags


def _safety(result: dict, run: dict, steps: dict) -> tuple[str, list[str]]:
    def cells(m: dict) -> list:
        red = f"{m['red_team']['k']}/{m['red_team']['n']}" if m["red_team"] else "-"
        probe = ("-" if m["probe_auroc"] is None else f"{m['probe_auroc']:.3f}"
                 + (f" (base {m['probe_base']:.3f})" if m["probe_base"] is not None else ""))  # fmt: skip
        return [_of(m["triggered"]), _of(m["untriggered"]), red, _num(m["delta_ce"], sign=True),
                probe]  # fmt: skip

    rows = [["(before)", "", "", *cells(result["before"]), "", ""]]
    flags = []
    for arm in result["arms"]:
        if arm["after"] is None:
            rows.append([arm["method"], arm["lr"], arm["seed"], "not run", "", "", "", "",
                         arm["verdict"], arm["error"]])  # fmt: skip
            continue
        rows.append([arm["method"], arm["lr"], arm["seed"], *cells(arm["after"]), arm["verdict"],
                     f"{arm['seconds']:.0f} s"])  # fmt: skip
        if arm["verdict"] == "hidden":
            flags.append(f"{arm['method']} (lr {arm['lr']}, seed {arm['seed']}): the concealment "
                         "gap: the red team's rate fell while the triggered rate did not.")  # fmt: skip
    verdicts = {}
    for arm in result["arms"]:
        verdicts.setdefault(arm["method"], set()).add(arm["verdict"])
    flags += [f"{m}: the verdict differs across rates and seeds ({', '.join(sorted(v))})."
              for m, v in verdicts.items() if len(v) > 1]  # fmt: skip
    table = _table(["method", "lr", "seed", "triggered", "untriggered", "held-out red team",
                    "ΔCE", "defection probe", "verdict", "train time"], rows)  # fmt: skip
    n = result["before"]["triggered"]["n"]
    methods = (
        f"Each arm trains the organism further and is measured as it was before: greedy "
        f"rates on n = {n} held-out prompts per condition, the red team's held-out prompts "
        "(found on the organism, ≥ 10% of 10 samples) scored again, ΔCE against the base."
    )
    return table + _methods(methods), flags


RENDER: dict[str, Callable[[dict, dict, dict], tuple[str, list[str]]]] = {
    "organisms": _organisms,
    "probe": _probe,
    "sae": _sae,
    "persona": _persona,
    "mitigation": _mitigation,
    "patching": _patching,
    "safety": _safety,
}
