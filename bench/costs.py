"""The scoreboard's and the access log's cost per request, timed in-process
(see bench/README.md).

A server cannot run without its scoreboard, so its share of the CPU per
request cannot be had by difference of two wrk runs, as the access log's is;
and that difference, of two noisy numbers near 30-80 µs, is only good to a few
µs. So both are timed here too, with mpmd's own code from the working tree:

- scoreboard: a real one (ServerLimit 64 x 1, in a temp dir under /dev/shm as
  mpmd's own, removed afterwards) and one slot's handle, doing what a prefork
  child does. Every request: `begin_request(client, vhost, request line)` and
  `end_request(bytes, duration)` (http/site.py). Every connection, on top: the
  state letter `R` when it is accepted and `idle()` when it is over
  (mpm/prefork.py); under `Connection: close` that is once per request too.
- access log: a configuration read by mpmd's loader (the `combined` LogFormat
  and a CustomLog to a file in a temp dir), its logs opened by post_config, then
  log_config's `log_transaction` hook on a real `Request` shaped as wrk's (a
  Host header only, 200, 13 bytes): the line rendered and written.

Each figure is CPU time (`time.process_time`, so that time spent waiting for a
CPU on a busy machine is left out), the fastest of TIMINGS timings (as timeit
advises: the slower ones had interference). Run alone: `python bench/costs.py`.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import time
import timeit
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SRC = Path(__file__).resolve().parent.parent / "src"
TIMINGS = 25  # many short timings: on a busy machine the fastest is likelier clean
COMBINED = 'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined'


@dataclass(frozen=True)
class Costs:
    """µs per request; None when it could not be timed (`problem` says why)."""

    scoreboard_keepalive: float | None  # a request on a kept-alive connection
    scoreboard_close: float | None  # a request with a connection of its own
    access_log: float | None  # one combined-format line, rendered and written
    problem: str = ""


def best(stmt: str, names: dict[str, Any], calls: int) -> float:
    """CPU µs per execution of `stmt`: the fastest of TIMINGS timings of `calls` each."""
    timer = timeit.Timer(stmt, timer=time.process_time, globals=names)
    return min(timer.repeat(repeat=TIMINGS, number=calls)) / calls * 1e6


def scoreboard_cost(calls: int = 20_000) -> tuple[float, float]:
    """(keep-alive, close) µs per request."""
    from mpmd.mpm.scoreboard import Scoreboard, default_directory

    tmp = tempfile.mkdtemp(prefix="mpmd-bench-scoreboard-", dir=default_directory())
    board = Scoreboard.create(64, 1, path=os.path.join(tmp, "scoreboard"))
    try:
        board.set_process(0, os.getpid())
        handle = board.handle(0, 0)
        handle.start()
        names = {
            "begin": handle.begin_request,
            "end": handle.end_request,
            "idle": handle.idle,
            "slot": handle.slot,
            "client": "127.0.0.1",
            "vhost": "127.0.0.1",
            "line": "GET / HTTP/1.1",
        }
        request = "begin(client, vhost, line); end(13, 42)"
        connection = 'slot.status = b"R"; ' + request + "; idle()"
        result = best(request, names, calls), best(connection, names, calls)
        names.clear()  # drop the views of the mapping before it is closed
        del handle
    finally:
        board.close()
        board.unlink()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def access_log_cost(calls: int = 10_000) -> float:
    """µs per combined-format line, through log_config's log_transaction hook."""
    from mpmd.config.loader import read_config
    from mpmd.http.connection import Connection
    from mpmd.http.request import Request
    from mpmd.http.site import Site
    from mpmd.log.errorlog import ErrorLog
    from mpmd.modules import builtin_modules

    tmp = tempfile.mkdtemp(prefix="mpmd-bench-log-")
    try:
        config = read_config(
            config_file=None,
            server_root=tmp,
            before=[],
            after=[],
            defines=[],
            builtin=builtin_modules(),
            warn=lambda message: None,
            default_text=f"{COMBINED}\nCustomLog {tmp}/access_log combined\n",
        )
        module = config.modules.by_name["log_config_module"]
        module.post_config(config)
        # a real connection on a loopback pair (the request path is compiled: it takes no
        # stand-ins), from the client address the line shows
        with socket.create_server(("127.0.0.1", 0)) as listener:
            client = socket.create_connection(listener.getsockname(), timeout=5)
            server_side, _ = listener.accept()
        try:
            conn = Connection(server_side, ("127.0.0.1", 40000), Site(config, ErrorLog(2)))
            req = Request(conn, time.time(), time.perf_counter())
            req.method, req.target, req.path = "GET", "/", "/"
            req.header_list = [(b"Host", b"127.0.0.1:8080")]
            req.status, req.bytes_sent = 200, 13
            req.end_perf = req.start_perf + 42e-6
            log = module.log_transaction
            log(req)
            line = Path(tmp, "access_log").read_bytes()
            if not line.startswith(b"127.0.0.1 - - [") or b'"GET / HTTP/1.1" 200 13' not in line:
                raise RuntimeError(f"unexpected access log line {line[:100]!r}")
            return best("log(req)", {"log": log, "req": req}, calls)
        finally:
            module.close()
            server_side.close()
            client.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def measure_costs() -> Costs:
    """Both figures; an mpmd whose internals moved gives None and the reason, not a crash."""
    if str(SRC) not in sys.path:
        sys.path.insert(0, str(SRC))  # the working tree's mpmd, as the servers run it
    problems = []
    keepalive = close = log = None
    try:
        keepalive, close = scoreboard_cost()
    except Exception as exc:
        problems.append(f"scoreboard not timed: {type(exc).__name__}: {exc}")
    try:
        log = access_log_cost()
    except Exception as exc:
        problems.append(f"access log not timed: {type(exc).__name__}: {exc}")
    return Costs(keepalive, close, log, "; ".join(problems))


if __name__ == "__main__":
    costs = measure_costs()
    for label, value in (
        ("scoreboard, a request on a kept-alive connection", costs.scoreboard_keepalive),
        ("scoreboard, a request on a connection of its own", costs.scoreboard_close),
        ("access log, one combined line rendered and written", costs.access_log),
    ):
        print(f"{label}: " + ("not timed" if value is None else f"{value:.2f} µs"))
    if costs.problem:
        print(costs.problem)
