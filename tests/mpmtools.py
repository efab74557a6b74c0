"""Helpers for the MPM tests: a configuration per MPM, requests, children, waiting."""

from __future__ import annotations

import http.client
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from tests.serverproc import Server

APPS = Path(__file__).resolve().parent / "apps"


def mpm_numbers(mpm: str, children: int) -> dict[str, int]:
    """Numbers that keep ``children`` children running, idle, for each MPM.

    Spare maintenance is at rest with these: prefork has ``children`` idle
    children (its MinSpareServers); worker and event have ``children`` x 4
    idle threads (their MinSpareThreads), so losing a child spawns another.
    winnt always runs one child.
    """
    if mpm == "prefork":
        return {
            "StartServers": children,
            "MinSpareServers": children,
            "MaxSpareServers": children + 2,
            "MaxRequestWorkers": 10,
        }
    if mpm in ("worker", "event"):
        return {
            "StartServers": children,
            "ThreadsPerChild": 4,
            "MinSpareThreads": 4 * children,
            "MaxSpareThreads": 4 * (children + 2),
            "MaxRequestWorkers": 40,
        }
    return {"ThreadsPerChild": 8}


def mpm_conf(mpm: str, root: Path, extra: str = "", **numbers: int) -> str:
    """A whole configuration body (no Listen/ErrorLog) for ``mpm`` serving tests/apps/mpm_apps."""
    lines = [f"{k} {v}" for k, v in numbers.items()]
    return "\n".join(
        [
            f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so",
            "LoadModule wsgi_module modules/mod_wsgi.so",
            f"PidFile {root / 'mpmd.pid'}",
            f"ScoreBoardFile {root / 'scoreboard'}",
            f"WSGIPythonPath {APPS}",
            "WSGIApp / mpm_apps:application",
            "KeepAliveTimeout 2",
            "GracefulShutdownTimeout 20",
            *lines,
            extra,
        ]
    )


def get(server: Server, path: str = "/", keep: http.client.HTTPConnection | None = None) -> str:
    conn = keep or http.client.HTTPConnection(server.host, server.port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read().decode()
        assert resp.status == 200, body
        return body
    finally:
        if keep is None:
            conn.close()


def children(server: Server) -> set[int]:
    try:
        return {p.pid for p in psutil.Process(server.pid).children()}
    except psutil.NoSuchProcess:
        return set()


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0, step: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    raise AssertionError(f"condition not met within {timeout} s")


def scoreboard(server: Server) -> Any:
    from mpmd.mpm.scoreboard import Scoreboard

    return Scoreboard.attach(str(server.root / "scoreboard"))
