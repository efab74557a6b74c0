"""What every MPM must do the same way: children, kill -9, recycling, signals, restarts, -k.

Each test runs on prefork, worker, event and winnt (``mpm``); the numbers
each MPM runs with are ``mpm_numbers`` (a pool at rest with N children).
"""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest

from tests.mpmtools import children, get, mpm_conf, mpm_numbers, wait_for
from tests.serverproc import MPMS, Server, run_server

StartServer = Callable[..., Server]


@pytest.fixture(params=MPMS)
def mpm(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def start(tmp_path: Path, mpm: str) -> Iterator[StartServer]:
    """``start(children=N, extra=..., **directives)``: a parent and N children of ``mpm``."""
    with ExitStack() as stack:
        count = 0

        def run(children: int = 2, extra: str = "", **numbers: int) -> Server:
            nonlocal count
            count += 1
            root = tmp_path / f"{mpm}{count}"
            root.mkdir()
            body = mpm_conf(mpm, root, extra, **{**mpm_numbers(mpm, children), **numbers})
            return stack.enter_context(run_server(root, body, mode="-DFOREGROUND"))

        yield run


def expected_children(mpm: str, n: int) -> int:
    return 1 if mpm == "winnt" else n


def settled(server: Server, n: int) -> set[int]:
    """Wait until exactly ``n`` children run; their pids."""
    result: set[int] = wait_for(lambda: children(server) if len(children(server)) == n else None)
    return result


def test_parent_starts_its_children_and_never_serves(start: StartServer, mpm: str) -> None:
    server = start(children=3)
    kids = settled(server, expected_children(mpm, 3))
    served_by = {int(get(server)) for _ in range(20)}
    assert server.pid not in served_by
    assert served_by <= kids
    assert (server.root / "mpmd.pid").read_text().strip() == str(server.pid)


def test_killed_child_is_logged_and_replaced(start: StartServer, mpm: str) -> None:
    server = start(children=2)
    before = settled(server, expected_children(mpm, 2))
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(children(server) - before) >= 1 and victim not in children(server))
    assert f"AH00052: child pid {victim} exit signal Killed (9)" in server.log_text()
    for _ in range(10):
        get(server)


def test_max_connections_per_child_recycles_children_and_answers_everything(
    start: StartServer, mpm: str
) -> None:
    server = start(children=2, MaxConnectionsPerChild=50)
    settled(server, expected_children(mpm, 2))
    pids = {get(server) for _ in range(500)}
    # each child stops after 50 connections; a threaded one may have accepted one more
    # on another thread by the time it noticed
    assert len(pids) >= 500 // 52


