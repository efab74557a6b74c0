"""Running one server and loading it with wrk: start, wait until ready, read
its process tree's CPU time, stop; run wrk and parse what it prints.

Each server runs in its own process group (a new session), on its own free port
on 127.0.0.1, and is always stopped: SIGTERM to the PID we started, SIGKILL
after STOP_GRACE, then SIGKILL by PID to whatever is left in its group.
"""

from __future__ import annotations

import errno
import http.client
import os
import re
import selectors
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import psutil
from servers import EXPECTED_BODY, Launch, Server, Unavailable

READY_TRIES = 100
READY_INTERVAL = 0.1  # seconds
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
# A wrk run under the idle connections is killed this many seconds after its
# duration: wrk never ends while one of its connections is still connecting.
HUNG_WRK_GRACE = 5


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
    # each live process's own user + system CPU (its reaped children's left out)
    own: dict[tuple[int, float], float] = field(default_factory=dict)


def cpu_split(before: TreeCpu, after: TreeCpu) -> list[float]:
    """How the CPU the tree's processes used between two readings divides among
    them, largest first, as shares of their sum (only processes live at both
    readings: a steady tree). A server whose work lands on one of its two
    children shows [0.95, 0.05, 0.0]."""
    deltas = [after.own[key] - before.own[key] for key in after.own.keys() & before.own.keys()]
    total = sum(deltas)
    return sorted((d / total for d in deltas), reverse=True) if total > 0 else []


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
    own = {}
    for proc in procs:
        with suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
            own[proc.pid, proc.create_time()] = times.user + times.system
    return TreeCpu(total, frozenset(own), own)


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


def run_wrk(wrk_args: tuple[str, ...], url: str, seconds: int, grace: float = 60) -> WrkResult:
    """wrk for `seconds`; subprocess.TimeoutExpired (wrk killed) if it has not
    finished `grace` seconds later -- wrk 4.1 never ends while one of its
    connections is still connecting (the server's accept queue full)."""
    argv = ["wrk", *wrk_args, f"-d{seconds}s", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + grace)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout}")
    try:
        return parse_wrk(done.stdout)
    except ValueError as exc:
        raise RuntimeError(f"{exc}:\n{done.stdout}") from None


# ---------------------------------------------------------------------------
# Memory of a process tree


