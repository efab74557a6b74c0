"""Start a real ``mpmd -X`` on an ephemeral port, talk to it, always stop it by PID."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

READY = re.compile(r"MP00020: serving on http://(\[[^\]]+\]|[^:/]+):(\d+)/")


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    root: Path
    host: str
    port: int
    error_log: Path
    ports: list[int] = field(default_factory=list)

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def connect(self, timeout: float = 10.0) -> socket.socket:
        return socket.create_connection((self.host.strip("[]"), self.port), timeout=timeout)

    def raw(self, data: bytes, timeout: float = 10.0, read_until_close: bool = True) -> bytes:
        """Send raw bytes and return everything the server answers until it closes (bounded)."""
        with self.connect(timeout) as s:
            s.sendall(data)
            return recv_all(s, timeout) if read_until_close else s.recv(65536)

    def log_text(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def stop(self) -> None:
        stop_process(self.proc)


def recv_all(s: socket.socket, timeout: float = 10.0, limit: int = 1 << 24) -> bytes:
    s.settimeout(timeout)
    chunks: list[bytes] = []
    total = 0
    deadline = time.monotonic() + timeout
    while total < limit and time.monotonic() < deadline:
        try:
            data = s.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not data:
            break
        chunks.append(data)
        total += len(data)
    return b"".join(chunks)


def stop_process(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        except ProcessLookupError:
            pass
    for stream in (proc.stdout, proc.stderr):
        if stream is not None:
            stream.close()


# What each MPM runs with in the tests: small pools, so that 2 CPUs start them quickly.
MPMS = ("prefork", "worker", "event", "winnt")
MPM_SETTINGS = {
    "prefork": "StartServers 2\nMinSpareServers 1\nMaxSpareServers 4\nMaxRequestWorkers 20",
    "worker": "StartServers 2\nThreadsPerChild 8\nMinSpareThreads 4\nMaxSpareThreads 32",
    "event": "StartServers 2\nThreadsPerChild 8\nMinSpareThreads 4\nMaxSpareThreads 32",
    "winnt": "ThreadsPerChild 16",
}


def mpm_conf(mpm: str, root: Path) -> str:
    """The lines that load ``mpm`` with the tests' numbers, its scoreboard and pid file in ``root``."""
    return (
        f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so\n{MPM_SETTINGS[mpm]}\n"
        f"ScoreBoardFile {root / 'scoreboard'}\nPidFile {root / 'mpmd.pid'}\n"
    )


def write_conf(root: Path, body: str, listen: str = "127.0.0.1:0") -> Path:
    conf = root / "mpmd.conf"
    conf.write_text(f"Listen {listen}\nErrorLog {root / 'error_log'}\n{body}\n")
    return conf


@contextmanager
def run_server(
    root: Path,
    conf_body: str = "",
    args: list[str] | None = None,
    listen: str = "127.0.0.1:0",
    embedded: bool = False,
    env: dict[str, str] | None = None,
    ready_timeout: float = 20.0,
    mode: str = "-X",
    mpm: str | None = None,
) -> Iterator[Server]:
    """Run ``mpmd -X`` (or ``mode="-DFOREGROUND"``: the parent and its children) with a config
    file written from ``conf_body``, or the embedded default.

    ``mpm`` ("prefork", "worker", "event", "winnt") loads that MPM with small numbers and
    runs the parent and its children; the server is ready once a child waits for connections.
    """
    root.mkdir(parents=True, exist_ok=True)
    if mpm is not None:
        conf_body = mpm_conf(mpm, root) + conf_body
        mode = "-DFOREGROUND"
    error_log = root / "error_log"
    if embedded:
        cmd = [sys.executable, "-m", "mpmd", mode, "-c", f"ErrorLog {error_log}", *(args or [])]
    else:
        conf = write_conf(root, conf_body, listen)
        cmd = [sys.executable, "-m", "mpmd", mode, "-f", str(conf), *(args or [])]
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        cmd, cwd=root, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        host, port = _wait_ready(proc, error_log, ready_timeout)
        if mpm is not None:
            _wait_child_ready(proc, root / "scoreboard", ready_timeout)
        yield Server(proc, root, host, port, error_log)
    finally:
        stop_process(proc)


def _wait_ready(proc: subprocess.Popen[bytes], error_log: Path, timeout: float) -> tuple[str, int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if error_log.exists():
            m = READY.search(error_log.read_text(errors="replace"))
            if m:
                return m.group(1), int(m.group(2))
        if proc.poll() is not None:
            out = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            log = error_log.read_text(errors="replace") if error_log.exists() else ""
            raise RuntimeError(f"mpmd exited with {proc.returncode}:\n{out}\n{log}")
        time.sleep(0.05)
    raise RuntimeError(f"mpmd did not become ready in {timeout} s")


def _wait_child_ready(proc: subprocess.Popen[bytes], path: Path, timeout: float) -> None:
    """Wait until the scoreboard shows a worker waiting for a connection (``_``)."""
    from mpmd.mpm.scoreboard import Scoreboard

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mpmd exited with {proc.returncode}")
        try:
            board = Scoreboard.attach(str(path))
        except Exception:  # not there yet, or still being written
            board = None
        if board is not None:
            try:
                if "_" in board.status_letters():
                    return
            finally:
                board.close()
        time.sleep(0.05)
    raise RuntimeError(f"no mpmd child became ready in {timeout} s")
