"""mpm_prefork_module: one process per connection, a pool kept between Min and MaxSpareServers.

Same anatomy as httpd's ``server/mpm/prefork/prefork.c``: the directive
table and ``check_config`` (clamping with httpd's warnings), ``child_main``
(accept, serve, repeat, until told to stop or MaxConnectionsPerChild), and
``perform_idle_server_maintenance`` (once a second in the parent: kill one
idle child when there are too many, spawn 1, 2, 4 ... 32 a second while
there are too few). The parent that calls these lives in ``base.py``.
"""

from __future__ import annotations

import os
import select
import signal
import socket
from dataclasses import dataclass
from time import monotonic
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import SERVER_ONLY, Module, Syntax, directive
from mpmd.mpm.common import max_connections_per_child, max_requests_per_child, number
from mpmd.mpm.placement import no_wakeup_preemption
from mpmd.net.listeners import INHERITS_OPTIONS, accept

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config
    from mpmd.mpm.base import Parent

DEFAULT_SERVER_LIMIT = 256
MAX_SERVER_LIMIT = 20000
MAX_SPAWN_RATE = 32

# A child that has run this long without sleeping gives up the CPU between two connections
# (sched_yield), rather than be preempted at a scheduler tick in the middle of one: see
# ``child_main``. Below the kernel's time slice on any machine (0.7-0.75 ms times
# 1 + log2(CPUs)), and long enough for several connections between two yields.
YIELD_AFTER = 0.0005
# An epoll wait that took longer than this slept; one that finds a connection ready
# returns in a few microseconds
SLEPT = 0.00005


@dataclass
class PreforkConf:
    start_servers: int = 5
    min_spare_servers: int = 5
    max_spare_servers: int = 10
    max_request_workers: int = 256
    server_limit: int = DEFAULT_SERVER_LIMIT
    max_connections_per_child: int = 0


def _conf(cmd: Cmd) -> PreforkConf:
    conf: PreforkConf = cmd.server_conf("mpm_prefork_module")
    return conf


@directive(
    "StartServers",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Number of child processes launched at server startup",
    "5",
)
def _start_servers(cmd: Cmd, value: str) -> None:
    _conf(cmd).start_servers = number(cmd, "StartServers", value)


@directive(
    "MinSpareServers",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Minimum number of idle children, to handle request spikes",
    "5",
)
def _min_spare(cmd: Cmd, value: str) -> None:
    _conf(cmd).min_spare_servers = number(cmd, "MinSpareServers", value)


@directive("MaxSpareServers", Syntax.TAKE1, SERVER_ONLY, "Maximum number of idle children", "10")
def _max_spare(cmd: Cmd, value: str) -> None:
    _conf(cmd).max_spare_servers = number(cmd, "MaxSpareServers", value)


@directive(
    "MaxRequestWorkers",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum number of children alive at the same time",
    "256",
)
def _max_request_workers(cmd: Cmd, value: str) -> None:
    _conf(cmd).max_request_workers = number(cmd, "MaxRequestWorkers", value)


@directive("MaxClients", Syntax.TAKE1, SERVER_ONLY, "Deprecated name of MaxRequestWorkers", "256")
def _max_clients(cmd: Cmd, value: str) -> None:
    cmd.warn("AH00545: MaxClients is deprecated, use MaxRequestWorkers instead.")
    _max_request_workers.apply(cmd, value)


@directive(
    "ServerLimit",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum value of MaxRequestWorkers for this run of the server",
    "256",
)
def _server_limit(cmd: Cmd, value: str) -> None:
    _conf(cmd).server_limit = number(cmd, "ServerLimit", value)


def check_config(conf: PreforkConf, warn: Any) -> None:
    """Clamp the numbers as httpd's prefork_check_config does, with its warnings."""
    if conf.server_limit > MAX_SERVER_LIMIT:
        warn(
            f"WARNING: ServerLimit of {conf.server_limit} exceeds compile-time limit of {MAX_SERVER_LIMIT} servers, decreasing to {MAX_SERVER_LIMIT}."
        )
        conf.server_limit = MAX_SERVER_LIMIT
    elif conf.server_limit < 1:
        warn(f"WARNING: ServerLimit of {conf.server_limit} not allowed, increasing to 1.")
        conf.server_limit = 1
    if conf.max_request_workers > conf.server_limit:
        warn(
            f"WARNING: MaxRequestWorkers of {conf.max_request_workers} exceeds ServerLimit value of "
            f"{conf.server_limit} servers, decreasing MaxRequestWorkers to {conf.server_limit}. "
            "To increase, please see the ServerLimit directive."
        )
        conf.max_request_workers = conf.server_limit
    elif conf.max_request_workers < 1:
        warn(
            f"WARNING: MaxRequestWorkers of {conf.max_request_workers} not allowed, increasing to 1."
        )
        conf.max_request_workers = 1
    if conf.start_servers > conf.max_request_workers:
        conf.start_servers = conf.max_request_workers
    elif conf.start_servers < 1:
        warn(f"WARNING: StartServers of {conf.start_servers} not allowed, increasing to 1.")
        conf.start_servers = 1
    if conf.min_spare_servers < 1:
        warn(
            f"WARNING: MinSpareServers of {conf.min_spare_servers} not allowed, increasing to 1 to avoid almost certain server failure. Please read the documentation."
        )
        conf.min_spare_servers = 1
    if conf.max_spare_servers <= conf.min_spare_servers:
        conf.max_spare_servers = conf.min_spare_servers + 1


