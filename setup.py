"""Builds the request path's modules as C extensions with mypyc (set MPMD_PURE=1 to skip).

The same source runs as plain Python where a module is not compiled; compiled, the
request path takes 40-45 % fewer instructions (bench/hotpath.py --instructions).
"""

from __future__ import annotations

import os

from setuptools import setup

# The modules every request runs through, and the threaded MPMs' serving loops (threaded,
# worker, event and winnt together: an interpreted class cannot subclass a compiled one);
# the rest (configuration, control, the parent) stays plain Python. Per request but left
# out for now: authz_core (its unit tests drive it with stand-in requests, which compiled
# code refuses), http/body.py (wsgi.input, which apps call), prefork.py (one connection at
# a time, its loop is not where its time goes) and the scoreboard's table (ctypes
# structures; its per-request part is scoreboard_handle.py, compiled).
COMPILED = [
    "mpmd/config/server.py",
    "mpmd/http/conditional.py",
    "mpmd/http/connection.py",
    "mpmd/http/ranges.py",
    "mpmd/http/request.py",
    "mpmd/http/response.py",
    "mpmd/http/site.py",
    "mpmd/http/writer.py",
    "mpmd/log/accesslog.py",
    "mpmd/log/accesslog_fields.py",
    "mpmd/log/errorlog.py",
    "mpmd/modules/alias.py",
    "mpmd/modules/core.py",
    "mpmd/modules/dir.py",
    "mpmd/modules/log_config.py",
    "mpmd/modules/mime.py",
    "mpmd/modules/static.py",
    "mpmd/modules/wsgi.py",
    "mpmd/mpm/event.py",
    "mpmd/mpm/scoreboard_handle.py",
    "mpmd/mpm/threaded.py",
    "mpmd/mpm/winnt.py",
    "mpmd/mpm/worker.py",
]


def extensions() -> list:
    if os.environ.get("MPMD_PURE"):
        return []
    from mypyc.build import mypycify

    return mypycify(
        [os.path.join("src", path) for path in COMPILED],
        opt_level="3",
        debug_level="1",
    )


setup(ext_modules=extensions())
