"""mpm_winnt_module: one parent, one child with ThreadsPerChild threads, and no fork.

As httpd's ``server/mpm/winnt/``: the parent keeps exactly one child
running, restarts it if it dies, and on a graceful restart starts the new
child and lets it take connections before telling the old one to finish.
The child is a fresh interpreter (``posix_spawn`` of ``python -m mpmd``
with the parent's own arguments), never a fork: it finds what it inherits
in the ``MPMD_WINNT_CHILD`` environment variable (listen socket
descriptors, its scoreboard slot and generation, the scoreboard's file),
reads the configuration itself (as httpd's winnt child does), attaches the
scoreboard by path and runs worker's child loop (threads that accept and
keep their connection). Nothing here needs ``fork``, so the same code path
would run where there is none.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import tempfile
import time
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import Module
from mpmd.config.sources import Sources
from mpmd.mpm.common import max_connections_per_child, max_requests_per_child
from mpmd.mpm.threaded import (
    ThreadedConf,
    ThreadedMpm,
    clamp_thread_limit,
    clamp_threads_per_child,
    thread_limit,
    thread_stack_size,
    threads_per_child,
)
from mpmd.mpm.worker import WorkerChild

if TYPE_CHECKING:
    from mpmd.config.server import Config
    from mpmd.mpm.base import Parent

CHILD_ENV = "MPMD_WINNT_CHILD"
MAX_THREAD_LIMIT = 15000
READY_WAIT = 30.0  # seconds a new child gets to start its threads on a graceful restart


def winnt_conf() -> ThreadedConf:
    """httpd's winnt defaults: 64 threads, ThreadLimit 1920, one child (two slots in a restart)."""
    return ThreadedConf(
        start_servers=1,
        min_spare_threads=1,
        max_spare_threads=MAX_THREAD_LIMIT,
        threads_per_child=64,
        thread_limit=1920,
        server_limit=2,
    )


def check_config(conf: ThreadedConf, warn: Any) -> None:
    """Clamp as httpd's mpm_winnt check_config does, with its warnings."""
    clamp_thread_limit(conf, warn, MAX_THREAD_LIMIT)
    clamp_threads_per_child(conf, warn)
    conf.start_servers = 1
    conf.server_limit = 2
    conf.max_request_workers = conf.threads_per_child


class WinntModule(Module):
    name = "mpm_winnt_module"
    source = "mpm_winnt.c"
    mpm = "winnt"
    directives = (
        threads_per_child, thread_limit, max_connections_per_child, max_requests_per_child,
        thread_stack_size,
    )  # fmt: skip

    def create_server_config(self) -> ThreadedConf:
        return winnt_conf()

    def check_config(self, config: Config, warn: Any) -> None:
        check_config(config.main.module_conf[self.name], warn)


