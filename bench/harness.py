"""Running one server and loading it with wrk: start, wait until ready, read
its process tree's CPU time, stop; run wrk and parse what it prints.

Each server runs in its own process group (a new session), on its own free port
on 127.0.0.1, and is always stopped: SIGTERM to the PID we started, SIGKILL
after STOP_GRACE, then SIGKILL by PID to whatever is left in its group.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import psutil
from servers import EXPECTED_BODY, Launch, Server, Unavailable

READY_TRIES = 100
READY_INTERVAL = 0.1  # seconds
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL


class ServerFailed(Exception):
    """The server did not start, or died; the message says why."""


# ---------------------------------------------------------------------------
# Starting and stopping


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def logs_of(workdir: Path) -> str:
    """The tails of every log the server wrote, for a failure message."""
    parts = []
    for path in sorted(workdir.iterdir()):
        if path.is_file() and path.suffix not in (".conf", ".pid") and (text := tail(path)):
            parts.append(f"--- {path.name}\n{text}")
    return "\n".join(parts) or "(no output)"


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen[bytes], port: int, path: str) -> None:
    last_error = "no answer"
    for _ in range(READY_TRIES):
        if proc.poll() is not None:
            raise ServerFailed(f"exited with status {proc.returncode} before it was ready")
        try:
            status, body = get(port, path)
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if status == 200 and body == EXPECTED_BODY:
                return
            if status == 200:
                raise ServerFailed(f"GET {path} answered {body[:60]!r}, not {EXPECTED_BODY!r}")
            last_error = f"GET {path} answered {status}"
        time.sleep(READY_INTERVAL)
    raise ServerFailed(f"not ready after {READY_TRIES * READY_INTERVAL:.0f} s ({last_error})")


def group_members(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (a group we created)."""
    pids = []
    for pid in psutil.pids():
        with suppress(OSError):
            if os.getpgid(pid) == pgid:
                pids.append(pid)
    return pids


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server by PID, SIGKILL it after STOP_GRACE; then SIGKILL by
    PID whatever it left behind in its process group (orphaned workers)."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    # While a member lives, the group's id (the leader's PID) cannot be reused.
    for pid in group_members(proc.pid):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def running(server: Server, root: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start `server`, wait until it serves, yield (process, port); always stop it."""
    workdir = root / server.name
    workdir.mkdir()
    port = free_port()
    try:
        argv = server.command(Launch(port=port, workdir=workdir))
    except Unavailable as exc:
        raise ServerFailed(f"cannot run here: {exc}") from exc
    except OSError as exc:
        raise ServerFailed(f"could not prepare its command: {exc}") from exc
    env = {**os.environ, **server.env}
    with (workdir / "stdout").open("wb") as out, (workdir / "stderr").open("wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServerFailed(f"could not run {argv[0]}: {exc}") from exc
    try:
        try:
            wait_ready(proc, port, server.path)
        except ServerFailed as exc:
            stop(proc)
            raise ServerFailed(f"{exc}\n  command: {' '.join(argv)}\n{logs_of(workdir)}") from None
        yield proc, port
    finally:
        stop(proc)


# ---------------------------------------------------------------------------
# CPU time of a process tree


@dataclass(frozen=True)
class TreeCpu:
    """One reading of a server's process tree."""

    seconds: float  # user + system CPU, of the live processes and the reaped ones
    processes: frozenset[tuple[int, float]]  # (pid, start time) of each live process


def tree_cpu(pid: int) -> TreeCpu:
    """User + system CPU seconds of process `pid` and of all its descendants,
    the live ones and those that have exited.

    Each live process counts its own time plus its reaped children's (Linux
    adds a child's CPU, its own and its reaped children's, to its parent's
    cutime/cstime when the parent waits for it). So a prefork child that exits
    between two readings is still counted, once, in its parent's. The
    descendants are read before the root: a child reaped in between would be
    counted twice (not lost), and only for that one reading.
    """
    try:
        root = psutil.Process(pid)
        procs = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return TreeCpu(0.0, frozenset())
    total = 0.0
    seen = set()
    for proc in procs:
        with suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            seen.add((proc.pid, proc.create_time()))
    return TreeCpu(total, frozenset(seen))


# ---------------------------------------------------------------------------
# Running wrk


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50: float | None  # seconds
    p99: float | None
    non_2xx_3xx: int
    socket_errors: dict[str, int]

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def error_detail(self) -> str:
        parts = [f"{kind} {n}" for kind, n in self.socket_errors.items() if n]
        if self.non_2xx_3xx:
            parts.append(f"non-2xx/3xx {self.non_2xx_3xx}")
        return ", ".join(parts)


TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * TIME_UNITS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    done = re.search(r"^\s*(\d+) requests in ([\d.]+\w+)", output, re.MULTILINE)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if not done or not rps:
        raise ValueError("wrk printed no summary")
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)", output, re.MULTILINE))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(done[1]),
        seconds=parse_time(done[2]),
        rps=float(rps[1]),
        p50=parse_time(percentiles["50"]) if "50" in percentiles else None,
        p99=parse_time(percentiles["99"]) if "99" in percentiles else None,
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True)
        )
        if sockets
        else {},
    )


def run_wrk(wrk_args: tuple[str, ...], url: str, seconds: int) -> WrkResult:
    argv = ["wrk", *wrk_args, f"-d{seconds}s", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout}")
    try:
        return parse_wrk(done.stdout)
    except ValueError as exc:
        raise RuntimeError(f"{exc}:\n{done.stdout}") from None
