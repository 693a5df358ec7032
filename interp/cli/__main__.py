"""`python -m interp.cli`."""

from interp.cli import app

app()
