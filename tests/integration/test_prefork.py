"""The parent and the prefork MPM: children, spare maintenance, signals, graceful restart, -k."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.serverproc import Server, run_server

APPS = Path(__file__).resolve().parent.parent / "apps"
StartPrefork = Callable[..., Server]


def prefork_conf(root: Path, extra: str = "", **numbers: int) -> str:
    settings = {
        "StartServers": 2,
        "MinSpareServers": 1,
        "MaxSpareServers": 3,
        "MaxRequestWorkers": 10,
        **numbers,
    }
    lines = [f"{k} {v}" for k, v in settings.items()]
    return "\n".join(
        [
            "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so",
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


@pytest.fixture
def prefork(tmp_path: Path) -> Iterator[StartPrefork]:
    with ExitStack() as stack:
        count = 0

        def start(extra: str = "", **numbers: int) -> Server:
            nonlocal count
            count += 1
            root = tmp_path / f"prefork{count}"
            root.mkdir()
            body = prefork_conf(root, extra, **numbers)
            return stack.enter_context(run_server(root, body, mode="-DFOREGROUND"))

        yield start


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


def test_parent_starts_start_servers_children_and_never_serves(prefork: StartPrefork) -> None:
    server = prefork(StartServers=3, MinSpareServers=1, MaxSpareServers=5)
    wait_for(lambda: len(children(server)) == 3)
    served_by = {int(get(server)) for _ in range(20)}
    assert server.pid not in served_by
    assert served_by <= children(server)
    assert (server.root / "mpmd.pid").read_text().strip() == str(server.pid)


def test_killed_child_is_logged_and_replaced(prefork: StartPrefork) -> None:
    server = prefork(StartServers=2, MinSpareServers=2, MaxSpareServers=4)
    before = wait_for(lambda: children(server) if len(children(server)) == 2 else None)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(children(server) - before) >= 1 and victim not in children(server))
    assert f"AH00052: child pid {victim} exit signal Killed (9)" in server.log_text()
    for _ in range(10):
        get(server)


def test_max_connections_per_child_recycles_children_and_answers_everything(
    prefork: StartPrefork,
) -> None:
    server = prefork(
        StartServers=2, MinSpareServers=2, MaxSpareServers=4, MaxConnectionsPerChild=50
    )
    wait_for(lambda: len(children(server)) == 2)
    pids = {get(server) for _ in range(500)}
    assert len(pids) >= 500 // 50  # every child served at most 50 connections


def test_spare_maintenance_grows_under_a_burst_and_shrinks_when_idle(
    prefork: StartPrefork,
) -> None:
    server = prefork(StartServers=1, MinSpareServers=1, MaxSpareServers=2, MaxRequestWorkers=10)
    wait_for(lambda: len(children(server)) == 1)
    sb = scoreboard(server)
    try:
        threads = [threading.Thread(target=get, args=(server, "/?sleep=8")) for _ in range(6)]
        for t in threads:
            t.start()
        # the pool grows (1, 2, 4 children a second) until each slow request holds a child (W);
        # 8 s of sleep leaves room for a slow machine before the first one finishes
        wait_for(lambda: sb.status_letters().count("W") >= 6, timeout=20)
        for t in threads:
            t.join(timeout=30)
        # idle again: maintenance stops the extra children one a second down to MaxSpareServers
        wait_for(lambda: sb.counts()[1] <= 2 and len(children(server)) <= 3, timeout=30)
    finally:
        sb.close()


def test_graceful_restart_drops_no_request(prefork: StartPrefork) -> None:
    server = prefork(StartServers=3, MinSpareServers=2, MaxSpareServers=6)
    wait_for(lambda: len(children(server)) == 3)
    old = children(server)
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
    wait_for(lambda: not (children(server) & old))  # the old generation is gone
    assert int(get(server)) not in old
    assert "AH00171: Graceful restart requested, doing restart" in server.log_text()


def test_graceful_stop_lets_a_slow_request_finish(prefork: StartPrefork) -> None:
    server = prefork(StartServers=2)
    wait_for(lambda: len(children(server)) == 2)
    result: list[str] = []
    t = threading.Thread(target=lambda: result.append(get(server, "/?sleep=2")))
    t.start()
    time.sleep(0.5)
    os.kill(server.pid, signal.SIGWINCH)
    t.join(timeout=30)
    assert result and result[0].isdigit()
    assert server.proc.wait(timeout=30) == 0
    assert "AH00170: caught SIGWINCH, shutting down gracefully" in server.log_text()


def test_broken_config_on_graceful_restart_keeps_the_old_server(prefork: StartPrefork) -> None:
    server = prefork(StartServers=2)
    wait_for(lambda: len(children(server)) == 2)
    conf = server.root / "mpmd.conf"
    conf.write_text(conf.read_text() + "\nNoSuchDirective here\n")
    os.kill(server.pid, signal.SIGUSR1)
    wait_for(lambda: "Invalid command 'NoSuchDirective'" in server.log_text())
    for _ in range(10):
        get(server)
    assert server.proc.poll() is None


def test_dash_k_verbs_control_a_daemonised_server(tmp_path: Path) -> None:
    root = tmp_path / "daemon"
    root.mkdir()
    conf = root / "mpmd.conf"
    conf.write_text(
        f"Listen 127.0.0.1:0\nErrorLog {root / 'error_log'}\n" + prefork_conf(root, StartServers=1)
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


def test_graceful_restart_reopens_logs_for_logrotate(prefork: StartPrefork, tmp_path: Path) -> None:
    access = tmp_path / "access_log"
    server = prefork(f'LogFormat "%r %>s" short\nCustomLog {access} short', StartServers=1)
    get(server, "/before")
    wait_for(lambda: access.exists() and "GET /before" in access.read_text())
    access.rename(access.with_name("access_log.1"))
    os.kill(server.pid, signal.SIGUSR1)
    wait_for(lambda: "AH00171" in server.log_text())
    wait_for(lambda: len(children(server)) >= 1)
    # new connections go to the new generation, which writes to a fresh file
    wait_for(
        lambda: get(server, "/after") and access.exists() and "GET /after" in access.read_text()
    )
    assert "GET /before" not in access.read_text()
    assert "GET /before" in access.with_name("access_log.1").read_text()


def test_two_generations_share_the_listen_socket(prefork: StartPrefork) -> None:
    server = prefork(StartServers=2)
    wait_for(lambda: len(children(server)) == 2)
    os.kill(server.pid, signal.SIGUSR1)
    wait_for(lambda: "AH00171" in server.log_text())
    for _ in range(20):
        get(server)


def test_hup_restarts_with_new_children_and_keeps_serving(prefork: StartPrefork) -> None:
    server = prefork(StartServers=2)
    old = wait_for(lambda: children(server) if len(children(server)) == 2 else None)
    os.kill(server.pid, signal.SIGHUP)
    wait_for(lambda: "AH00172: SIGHUP received.  Attempting to restart" in server.log_text())
    wait_for(lambda: len(children(server)) == 2 and not (children(server) & old))
    assert int(get(server)) not in old
    assert (server.root / "mpmd.pid").read_text().strip() == str(server.pid)


def test_sigterm_stops_the_parent_and_every_child(prefork: StartPrefork) -> None:
    server = prefork(StartServers=3)
    kids = wait_for(lambda: children(server) if len(children(server)) == 3 else None)
    os.kill(server.pid, signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    wait_for(lambda: not any(psutil.pid_exists(pid) for pid in kids))
    assert not (server.root / "mpmd.pid").exists()
    assert "AH00169: caught SIGTERM, shutting down" in server.log_text()
