"""The request path's cost in-process: instructions (callgrind) or CPU µs per request.

A development tool for changes to the request path, not a claim of speed (those
are `bench/run`'s ratios to peers), of the build in src/ (compiled with mypyc by
`pip install`, or plain Python: the output says which). One real `Connection` on a loopback TCP
pair serves one keep-alive request at a time, the event MPM's way
(`serve_available`); the same process plays the client. The configuration is
the benchmark's: the hello-world WSGI app at / (or, `--static`, the 13-byte
file), no access log unless `--log`, a scoreboard slot unless `--no-scoreboard`.

The CPU time of a loop on a busy machine moves by 10-30 % from run to run, which
hides a change worth 2 %. `--instructions` counts the instructions instead,
under valgrind's callgrind: the count of a run of 3,000 requests less one of
1,000, over 2,000, which removes start-up; it repeats to the instruction
(PYTHONHASHSEED is fixed) and the user-space instructions are what a Python
change can remove. Needs `valgrind` (apt-get install valgrind); takes about a
minute.

    python bench/hotpath.py                  # CPU µs per request, best of 7
    python bench/hotpath.py --instructions   # instructions per request
    python bench/hotpath.py --log --instructions
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
APPS = HERE / "apps"
REQUEST = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n\r\n"
BODY = b"Hello, World!"
COMBINED = 'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined'


def server_loop(
    work: Path, *, static: bool, log: bool, scoreboard: bool
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """(loop(n): serve n requests, close) on a fresh configuration in ``work``."""
    sys.path.insert(0, str(SRC))
    from mpmd.config.loader import read_config
    from mpmd.http.connection import Connection
    from mpmd.http.site import Site
    from mpmd.log.errorlog import open_error_log
    from mpmd.modules import builtin_modules
    from mpmd.mpm.base import close_modules

    (work / "hello.txt").write_bytes(BODY)
    lines = [
        "LoadModule wsgi_module modules/mod_wsgi.so",
        f"WSGIPythonPath {APPS}",
        f"DocumentRoot {work}" if static else "WSGIApp / hello:application",
        f"<Directory {work}>",
        "Require all granted",
        "</Directory>",
        f"ErrorLog {work / 'error_log'}",
        "MaxKeepAliveRequests 0",
    ]
    if log:
        lines += [COMBINED, f"CustomLog {work / 'access_log'} combined"]
    (work / "mpmd.conf").write_text("\n".join(lines) + "\n")
    config = read_config(
        str(work / "mpmd.conf"), str(work), [], [], [], builtin_modules(), lambda m: None
    )
    error_log = open_error_log(config)
    for post_config in config.hooks["post_config"]:
        post_config(config)
    site = Site(config, error_log, multithread=True, multiprocess=True)
    slot: Any = None
    board: Any = None
    if scoreboard:
        from mpmd.mpm.scoreboard import Scoreboard

        board = Scoreboard.create(1, 1, path=str(work / "scoreboard"))
        board.set_process(0, os.getpid())
        slot = board.handle(0, 0)
        slot.start()
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    server_side, address = listener.accept()
    listener.close()
    conn = Connection(server_side, address, site, slot=slot)
    request = REQUEST % (b"/hello.txt" if static else b"/")
    send, recv, serve = client.send, client.recv, conn.serve_available

    def loop(n: int) -> None:
        for _ in range(n):
            send(request)
            serve()
            recv(65536)

    send(request)
    serve()
    reply = recv(65536)
    if not reply.startswith(b"HTTP/1.1 200 OK\r\n") or not reply.endswith(BODY):
        raise RuntimeError(f"unexpected reply {reply[:200]!r}")

    def close() -> None:
        client.close()
        conn.close_now()
        close_modules(config)
        if board is not None:
            nonlocal slot
            slot = None
            board.close()

    return loop, close


def cpu_per_request(loop: Callable[[int], None], calls: int = 10_000, repeat: int = 7) -> float:
    """CPU µs per request, the fastest of ``repeat`` runs (the slower ones had company)."""
    loop(2_000)  # warm up: caches filled, specialised bytecode
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        loop(calls)
        best = min(best, (time.process_time() - start) / calls * 1e6)
    return best


def instructions_per_request(flags: list[str]) -> int:
    """(Ir(3,000 requests) - Ir(1,000 requests)) / 2,000, counted by callgrind."""
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind: apt-get install valgrind")
    counts = []
    for n in (1_000, 3_000):
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null"]
        command += [sys.executable, __file__, "--serve", str(n), *flags]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        found = re.search(r"Collected : (\d+)", done.stderr)
        if done.returncode != 0 or found is None:
            raise SystemExit(f"callgrind run failed:\n{done.stderr[-2000:]}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) // 2_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructions", action="store_true", help="count with callgrind")
    parser.add_argument("--static", action="store_true", help="the 13-byte file, not the app")
    parser.add_argument("--log", action="store_true", help="with a combined access log")
    parser.add_argument("--no-scoreboard", action="store_true", help="without a scoreboard slot")
    parser.add_argument("--serve", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    flags = [f for f, on in (("--static", args.static), ("--log", args.log)) if on]
    if args.no_scoreboard:
        flags.append("--no-scoreboard")
    shown = " ".join(flags) or "(WSGI app, scoreboard, no log)"
    sys.path.insert(0, str(SRC))
    import mpmd

    compiled = len(mpmd.compiled_modules())
    shown += f"; {compiled} modules compiled" if compiled else "; plain Python"
    if args.instructions:
        print(f"{instructions_per_request(flags):,} instructions per request {shown}")
        return
    work = Path(tempfile.mkdtemp(prefix="mpmd-hotpath-"))
    try:
        loop, close = server_loop(
            work, static=args.static, log=args.log, scoreboard=not args.no_scoreboard
        )
        try:
            if args.serve:
                loop(args.serve)
            else:
                print(f"{cpu_per_request(loop):.2f} CPU µs per request {shown}")
        finally:
            close()
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