class Winnt(ThreadedMpm):
    name = "winnt"
    module = "mpm_winnt_module"
    child_class = WorkerChild
    multiprocess = False
    # graceful restart: the new child is serving before the old one is told to finish
    start_before_stop = True

    def check_config(self, parent: Parent) -> None:
        conf = self.conf(parent)
        first = getattr(self, "first_limits", None)
        if first is not None and conf.thread_limit != first[1]:
            parent.log(
                4,
                f"AH00443: changing ThreadLimit to {conf.thread_limit} from original value of "
                f"{first[1]} not supported during restart",
                force=True,
            )
            conf.thread_limit = first[1]
        check_config(conf, lambda message: parent.log(4, message, force=True))
        if hasattr(parent, "scoreboard"):
            parent.scoreboard.set_limits(1, conf.threads_per_child)

    def create_scoreboard(self, parent: Parent) -> Any:
        scoreboard = super().create_scoreboard(parent)
        scoreboard.set_limits(1, self.conf(parent).threads_per_child)
        return scoreboard

    def startup_children(self, parent: Parent) -> None:
        slot = parent.scoreboard.claim_process_slot(limit=2)
        if slot is not None:
            parent.spawn(slot)

    def perform_idle_server_maintenance(self, parent: Parent) -> None:
        """One child of the running generation, always: a dead one is replaced."""
        current = [
            c
            for c in parent.children.values()
            if c.generation == parent.generation and not c.quiescing
        ]
        if not current:
            parent.log(
                5,
                "AH00428: Parent: child process exited -- Restarting.",
                force=True,
            )
            self.startup_children(parent)

    def wait_ready(self, parent: Parent, timeout: float = READY_WAIT) -> bool:
        """Wait until the running generation's child has its threads up (none STARTING)."""
        deadline = time.monotonic() + timeout
        tpc = self.conf(parent).threads_per_child
        limit = parent.scoreboard.thread_limit
        while time.monotonic() < deadline:
            parent.reap()
            current = [c for c in parent.children.values() if c.generation == parent.generation]
            if not current:
                return False
            start = current[0].slot * limit
            row = parent.scoreboard.copy_statuses()[start : start + tpc]
            if b"S" not in row and b"." not in row:
                return True
            time.sleep(0.02)
        return False

    def make_child(self, parent: Parent, slot: int) -> int:
        """Start the child as a new interpreter, handing it the listen sockets.

        The configuration goes along as a snapshot of the files the parent
        read, in an unnamed temporary file whose descriptor the child inherits.
        """
        with tempfile.TemporaryFile() as snapshot:
            snapshot.write(parent.config.sources.snapshot().encode("utf-8", "surrogateescape"))
            snapshot.flush()
            return self._spawn(parent, slot, snapshot.fileno())

    def _spawn(self, parent: Parent, slot: int, snapshot: int) -> int:
        fds = [sock.fileno() for sock in parent.listeners]
        info = {
            "slot": slot,
            "generation": parent.generation,
            "scoreboard": parent.scoreboard.path,
            "listeners": fds,
            "config": snapshot,
            "parent": os.getpid(),
        }
        env = dict(os.environ)
        env[CHILD_ENV] = json.dumps(info)
        argv = [sys.executable, "-m", "mpmd", *parent.argv]
        inherited = [*fds, snapshot]
        for fd in inherited:
            os.set_inheritable(fd, True)
        try:
            return os.posix_spawn(sys.executable, argv, env)
        finally:
            for fd in fds:
                os.set_inheritable(fd, False)


class ChildInfo:
    """What a winnt child inherits: descriptors, slot, generation, the configuration."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.slot = int(info["slot"])
        self.generation = int(info["generation"])
        self.scoreboard = str(info["scoreboard"])
        self.listeners = [int(fd) for fd in info["listeners"]]
        self.parent = int(info["parent"])
        with os.fdopen(int(info["config"]), encoding="utf-8", errors="surrogateescape") as f:
            f.seek(0)
            self.sources = Sources.replay(f.read())


def child_info() -> ChildInfo | None:
    """This process's ``ChildInfo`` if it is a winnt child (the variable is then removed)."""
    text = os.environ.pop(CHILD_ENV, None)
    return ChildInfo(json.loads(text)) if text is not None else None


def child_process(config: Config, info: ChildInfo, command_line: str) -> int:
    """The winnt child's side: what ``python -m mpmd`` runs when ``MPMD_WINNT_CHILD`` is set."""
    from mpmd.mpm.base import Parent
    from mpmd.mpm.scoreboard import Scoreboard

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    parent = Parent(config, lambda: config, command_line, Winnt())
    parent.open_logs()
    parent.generation = info.generation
    parent.listeners = [socket.socket(fileno=fd) for fd in info.listeners]
    for sock in parent.listeners:
        sock.setblocking(False)
    parent.scoreboard = Scoreboard.attach(info.scoreboard)
    if os.getppid() != info.parent:
        return 1  # the parent died before we started
    parent.post_config()
    conf: ThreadedConf = config.main.module_conf["mpm_winnt_module"]
    check_config(conf, lambda message: None)  # the parent has logged these warnings
    WorkerChild(parent, info.slot, conf).run()
    return 0
