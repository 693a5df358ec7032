"""The `interp` command: one subcommand per verb."""

from __future__ import annotations

import logging
import sys

import typer
from typer.core import TyperGroup

from interp.cli.interventions import ablate_command, patch_command, steer_command
from interp.cli.models import cache_command, model_app, store_app
from interp.cli.organisms import monitor_command, organism_app
from interp.cli.probes import probe_app
from interp.cli.run import demo_command, report_command, run_command
from interp.cli.sae import sae_app
from interp.cli.safety import safety_app
from interp.errors import InterpError


class _Commands(TyperGroup):
    """The one place a user's error becomes `error: <message>` on stderr and exit code 2."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except typer.Abort:
            typer.echo("Aborted.", err=True)
            sys.exit(1)
        except typer.TyperException as err:  # a mistyped command line: one line, where to look
            ctx = getattr(err, "ctx", None)
            path = " ".join(["interp", *ctx.command_path.split()[1:]]) if ctx is not None else ""
            where = f"; see `{path} --help`" if path else ""
            message = " ".join(err.format_message().split()).rstrip(".")
            typer.echo(f"error: {message}{where}.", err=True)
            sys.exit(getattr(err, "exit_code", 2))
        sys.exit(code if isinstance(code, int) else 0)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except InterpError as err:
            typer.echo(f"error: {' '.join(str(err).split())}", err=True)
            raise typer.Exit(code=2) from None
        except OSError as err:  # a path the system refuses (permissions, a full disk)
            where = f": {err.filename}" if err.filename else ""
            typer.echo(f"error: {err.strerror or err}{where}; check the path and retry.", err=True)
            raise typer.Exit(code=2) from None


app = typer.Typer(
    help="Find, explain and remove backdoors and misaligned personas in language models.",
    no_args_is_help=True,
    add_completion=False,
    cls=_Commands,
)
app.add_typer(model_app, name="model")
app.add_typer(store_app, name="store")
app.add_typer(organism_app, name="organism")
app.add_typer(probe_app, name="probe")
app.add_typer(sae_app, name="sae")
app.add_typer(safety_app, name="safety")
for name, command in (("steer", steer_command), ("ablate", ablate_command),
                      ("patch", patch_command), ("run", run_command), ("report", report_command),
                      ("demo", demo_command), ("cache", cache_command),
                      ("monitor", monitor_command)):  # fmt: skip
    app.command(name)(command)


@app.callback()
def _main(verbose: bool = typer.Option(False, "--verbose", "-v", help="Log progress.")) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(message)s")


if __name__ == "__main__":
    app()
