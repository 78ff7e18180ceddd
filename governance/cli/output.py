"""The console that the commands print their tables on."""

from __future__ import annotations

from rich.console import Console

# Rich assumes 80 columns when the output is a file or a pipe (a log, CI, `make demo`), which
# squeezes the wider tables into unreadable columns. A terminal that is wider keeps its width.
MIN_WIDTH = 140


def make_console() -> Console:
    """Return a console at least `MIN_WIDTH` columns wide."""
    return Console(width=max(Console().width, MIN_WIDTH))
