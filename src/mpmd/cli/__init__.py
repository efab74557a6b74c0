"""Command-line programs: ``mpmd`` (httpd's flags) and ``mpmctl`` (apachectl's verbs)."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable


def quiet_on_broken_pipe(main: Callable[[list[str] | None], int]) -> Callable[..., int]:
    """``main``, ending quietly with status 1 when its reader goes away (``mpmd -L | head``).

    A C program such as httpd dies of SIGPIPE there without a word; Python raises
    BrokenPipeError instead, and its traceback would be the only output. stdout is
    pointed at /dev/null so that the interpreter's last flush cannot fail again.
    """

    @functools.wraps(main)
    def wrapped(argv: list[str] | None = None) -> int:
        try:
            return main(argv)
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1

    return wrapped