def test_graceful_restart_drops_no_request(start: StartServer, mpm: str) -> None:
    server = start(children=3)
    old = settled(server, expected_children(mpm, 3))
    failures: list[str] = []
    done = 0

    def client(keep_alive: bool) -> None:
        nonlocal done
        conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        for _ in range(500):
            try:
                get(server, keep=conn if keep_alive else None)
                done += 1
            except Exception as e:
                failures.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection(server.host, server.port, timeout=30)
        conn.close()

    threads = [threading.Thread(target=client, args=(k,)) for k in (True, False, True, False)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    os.kill(server.pid, signal.SIGUSR1)
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert done == 2000
    wait_for(lambda: not (children(server) & old), timeout=30)  # the old generation is gone
    assert int(get(server)) not in old
    assert "AH00171: Graceful restart requested, doing restart" in server.log_text()


def test_graceful_stop_lets_a_slow_request_finish(start: StartServer, mpm: str) -> None:
    server = start(children=2)
    settled(server, expected_children(mpm, 2))
    result: list[str] = []
    t = threading.Thread(target=lambda: result.append(get(server, "/?sleep=2")))
    t.start()
    time.sleep(0.5)
    os.kill(server.pid, signal.SIGWINCH)
    t.join(timeout=30)
    assert result and result[0].isdigit()
    assert server.proc.wait(timeout=30) == 0
    assert "AH00170: caught SIGWINCH, shutting down gracefully" in server.log_text()


def test_broken_config_on_graceful_restart_keeps_the_old_server(
    start: StartServer, mpm: str
) -> None:
    server = start(children=2)
    settled(server, expected_children(mpm, 2))
    conf = server.root / "mpmd.conf"
    conf.write_text(conf.read_text() + "\nNoSuchDirective here\n")
    os.kill(server.pid, signal.SIGUSR1)
    wait_for(lambda: "Invalid command 'NoSuchDirective'" in server.log_text())
    for _ in range(10):
        get(server)
    assert server.proc.poll() is None


def test_a_new_configuration_that_cannot_open_its_logs_keeps_the_old_server(
    start: StartServer, mpm: str, tmp_path: Path
) -> None:
    server = start(children=1)
    before = int(get(server))
    (tmp_path / "a-file").write_text("")  # a log "directory" that is a file: open fails
    conf = server.root / "mpmd.conf"
    conf.write_text(conf.read_text() + f"\nCustomLog {tmp_path / 'a-file' / 'access_log'} common\n")
    os.kill(server.pid, signal.SIGUSR1)
    wait_for(lambda: "MP00046" in server.log_text())
    assert "AH00649: could not open transfer log file" in server.log_text()
    for _ in range(10):  # the same generation goes on serving
        assert int(get(server)) in children(server) | {before}
    assert server.proc.poll() is None


def test_graceful_restart_reopens_logs_for_logrotate(
    start: StartServer, mpm: str, tmp_path: Path
) -> None:
    access = tmp_path / "access_log"
    server = start(children=1, extra=f'LogFormat "%r %>s" short\nCustomLog {access} short')
    get(server, "/before")
    wait_for(lambda: access.exists() and "GET /before" in access.read_text())
    access.rename(access.with_name("access_log.1"))
    os.kill(server.pid, signal.SIGUSR1)
    wait_for(lambda: "AH00171" in server.log_text())
    # new connections go to the new generation, which writes to a fresh file
    wait_for(
        lambda: get(server, "/after") and access.exists() and "GET /after" in access.read_text(),
        timeout=30,
    )
    assert "GET /before" not in access.read_text()
    assert "GET /before" in access.with_name("access_log.1").read_text()


def test_hup_restarts_with_new_children_and_keeps_serving(start: StartServer, mpm: str) -> None:
    server = start(children=2)
    n = expected_children(mpm, 2)
    old = settled(server, n)
    os.kill(server.pid, signal.SIGHUP)
    wait_for(lambda: "AH00172: SIGHUP received.  Attempting to restart" in server.log_text())
    wait_for(lambda: len(children(server)) == n and not (children(server) & old), timeout=30)
    assert int(get(server)) not in old
    assert (server.root / "mpmd.pid").read_text().strip() == str(server.pid)


def test_sigterm_stops_the_parent_and_every_child(start: StartServer, mpm: str) -> None:
    server = start(children=3)
    kids = settled(server, expected_children(mpm, 3))
    os.kill(server.pid, signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    wait_for(lambda: not any(psutil.pid_exists(pid) for pid in kids))
    assert not (server.root / "mpmd.pid").exists()
    assert "AH00169: caught SIGTERM, shutting down" in server.log_text()


def test_dash_k_verbs_control_a_daemonised_server(tmp_path: Path, mpm: str) -> None:
    root = tmp_path / "daemon"
    root.mkdir()
    conf = root / "mpmd.conf"
    conf.write_text(
        f"Listen 127.0.0.1:0\nErrorLog {root / 'error_log'}\n"
        + mpm_conf(mpm, root, **mpm_numbers(mpm, 1))
    )
    pid_file = root / "mpmd.pid"

    def mpmd(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mpmd", "-f", str(conf), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    try:
        assert mpmd("-k", "start").returncode == 0
        pid = int(wait_for(lambda: pid_file.exists() and pid_file.read_text().strip()))
        assert mpmd("-k", "start").stdout == f"mpmd (pid {pid}) already running\n"
        assert mpmd("-k", "graceful").returncode == 0
        wait_for(lambda: "AH00171" in (root / "error_log").read_text())
        assert mpmd("-k", "stop").returncode == 0
        wait_for(lambda: not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie")
        assert mpmd("-k", "stop").stdout == "mpmd (no pid file) not running\n"
    finally:
        if pid_file.exists():
            text = pid_file.read_text().strip()
            if text.isdigit():
                try:
                    os.kill(int(text), signal.SIGKILL)
                except ProcessLookupError:
                    pass


def test_dash_k_start_says_why_it_cannot_bind_before_detaching(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        conf = tmp_path / "mpmd.conf"
        conf.write_text(
            f"Listen 127.0.0.1:{port}\nErrorLog {tmp_path / 'error_log'}\n"
            + mpm_conf("event", tmp_path, **mpm_numbers("event", 1))
        )
        result = subprocess.run(
            [sys.executable, "-m", "mpmd", "-f", str(conf), "-k", "start"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1
    assert (
        f"(98)Address already in use: AH00072: make_sock: could not bind to address "
        f"127.0.0.1:{port}\nAH00015: no listening sockets available, shutting down\n"
    ) == result.stderr
    assert not (tmp_path / "mpmd.pid").exists()
