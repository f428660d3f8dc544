"""Helpers shared by the command-line scripts: one-line errors and exit codes."""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence


def run_script(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Call ``main(argv)``; on bad input print ``error: <one line>`` to stderr and return 1, else 0."""
    try:
        main(argv)
    except (ValueError, OSError, KeyError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0
