"""WSGI apps for the MPM tests: who served me (pid), and a slow request."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    query = environ.get("QUERY_STRING", "")
    if query.startswith("sleep="):
        time.sleep(float(query[6:]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    if query == "policy":  # the scheduling policy of the process serving
        return [str(os.sched_getscheduler(0)).encode()]
    return [str(os.getpid()).encode()]
