"""When to draw progress bars: on stderr, only when it is a terminal, only for runs past a delay."""

from __future__ import annotations

import sys

#: Runs shorter than this many seconds show no progress bar (tqdm's `delay`).
PROGRESS_DELAY_S = 2.0


def stderr_is_terminal() -> bool:
    """Whether standard error is a terminal (progress bars are drawn only there)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
