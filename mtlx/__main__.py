"""``python -m mtlx`` is the ``mtlx`` command."""

from mtlx.cli import app

app(prog_name="mtlx")
