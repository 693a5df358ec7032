"""The one check every bad-input test of the command line makes."""

from __future__ import annotations

from typer.testing import CliRunner

from interp.cli import app

runner = CliRunner()


def refused(args: list[str], message: str, *, code: int = 2) -> str:
    """Run `interp ARGS`; assert exit `code` and one `error:` line holding `message`."""
    result = runner.invoke(app, args)
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    assert message in lines[0], lines[0]
    return lines[0]
