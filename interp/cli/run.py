"""`interp run CONFIG.toml` and `interp report RUN_DIR`."""

from __future__ import annotations

from pathlib import Path

import typer

from interp.cli.common import AS_JSON, to_json

CONFIG = typer.Argument(..., help="A run config (TOML), e.g. experiments/demo.toml.")
RUN_OUT = typer.Option(None, help="The run directory (default: runs/NAME); a re-run into it "
                       "reuses every step whose inputs are unchanged.")  # fmt: skip
RUN_DIR = typer.Argument(..., help="A run directory written by `interp run`.")


def run_command(config: Path = CONFIG, out: Path = RUN_OUT, as_json: bool = AS_JSON) -> None:
    """Run every step the config names into one run directory, reusing finished steps.

    Example: interp run experiments/demo.toml && interp report runs/demo
    """
    run_and_echo(config, out, as_json)


def run_and_echo(config: Path, out: Path | None, as_json: bool, *, report: bool = False) -> None:
    """Run `config` into `out` with progress (or one JSON object), then the report if asked."""
    from interp.pipeline.run import run_pipeline
    from interp.report import write_report

    echo = (lambda line: None) if as_json else typer.echo
    record = run_pipeline(config, out, progress=not as_json, echo=echo)  # checked before work
    written = {"report": str(write_report(record.directory))} if report else {}
    if as_json:
        typer.echo(to_json({**record.to_dict(), **written}))
    else:
        next_line = f"report: {written['report']}" if report else (
            f"next: interp report {record.directory}")  # fmt: skip
        typer.echo(f"{record}\n{next_line}")


def report_command(
    run_dir: Path = RUN_DIR,
) -> None:
    """Write RUN_DIR/report.html: every finished step's numbers beside their controls,
    figures embedded, readable offline.

    Example: interp report runs/demo
    """
    from interp.report import write_report

    typer.echo(f"report: {write_report(run_dir)}")


DEMO_SIZE = typer.Option("default", help="default (the SmolLM2 organisms: over an hour on 2 "
                         "cores the first time) or micro (tiny organisms, about 2 minutes).")  # fmt: skip


def demo_command(size: str = DEMO_SIZE, out: Path = RUN_OUT, as_json: bool = AS_JSON) -> None:
    """The whole pipeline on the built-in organisms, then its report: `interp run` on the
    demo config (experiments/demo.toml, or micro.toml), then `interp report`.

    Example: interp demo --size micro
    """
    from interp.pipeline import DEMO_CONFIGS
    from interp.pipeline.config import ConfigError

    if size not in DEMO_CONFIGS:
        raise ConfigError(f"--size {size!r}: size must be 'micro' or 'default'.")
    run_and_echo(DEMO_CONFIGS[size], out, as_json, report=True)
