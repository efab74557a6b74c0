"""``mpmctl`` operating a real, daemonised server from a tree made by ``mpmctl init``.

Every server a test starts is found by its pid file (or, if it never wrote one,
by the tree's path in its command line) and stopped by PID in a finally.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from tests.serverproc import READY

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 20.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or check}")


class Tree:
    """A configuration directory from ``mpmctl init`` that listens on an ephemeral port."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.pid_file = root / "run" / "mpmd.pid"
        self.error_log = root / "logs" / "error_log"

    def mpmctl(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "mpmd.cli.mpmctl", "-d", str(self.root), *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **(env or {})},
        )

    def log(self) -> str:
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def pid(self) -> int:
        text = wait_for(
            lambda: self.pid_file.exists() and self.pid_file.read_text().strip(),
            what=f"{self.pid_file}",
        )
        return int(text)

    def ports(self) -> list[int]:
        """The ports of every ``MP00020: serving on`` line so far, in order."""
        return [int(m.group(2)) for m in READY.finditer(self.log())]

    def port(self) -> int:
        return wait_for(lambda: self.ports(), what="MP00020 in the error log")[-1]

    def get(self, path: str = "/") -> tuple[int, str]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port(), timeout=15)
        try:
            conn.request("GET", path)
            resp = conn.getresponse()
            return resp.status, resp.read().decode(errors="replace")
        finally:
            conn.close()

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.root / name
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, new, 1))

    def server_processes(self) -> list[psutil.Process]:
        """The parent this tree started (pid file, else command line) and its children."""
        parents: list[psutil.Process] = []
        with contextlib.suppress(OSError, ValueError):
            parents.append(psutil.Process(int(self.pid_file.read_text().strip())))
        if not parents:
            for proc in psutil.process_iter(["cmdline"]):
                with contextlib.suppress(psutil.Error):
                    if str(self.root) in " ".join(proc.info["cmdline"] or []):
                        parents.append(proc)
        found = []
        for parent in parents:
            with contextlib.suppress(psutil.Error):
                found += [parent, *parent.children(recursive=True)]
        return found

    def kill_server(self) -> None:
        procs = self.server_processes()
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(signal.SIGTERM)
        _, alive = psutil.wait_procs(procs, timeout=5)
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                proc.kill()
        psutil.wait_procs(alive, timeout=5)


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[Tree]:
    root = tmp_path / "conf"
    init = subprocess.run(
        [sys.executable, "-m", "mpmd.cli.mpmctl", "init", str(root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert init.returncode == 0, init.stderr
    t = Tree(root)
    t.edit("mpmd.conf", "Listen 127.0.0.1:${PORT}", "Listen 127.0.0.1:0")
    # the embedded default runs event; these tests start from prefork, as an operator would
    assert t.mpmctl("dismod", "-q", "mpm_event").returncode == 0
    assert t.mpmctl("enmod", "-q", "mpm_prefork").returncode == 0
    # two cores shared with other tests: few children
    (root / "mpmd.conf").write_text(
        (root / "mpmd.conf").read_text()
        + "\n<IfModule mpm_prefork_module>\n    StartServers 1\n    MinSpareServers 1\n"
        "    MaxSpareServers 2\n</IfModule>\nGracefulShutdownTimeout 10\n"
    )
    try:
        yield t
    finally:
        t.kill_server()


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# -- configtest ----------------------------------------------------------------------------------


def test_configtest_says_syntax_ok(tree: Tree) -> None:
    result = tree.mpmctl("configtest")
    assert (result.returncode, result.stderr) == (0, "Syntax OK\n")


def test_configtest_reports_a_syntax_error_with_its_file_and_line_and_exits_1(tree: Tree) -> None:
    security = tree.root / "conf-available" / "security.conf"
    security.write_text(security.read_text() + "Bogus on\n")
    lines = len(security.read_text().splitlines())
    result = tree.mpmctl("configtest")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"AH00526: Syntax error on line {lines} of {tree.root / 'conf-enabled' / 'security.conf'}:"
    ) or result.stderr.startswith(f"AH00526: Syntax error on line {lines} of {security}:")


def test_mpmd_flags_pass_through(tree: Tree) -> None:
    result = tree.mpmctl("-M")
    assert result.returncode == 0
    assert " mpm_prefork_module (shared)" in result.stdout.splitlines()
    result = tree.mpmctl("-S")
    assert f'PidFile: "{tree.pid_file}"' in result.stdout


# -- start / graceful / stop --------------------------------------------------------------------


def test_start_graceful_and_stop_a_daemonised_server(tree: Tree) -> None:
    start = tree.mpmctl("start")
    assert (start.returncode, start.stdout, start.stderr) == (0, "", "")
    pid = tree.pid()
    assert alive(pid)
    status, body = tree.get("/")
    assert status == 200 and "mpmd" in body
    assert tree.get("/hello?name=mpmctl") == (200, "Hello, mpmctl!\n")

    again = tree.mpmctl("start")
    assert (again.returncode, again.stdout) == (0, f"mpmd (pid {pid}) already running\n")

    graceful = tree.mpmctl("graceful")
    assert graceful.returncode == 0, graceful.stdout + graceful.stderr
    wait_for(lambda: "AH00171: Graceful restart requested" in tree.log(), what="AH00171")
    assert tree.get("/")[0] == 200
    assert tree.pid() == pid

    stop = tree.mpmctl("stop")
    assert stop.returncode == 0
    wait_for(lambda: not alive(pid), what=f"pid {pid} to exit")
    assert not tree.pid_file.exists()
    assert tree.mpmctl("stop").stdout == "mpmd (no pid file) not running\n"


def test_restart_with_a_broken_configuration_leaves_the_server_running(tree: Tree) -> None:
    assert tree.mpmctl("start").returncode == 0
    pid = tree.pid()
    tree.port()
    site = tree.root / "sites-available" / "000-default.conf"
    site.write_text(site.read_text() + "NoSuchDirective here\n")
    restart = tree.mpmctl("restart")
    assert restart.returncode == 1
    assert "AH00526: Syntax error" in restart.stderr
    assert restart.stdout.endswith(
        "Action 'restart' failed.\nThe mpmd error log may have more information.\n"
    )
    assert "AH00172" not in tree.log()  # no SIGHUP was sent
    assert tree.get("/")[0] == 200
    assert tree.pid() == pid


def test_stop_without_a_server_says_it_is_not_running(tree: Tree) -> None:
    result = tree.mpmctl("stop")
    assert (result.returncode, result.stdout) == (0, "mpmd (no pid file) not running\n")


def test_status_of_a_stopped_server_says_it_cannot_reach_it(tree: Tree) -> None:
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        tree.edit("mpmd.conf", "Listen 127.0.0.1:0", f"Listen 127.0.0.1:{port}")
        result = tree.mpmctl("status")
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"mpmctl status: cannot reach the server's status page at "
        f"http://127.0.0.1:{port}/server-status?auto: "
    )


# -- with mod_status ------------------------------------------------------------------------------


def test_status_and_fullstatus_show_the_running_server(tree: Tree) -> None:
    enable = tree.mpmctl("enmod", "status")
    assert enable.returncode == 0, enable.stderr
    assert tree.mpmctl("start").returncode == 0
    tree.pid()
    for _ in range(5):
        assert tree.get("/")[0] == 200
    env = {"MPMD_STATUSURL": f"http://127.0.0.1:{tree.port()}/server-status"}

    status = tree.mpmctl("status", env=env)
    assert status.returncode == 0, status.stderr
    assert re.search(r"^Server MPM +prefork", status.stdout, re.MULTILINE)
    assert "Scoreboard Key:" in status.stdout
    assert "Srv" not in status.stdout

    full = tree.mpmctl("fullstatus", env=env)
    assert full.returncode == 0, full.stderr
    assert "Scoreboard Key:" in full.stdout
    assert "Child Server number - generation" in full.stdout or "No per-worker" in full.stdout


# -- switching the MPM ----------------------------------------------------------------------------


def test_dismod_enmod_and_restart_switch_a_running_server_to_event(tree: Tree) -> None:
    assert tree.mpmctl("start").returncode == 0
    pid = tree.pid()
    assert tree.get("/")[0] == 200
    assert tree.log().count("(prefork)") == 1

    assert tree.mpmctl("dismod", "mpm_prefork").returncode == 0
    switch = tree.mpmctl("enmod", "mpm_event")
    assert switch.returncode == 0, switch.stderr
    restart = tree.mpmctl("restart")
    assert restart.returncode == 0, restart.stdout + restart.stderr

    settings = tree.mpmctl("-V")
    assert re.search(r"^Server MPM: +event$", settings.stdout, re.MULTILINE)
    # the running server, not only its configuration: the same parent now has event's
    # children (threaded, where prefork's have one thread each)
    wait_for(lambda: threaded_children(pid), what=f"threaded children of {pid}")
    assert "MP00042" not in tree.log()
    assert tree.get("/")[0] == 200
    assert tree.pid() == pid


def threaded_children(pid: int) -> bool:
    try:
        children = psutil.Process(pid).children()
        return bool(children) and all(c.num_threads() > 1 for c in children)
    except psutil.Error:
        return False