class PreforkModule(Module):
    name = "mpm_prefork_module"
    source = "prefork.c"
    mpm = "prefork"
    directives = (
        _start_servers, _min_spare, _max_spare, _max_request_workers, _max_clients,
        _server_limit, max_connections_per_child, max_requests_per_child,
    )  # fmt: skip
    threaded = False

    def create_server_config(self) -> PreforkConf:
        return PreforkConf()

    def check_config(self, config: Config, warn: Any) -> None:
        check_config(config.main.module_conf[self.name], warn)


# ----------------------------------------------------------------------------
# the child


class ChildState:
    """What one prefork child knows about itself."""

    def __init__(self, slot: int) -> None:
        self.slot = slot
        self.stopping = False  # told to stop gracefully: finish the connection in hand, then exit
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)


def child_main(parent: Parent, slot: int) -> None:
    """Run in a freshly forked child: accept and serve connections until told to stop.

    Between two connections, a child that has run YIELD_AFTER without sleeping yields the
    CPU. At saturation (every CPU busy, connections always waiting) a child never sleeps:
    it serves connection after connection until the scheduler's tick finds its time slice
    spent (every 4 ms at HZ=250) and preempts it, usually in the middle of a request. That
    request then waits for every other runnable child to have its turn: with 40 children
    on 2 CPUs, tens of milliseconds. Yielding between connections moves the preemption to
    where the child holds none. Measured (SCHED_BATCH, 40 children, 2 CPUs, ``wrk -c16``
    with Connection: close, 5 interleaved rounds, the medians): without the yield 21.2k
    req/s, p90 2.5 ms, p99 14.3 ms (up to 85 ms, worst where the pool grew, its children
    counted busy while they waited); yielding after 0.5 ms 25.8k req/s, p90 0.73 ms, p99
    1.18 ms (at most 3.6 ms); after 1 ms 26.5k req/s, p99 1.29 ms (at most 9.9 ms). A
    yield after every connection kept the p99 at 2.5 ms but cost a third of the req/s.
    """
    from mpmd.http.connection import Connection

    conf: PreforkConf = parent.config.main.module_conf["mpm_prefork_module"]
    state = ChildState(slot)
    site = parent.make_site(multithread=False, multiprocess=True)

    def log_accept_error(message: str) -> None:
        site.log(3, f"AH00050: Couldn't create child process: {message}")

    scoreboard = parent.scoreboard
    handle = site.slot = scoreboard.handle(slot, 0)
    site.poll_keepalive = False  # many processes share few CPUs: sleep, don't poll

    def graceful(signum: int, frame: Any) -> None:
        state.stopping = True
        site.accepting = False
        try:
            os.write(state.wake_w, b"!")
        except OSError:
            pass

    signal.signal(signal.SIGUSR1, graceful)
    signal.signal(signal.SIGWINCH, graceful)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent.set_title(f"mpmd: child (generation {parent.generation})")
    no_wakeup_preemption()

    poller = select.epoll()
    listeners: dict[int, socket.socket] = {}
    for sock in parent.listeners:
        listeners[sock.fileno()] = sock
        # EPOLLEXCLUSIVE: one idle child wakes per connection, not all of them
        poller.register(sock.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
    poller.register(state.wake_r, select.EPOLLIN)
    parent_pid = os.getppid()
    served = 0
    running_since = monotonic()  # when this child last slept in epoll or yielded
    handle.start()
    try:
        while not state.stopping:
            before = monotonic()
            try:
                events = poller.poll(1.0)
            except InterruptedError:
                continue
            after = monotonic()
            if after - before > SLEPT:
                running_since = after
            if os.getppid() != parent_pid:
                break  # the parent is gone: stop rather than serve unsupervised
            for fd, _ in events:
                if fd == state.wake_r:
                    continue
                # Accept even when told to stop: with EPOLLEXCLUSIVE this wake-up was ours
                # alone, and leaving the connection queued would stall it until the next
                # connection wakes another child (seen as a 200 ms p99 under Connection: close).
                accepted = accept(listeners[fd], log_accept_error)
                if accepted is None:
                    continue
                handle.set_state(b"R")
                Connection(*accepted, site, inherited=INHERITS_OPTIONS).serve()
                handle.idle()
                served += 1
                if conf.max_connections_per_child and served >= conf.max_connections_per_child:
                    state.stopping = True
                    break
                if monotonic() - running_since > YIELD_AFTER:
                    os.sched_yield()
                    running_since = monotonic()
    finally:
        poller.close()


# ----------------------------------------------------------------------------
# the parent's side


class Prefork:
    """The steps of prefork that the shared parent (base.Parent) calls."""

    name = "prefork"
    log_module = "mpm_prefork"
    threaded = False

    def conf(self, parent: Parent) -> PreforkConf:
        conf: PreforkConf = parent.config.main.module_conf["mpm_prefork_module"]
        return conf

    def check_config(self, parent: Parent) -> None:
        def warn(message: str) -> None:
            parent.log(4, message, force=True)

        conf = self.conf(parent)
        if hasattr(self, "server_limit") and conf.server_limit != self.server_limit:
            # httpd: ServerLimit cannot change on a restart (the scoreboard is sized once)
            warn(
                f"AH00173: changing ServerLimit to {conf.server_limit} from original value of "
                f"{self.server_limit} not supported during restart"
            )
            conf.server_limit = self.server_limit
        check_config(conf, warn)
        if hasattr(parent, "scoreboard"):
            parent.scoreboard.set_limits(conf.max_request_workers, 1)

    def create_scoreboard(self, parent: Parent) -> Any:
        from mpmd.mpm.scoreboard import Scoreboard

        conf = self.conf(parent)
        self.server_limit = conf.server_limit
        scoreboard = Scoreboard.create(conf.server_limit, 1, path=parent.config.scoreboard_file)
        scoreboard.set_limits(conf.max_request_workers, 1)
        return scoreboard

    def startup_children(self, parent: Parent) -> None:
        parent.start_children(self.conf(parent).start_servers)

    def child_main(self, parent: Parent, slot: int) -> None:
        child_main(parent, slot)

    def make_child(self, parent: Parent, slot: int) -> int:
        return parent.fork_child(slot)

    def perform_idle_server_maintenance(self, parent: Parent) -> None:
        """httpd's prefork rules: one idle child stopped when too many; 1, 2, 4 .. 32 spawned."""
        conf = self.conf(parent)
        scoreboard = parent.scoreboard
        idle = 0
        to_kill: int | None = None
        live = 0
        for child in parent.children.values():
            if child.quiescing:
                continue
            live += 1
            # httpd counts a child still starting up as idle (status <= SERVER_READY):
            # otherwise every tick before it is ready spawns another one
            if child.generation == parent.generation and scoreboard.worker(
                child.slot, 0
            ).status in (
                b"_",
                b"S",
            ):
                idle += 1
                to_kill = child.pid
        if idle > conf.max_spare_servers and to_kill is not None:
            # one at a time, gracefully: it may be accepting this very moment
            child = parent.children[to_kill]
            child.quiescing = True
            scoreboard.set_quiescing(child.slot)
            try:
                os.kill(to_kill, signal.SIGUSR1)
            except ProcessLookupError:
                pass
            parent.idle_spawn_rate = 1
        elif idle < conf.min_spare_servers:
            if live >= conf.max_request_workers:
                if not parent.max_workers_logged:
                    parent.log(
                        3,
                        "AH00161: server reached MaxRequestWorkers setting, consider raising the "
                        "MaxRequestWorkers setting",
                        force=True,
                    )
                    parent.max_workers_logged = True
                parent.idle_spawn_rate = 1
                return
            room = conf.max_request_workers - live
            to_spawn = min(parent.idle_spawn_rate, room)
            if parent.idle_spawn_rate >= 8:
                parent.log(
                    6,
                    f"AH00162: server seems busy, (you may need to increase StartServers, or "
                    f"Min/MaxSpareServers), spawning {to_spawn} children, there are {idle} idle, "
                    f"and {live} total children",
                )
            for _ in range(to_spawn):
                slot = scoreboard.claim_process_slot()
                if slot is None:
                    break
                parent.spawn(slot)
            parent.idle_spawn_rate = min(parent.idle_spawn_rate * 2, MAX_SPAWN_RATE)
        else:
            parent.idle_spawn_rate = 1