def tree_pss(pid: int) -> int | None:
    """Proportional set size, in bytes, summed over process `pid` and all its
    descendants (psutil's memory_full_info().pss: /proc/PID/smaps_rollup).
    Pages shared between the processes -- a forked child's copy-on-write
    pages, the libraries -- are split between them, so the sum is what the
    tree costs. None if a process could not be read (permissions)."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return None
    total = 0
    for proc in procs:
        try:
            total += proc.memory_full_info().pss
        except psutil.NoSuchProcess:
            continue
        except (psutil.AccessDenied, AttributeError):
            return None
    return total


# ---------------------------------------------------------------------------
# Idle keep-alive connections


def request_bytes(path: str, close: bool = False) -> bytes:
    connection = "Connection: close\r\n" if close else ""
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{connection}\r\n".encode()


def response_complete(data: bytes) -> tuple[int, bytes] | None:
    """(status, body) once `data` holds a whole response with a Content-Length."""
    head, sep, body = data.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.split(b"\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        return 0, b""
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            with suppress(ValueError):
                length = int(value.strip())
    if length is None or len(body) >= length:
        return status, body[:length] if length is not None else body
    return None


@dataclass
class IdleHold:
    """What opening the idle connections achieved."""

    wanted: int
    connected: int = 0  # TCP connections established
    answered: int = 0  # ... whose one request was answered 200 with the body
    seconds: float = 0.0  # how long opening them took
    still_open: int | None = None  # after the loaded run: not closed by the server


class IdleConnections:
    """`count` keep-alive connections to 127.0.0.1:`port`, each sent one GET and
    then left open, idle. At most `in_flight` are being opened at once; one
    whose answer has not come after `answer_wait` s stops counting as in flight
    (a server whose threads each hold a connection will not answer it) and is
    kept open all the same; opening stops after `open_seconds`. Always closes
    every socket on exit."""

    def __init__(
        self,
        port: int,
        path: str,
        count: int,
        *,
        open_seconds: float,
        answer_wait: float,
        in_flight: int,
    ) -> None:
        self.port = port
        self.request = request_bytes(path)
        self.count = count
        self.open_seconds = open_seconds
        self.answer_wait = answer_wait
        self.in_flight = in_flight
        self.socks: list[socket.socket] = []
        self.hold = IdleHold(wanted=count)

    def __enter__(self) -> IdleConnections:
        try:
            self._open()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sock in self.socks:
            with suppress(OSError):
                sock.close()
        self.socks.clear()

    def _open(self) -> None:
        start = time.monotonic()
        deadline = start + self.open_seconds
        selector = selectors.DefaultSelector()
        connecting: set[socket.socket] = set()
        answering: dict[socket.socket, tuple[float, bytearray]] = {}  # sent at, received
        started = 0
        try:
            while time.monotonic() < deadline:
                now = time.monotonic()
                # an answer that does not come: stop waiting for it, keep the connection
                for sock, (sent, _) in list(answering.items()):
                    if now - sent > self.answer_wait:
                        selector.unregister(sock)
                        del answering[sock]
                while started < self.count and len(connecting) + len(answering) < self.in_flight:
                    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                    self.socks.append(sock)
                    sock.setblocking(False)
                    sock.connect_ex(("127.0.0.1", self.port))
                    connecting.add(sock)
                    selector.register(sock, selectors.EVENT_WRITE)
                    started += 1
                if not connecting and not answering:
                    break  # all started, none in flight
                for key, _ in selector.select(timeout=0.05):
                    ready = key.fileobj
                    assert isinstance(ready, socket.socket)
                    sock = ready
                    if sock in connecting:
                        connecting.discard(sock)
                        try:
                            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                                raise OSError("connect failed")
                            sock.send(self.request)
                        except OSError:
                            selector.unregister(sock)
                            continue
                        answering[sock] = (time.monotonic(), bytearray())
                        selector.modify(sock, selectors.EVENT_READ)
                        continue
                    if sock not in answering:
                        continue
                    try:
                        data = sock.recv(65536)
                    except BlockingIOError:
                        continue
                    except OSError:
                        data = b""
                    received = answering[sock][1]
                    received += data
                    done = response_complete(bytes(received))
                    if not data or done is not None:
                        selector.unregister(sock)
                        del answering[sock]
                        if done is not None and done[0] == 200 and done[1] == EXPECTED_BODY:
                            self.hold.answered += 1
        finally:
            selector.close()
        # a connection still connecting when time ran out is left to finish on its own
        # (without a request); established are those with a peer now
        for sock in self.socks:
            with suppress(OSError):
                sock.getpeername()
                self.hold.connected += 1
        self.hold.seconds = time.monotonic() - start

    def count_open(self) -> int:
        """How many of the connections the server has not closed (nor reset)."""
        alive = 0
        for sock in self.socks:
            try:
                data = sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
            except BlockingIOError:
                alive += 1  # open, nothing to read: idle
                continue
            except OSError:
                continue  # reset, or never connected
            if data:
                alive += 1  # open, with a late answer waiting to be read
        self.hold.still_open = alive
        return alive


# ---------------------------------------------------------------------------
# Slowloris


@dataclass
class SlowlorisResult:
    clients: int
    seconds: float
    sent: int = 0  # probes sent
    answered: int = 0  # ... answered 200 with the body within the probe timeout
    latencies: list[float] = field(default_factory=list)  # of the answered probes, seconds
    failures: dict[str, int] = field(default_factory=dict)  # why a probe failed -> how many
    slow_connected: int = 0  # slow clients connected at the end
    slow_reconnects: int = 0  # slow connections the server closed (each reopened)
    slow_lines: int = 0  # header lines trickled in all

    @property
    def max_latency(self) -> float | None:
        return max(self.latencies) if self.latencies else None


REOPEN_AFTER = 1.0  # seconds a slow client waits to start anew on a connection the server closed


class SlowClients:
    """`count` connections each sending a request head one header line every
    `line_every` seconds and never its end, from one thread (non-blocking
    sockets). One the server closes is reopened and starts its head anew.
    stop() closes them all."""

    def __init__(self, port: int, path: str, count: int, line_every: float) -> None:
        self.port = port
        self.first = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n".encode()
        self.count = count
        self.line_every = line_every
        self.done = threading.Event()
        self.lines = 0
        self.reconnects = 0
        self.socks: list[socket.socket | None] = [None] * count
        self.thread = threading.Thread(target=self._run, name="slowloris", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=10)
        for sock in self.socks:
            if sock is not None:
                with suppress(OSError):
                    sock.close()

    def connected(self) -> int:
        alive = 0
        for sock in list(self.socks):
            if sock is None:
                continue
            with suppress(OSError):
                sock.getpeername()
                alive += 1
        return alive

    def _open(self, i: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        sock.connect_ex(("127.0.0.1", self.port))
        self.socks[i] = sock

    def _reopen(self, i: int) -> None:
        sock = self.socks[i]
        if sock is not None:
            with suppress(OSError):
                sock.close()
        self.reconnects += 1
        self._open(i)

    def _run(self) -> None:
        start = time.monotonic()
        # staggered: client i sends its lines at start + i/count x line_every + k x line_every
        due = [start + i * self.line_every / self.count for i in range(self.count)]
        sent_first = [False] * self.count
        serial = 0
        for i in range(self.count):
            self._open(i)
        while not self.done.is_set():
            now = time.monotonic()
            for i in range(self.count):
                sock = self.socks[i]
                if sock is None or due[i] > now:
                    continue
                try:
                    data: bytes | None = sock.recv(4096, socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    data = None  # the server is waiting for the rest of the head
                except OSError as exc:
                    if exc.errno == errno.ENOTCONN:
                        due[i] = now + 0.1  # still connecting
                        continue
                    data = b""
                if data is not None:  # closed (b""), or answered (an error status): anew
                    self._reopen(i)
                    sent_first[i] = False
                    due[i] = now + REOPEN_AFTER
                    continue
                serial += 1
                line = (
                    self.first if not sent_first[i] else f"X-Slow-{serial}: {serial}\r\n".encode()
                )
                try:
                    sock.send(line)
                except BlockingIOError:
                    due[i] = now + 0.1
                    continue
                except OSError as exc:
                    if exc.errno == errno.ENOTCONN:
                        due[i] = now + 0.1
                        continue
                    self._reopen(i)
                    sent_first[i] = False
                    due[i] = now + REOPEN_AFTER
                    continue
                sent_first[i] = True
                self.lines += 1
                due[i] = now + self.line_every
            self.done.wait(0.05)


def probe(port: int, path: str, timeout: float) -> tuple[float | None, str]:
    """One GET on a new connection (Connection: close): (latency, '') if answered
    200 with the body within `timeout` seconds, else (None, why)."""
    start = time.monotonic()
    deadline = start + timeout
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(request_bytes(path, close=True))
            data = b""
            while (done := response_complete(data)) is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None, "timeout"
                sock.settimeout(left)
                chunk = sock.recv(65536)
                if not chunk:
                    return None, "closed without an answer"
                data += chunk
    except TimeoutError:
        return None, "timeout"
    except OSError as exc:
        return None, type(exc).__name__
    if done[0] != 200 or done[1] != EXPECTED_BODY:
        return None, f"status {done[0]}"
    return time.monotonic() - start, ""


def slowloris(
    port: int,
    path: str,
    *,
    clients: int,
    line_every: float,
    probe_every: float,
    seconds: float,
    probe_timeout: float,
    settle: float,
) -> SlowlorisResult:
    """`clients` slow clients for `settle` + `seconds` s; a probe (its own thread)
    every `probe_every` s of the last `seconds`; waits for the last probe's
    answer or timeout, then closes every slow connection."""
    result = SlowlorisResult(clients=clients, seconds=seconds)
    slow = SlowClients(port, path, clients, line_every)
    probes: list[threading.Thread] = []
    outcomes: list[tuple[float | None, str]] = []
    lock = threading.Lock()

    def one() -> None:
        outcome = probe(port, path, probe_timeout)
        with lock:
            outcomes.append(outcome)

    slow.start()
    try:
        time.sleep(settle)
        start = time.monotonic()
        n = 0
        while (due := start + n * probe_every) < start + seconds:
            time.sleep(max(0.0, due - time.monotonic()))
            thread = threading.Thread(target=one, name=f"probe-{n}", daemon=True)
            thread.start()
            probes.append(thread)
            n += 1
        for thread in probes:
            thread.join(timeout=probe_timeout + 5)
        result.slow_connected = slow.connected()
    finally:
        slow.stop()
    result.sent = len(probes)
    for latency, why in outcomes:
        if latency is not None:
            result.answered += 1
            result.latencies.append(latency)
        else:
            result.failures[why] = result.failures.get(why, 0) + 1
    result.slow_reconnects = slow.reconnects
    result.slow_lines = slow.lines
    return result
