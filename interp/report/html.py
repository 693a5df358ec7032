"""The self-contained HTML report and its JSON, rendered from results (figures embedded)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from interp.errors import InterpError, check_output_dir
from interp.experiments.demo import DemoResult


class ReportError(InterpError):
    """The report's output directory cannot be written."""


REPORT_FILES = ("report.html", "demo.json")


def check_out_dir(out: str | Path, *, overwrite: bool = False) -> Path:
    """`out` as a directory the report can be written to, checked before any work starts;
    one that already holds a report is refused unless `overwrite`."""
    return check_output_dir(out, ReportError, what="the report", held=REPORT_FILES,
                            overwrite=overwrite)  # fmt: skip


def figure_png(ax) -> str:
    """The figure of `ax` as a base64 PNG (closed afterwards)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    ax.figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(ax.figure)
    return base64.b64encode(buffer.getvalue()).decode()


def write_demo_report(result: DemoResult, out: str | Path, *, overwrite: bool = False) -> Path:
    """Write `demo.json` and a self-contained `report.html` into `out`; return the page.

    Example:
        >>> write_demo_report(run_demo(), "runs/demo")
        PosixPath('runs/demo/report.html')
    """
    out = check_out_dir(out, overwrite=overwrite)
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo.json").write_text(json.dumps(result.to_dict(), indent=2))
    image = figure_png(result.plot())
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
        f"<h2>Organisms (held-out prompts)</h2><pre>{html.escape(result.behaviour_table())}</pre>"
        f'<img src="data:image/png;base64,{image}">'
    )
    if result.probes:
        body += f"<h2>Defection probes</h2><pre>{html.escape(result.probe_table())}</pre>"
    page = out / "report.html"
    page.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>interp demo</title></head>"
        f"<body>{body}</body></html>"
    )
    return page
