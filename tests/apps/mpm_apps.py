"""WSGI apps for the MPM tests: who served me (pid), and a slow request."""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable
from typing import Any


def stack_size() -> int:
    """The serving thread's stack size, as the C library created it (glibc's
    pthread_getattr_np; pthread_attr_t is at most 64 bytes)."""
    libc = ctypes.CDLL(None)
    libc.pthread_getattr_np.argtypes = [ctypes.c_ulong, ctypes.c_void_p]
    attr = ctypes.create_string_buffer(128)
    if libc.pthread_getattr_np(threading.get_ident(), attr) != 0:
        return -1
    size = ctypes.c_size_t()
    libc.pthread_attr_getstacksize(attr, ctypes.byref(size))
    libc.pthread_attr_destroy(attr)
    return size.value


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    query = environ.get("QUERY_STRING", "")
    if query.startswith("sleep="):
        time.sleep(float(query[6:]))
    start_response("200 OK", [("Content-Type", "text/plain")])
    if query == "stack":  # the stack size of the thread serving
        return [str(stack_size()).encode()]
    if query == "policy":  # the scheduling policy of the process serving
        return [str(os.sched_getscheduler(0)).encode()]
    return [str(os.getpid()).encode()]
