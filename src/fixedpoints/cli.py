"""Helpers shared by the command-line scripts: one-line errors and exit codes."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn


def run_script(main: Callable[[Sequence[str] | None], None], argv: Sequence[str] | None = None) -> int:
    """Call ``main(argv)``; on bad input print ``error: <one line>`` to stderr and return 1, else 0."""
    try:
        main(argv)
    except (ValueError, OSError, KeyError) as error:
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return 1
    return 0


def exit_script(main: Callable[[Sequence[str] | None], None]) -> NoReturn:
    """The scripts' ``__main__``: ``run_script(main)`` on the command line, then end the process with its
    exit code at once.

    When ``main`` returns, every output is closed and renamed into place (the writers are atomic) and
    the log is flushed below; what is left is the interpreter's teardown (freeing the objects of some
    two thousand modules, JAX's CPU client and its threads), 0.1–0.2 s per job, which ``os._exit``
    skips along with the atexit handlers (JAX's backend clean-up, h5py's closing of open files: none
    has work left). An exception other than bad input still ends the normal way, with its traceback.
    """
    code = run_script(main)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
