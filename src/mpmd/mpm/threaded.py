"""What the threaded MPMs (worker, event, winnt) share: directives, check_config, spare threads.

httpd's worker.c and event.c repeat each other's directive table,
``check_config`` and ``perform_idle_server_maintenance``; here they are
written once. This module owns:

- the directive table (``StartServers``, ``ServerLimit``, ``ThreadLimit``,
  ``ThreadsPerChild``, ``MaxRequestWorkers``, ``MinSpareThreads``,
  ``MaxSpareThreads``, ``MaxConnectionsPerChild``, and event's
  ``AsyncRequestWorkerFactor``), each MPM module listing the ones it has;
- ``check_config``: httpd's clamping, with its warnings, word for word;
- ``ThreadedChild``: one child process's life (signals, threads started and
  joined, its scoreboard slots, the watch on the parent) around the MPM's
  ``serve_thread``;
- ``ThreadedMpm``: the parent's side (scoreboard sizing, start-up, spare
  maintenance counting idle *threads* across children and spawning or
  stopping whole children, spawn rate 1, 2, 4 .. 32 per second).

It knows nothing of HTTP beyond handing an accepted socket to ``Connection``.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import SERVER_ONLY, Syntax, directive
from mpmd.mpm.common import max_connections_per_child, max_requests_per_child, mpm_conf, number
from mpmd.mpm.scoreboard import STARTING

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.http.site import Site
    from mpmd.mpm.base import Parent
    from mpmd.mpm.scoreboard import ProcessScore, WorkerScore
    from mpmd.mpm.scoreboard_handle import WorkerHandle

MAX_SERVER_LIMIT = 20000
# Balancing children (``busier_than_a_peer``) pays only while connections last: one that
# ends in a millisecond leaves no imbalance behind, and stepping aside for it costs a
# wake-up. A child balances while its connections have lasted this long on average (an
# average over the last ~16).
LONG_LIVED = 0.010
MAX_THREAD_LIMIT = 20000
MAX_SPAWN_RATE = 32


@dataclass
class ThreadedConf:
    """The numbers of one threaded MPM; defaults are worker's and event's."""

    start_servers: int = 3
    min_spare_threads: int = 75
    max_spare_threads: int = 250
    threads_per_child: int = 25
    thread_limit: int = 64
    server_limit: int = 16
    max_request_workers: int | None = None  # httpd: ServerLimit x ThreadsPerChild when unset
    max_connections_per_child: int = 0
    async_request_worker_factor: float = 2.0  # event only
    thread_stack_size: int = 0  # bytes; 0: the system's (the main thread's RLIMIT_STACK)

    @property
    def active_daemons_limit(self) -> int:
        """How many children may run at once (httpd's ap_daemons_limit)."""
        workers = self.max_request_workers or self.server_limit * self.threads_per_child
        return max(1, workers // self.threads_per_child)


def _conf(cmd: Cmd) -> ThreadedConf:
    conf: ThreadedConf = mpm_conf(cmd)
    return conf


@directive(
    "StartServers",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Number of child processes launched at server startup",
    "3",
)
def start_servers(cmd: Cmd, value: str) -> None:
    _conf(cmd).start_servers = number(cmd, "StartServers", value)


@directive(
    "MinSpareThreads",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Minimum number of idle threads, to handle request spikes",
    "75",
)
def min_spare_threads(cmd: Cmd, value: str) -> None:
    _conf(cmd).min_spare_threads = number(cmd, "MinSpareThreads", value)


@directive("MaxSpareThreads", Syntax.TAKE1, SERVER_ONLY, "Maximum number of idle threads", "250")
def max_spare_threads(cmd: Cmd, value: str) -> None:
    _conf(cmd).max_spare_threads = number(cmd, "MaxSpareThreads", value)


@directive(
    "MaxRequestWorkers",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum number of threads alive at the same time",
    "ServerLimit x ThreadsPerChild",
)
def max_request_workers(cmd: Cmd, value: str) -> None:
    _conf(cmd).max_request_workers = number(cmd, "MaxRequestWorkers", value)


@directive("MaxClients", Syntax.TAKE1, SERVER_ONLY, "Deprecated name of MaxRequestWorkers")
def max_clients(cmd: Cmd, value: str) -> None:
    cmd.warn("AH00545: MaxClients is deprecated, use MaxRequestWorkers instead.")
    max_request_workers.apply(cmd, value)


@directive(
    "ThreadsPerChild", Syntax.TAKE1, SERVER_ONLY, "Number of threads each child creates", "25"
)
def threads_per_child(cmd: Cmd, value: str) -> None:
    _conf(cmd).threads_per_child = number(cmd, "ThreadsPerChild", value)


@directive(
    "ServerLimit",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum number of child processes for this run of the server",
    "16",
)
def server_limit(cmd: Cmd, value: str) -> None:
    _conf(cmd).server_limit = number(cmd, "ServerLimit", value)


@directive(
    "ThreadLimit",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum number of worker threads per child process for this run of the server",
    "64",
)
def thread_limit(cmd: Cmd, value: str) -> None:
    _conf(cmd).thread_limit = number(cmd, "ThreadLimit", value)


@directive(
    "AsyncRequestWorkerFactor",
    Syntax.TAKE1,
    SERVER_ONLY,
    "How many additional connects will be accepted per idle worker thread",
    "2",
)
def async_request_worker_factor(cmd: Cmd, value: str) -> None:
    try:
        factor = float(value)
    except ValueError:
        factor = -1.0
    if factor <= 0:
        raise cmd.error("AsyncRequestWorkerFactor argument must be a positive number")
    _conf(cmd).async_request_worker_factor = factor


# C's strtol(text, NULL, 0): optional sign, then hex (0x), octal (0) or decimal digits; what
# follows the longest such prefix is ignored, as httpd ignores it ("512k" is 512)
_STRTOL = re.compile(r"\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")
_LONG_MAX = 2**63 - 1


@directive(
    "ThreadStackSize",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Size in bytes of stack used by threads handling client connections",
    "0",
)
def thread_stack_size(cmd: Cmd, value: str) -> None:
    """httpd's ap_mpm_set_thread_stacksize: a non-negative number, read as strtol reads it;
    whether the system takes it is known only when the threads start (``set_stack_size``)."""
    found = _STRTOL.match(value)
    size = 0
    if found:
        sign, digits = found.groups()
        size = int(digits, 16 if digits[:2].lower() == "0x" else 8 if digits[:1] == "0" else 10)
        size = -size if sign == "-" else size
    if size < 0 or size > _LONG_MAX:
        raise cmd.error(f"Invalid ThreadStackSize value: {value}")
    _conf(cmd).thread_stack_size = size


WORKER_DIRECTIVES = (
    start_servers, min_spare_threads, max_spare_threads, max_request_workers, max_clients,
    threads_per_child, server_limit, thread_limit, max_connections_per_child,
    max_requests_per_child, thread_stack_size,
)  # fmt: skip


def clamp_thread_limit(conf: ThreadedConf, warn: Any, most: int) -> None:
    """ThreadLimit between 1 and the compile-time limit ``most``, with httpd's warnings."""
    if conf.thread_limit > most:
        warn(
            f"WARNING: ThreadLimit of {conf.thread_limit} exceeds compile-time limit of "
            f"{most} threads, decreasing to {most}."
        )
        conf.thread_limit = most
    elif conf.thread_limit < 1:
        warn(f"WARNING: ThreadLimit of {conf.thread_limit} not allowed, increasing to 1.")
        conf.thread_limit = 1


def clamp_threads_per_child(conf: ThreadedConf, warn: Any) -> None:
    """ThreadsPerChild between 1 and ThreadLimit, with httpd's warnings."""
    if conf.threads_per_child > conf.thread_limit:
        warn(
            f"WARNING: ThreadsPerChild of {conf.threads_per_child} exceeds ThreadLimit of "
            f"{conf.thread_limit} threads, decreasing to {conf.thread_limit}. To increase, "
            "please see the ThreadLimit directive."
        )
        conf.threads_per_child = conf.thread_limit
    elif conf.threads_per_child < 1:
        warn(f"WARNING: ThreadsPerChild of {conf.threads_per_child} not allowed, increasing to 1.")
        conf.threads_per_child = 1


def check_config(conf: ThreadedConf, warn: Any) -> None:
    """Clamp the numbers as httpd's worker_check_config / event_check_config do."""
    clamp_thread_limit(conf, warn, MAX_THREAD_LIMIT)
    if conf.server_limit > MAX_SERVER_LIMIT:
        warn(
            f"WARNING: ServerLimit of {conf.server_limit} exceeds compile-time limit of "
            f"{MAX_SERVER_LIMIT} servers, decreasing to {MAX_SERVER_LIMIT}."
        )
        conf.server_limit = MAX_SERVER_LIMIT
    elif conf.server_limit < 1:
        warn(f"WARNING: ServerLimit of {conf.server_limit} not allowed, increasing to 1.")
        conf.server_limit = 1
    clamp_threads_per_child(conf, warn)
    tpc = conf.threads_per_child
    if conf.max_request_workers is None:
        conf.max_request_workers = conf.server_limit * tpc
    if conf.max_request_workers < tpc:
        warn(
            f"WARNING: MaxRequestWorkers of {conf.max_request_workers} is less than "
            f"ThreadsPerChild of {tpc}, increasing to {tpc}. MaxRequestWorkers must be at "
            "least as large as the number of threads in a single server."
        )
        conf.max_request_workers = tpc
    daemons = conf.max_request_workers // tpc
    if conf.max_request_workers % tpc:
        rounded = daemons * tpc
        warn(
            f"WARNING: MaxRequestWorkers of {conf.max_request_workers} is not an integer "
            f"multiple of ThreadsPerChild of {tpc}, decreasing to nearest multiple "
            f"{rounded}, for a maximum of {daemons} servers."
        )
        conf.max_request_workers = rounded
    if daemons > conf.server_limit:
        limited = conf.server_limit * tpc
        warn(
            f"WARNING: MaxRequestWorkers of {conf.max_request_workers} would require "
            f"{daemons} servers and would exceed ServerLimit of {conf.server_limit}, "
            f"decreasing to {limited}. To increase, please see the ServerLimit directive."
        )
        conf.max_request_workers = limited
    if conf.start_servers < 1:
        warn(f"WARNING: StartServers of {conf.start_servers} not allowed, increasing to 1.")
        conf.start_servers = 1
    conf.start_servers = min(conf.start_servers, conf.active_daemons_limit)
    if conf.min_spare_threads < 1:
        warn(
            f"WARNING: MinSpareThreads of {conf.min_spare_threads} not allowed, increasing to 1 "
            "to avoid almost certain server failure. Please read the documentation."
        )
        conf.min_spare_threads = 1
    # httpd raises MaxSpareThreads silently: stopping a child must leave MinSpareThreads
    conf.max_spare_threads = max(conf.max_spare_threads, conf.min_spare_threads + tpc)


def set_stack_size(size: int, log: Callable[[int, str], None]) -> None:
    """ThreadStackSize for the threads started from here on. One the system refuses (under
    Python's 32 KiB floor, or more than it can map: tried on one thread) leaves the
    default, with httpd's warning, rather than a child that cannot start its threads."""
    if not size:
        return
    try:
        threading.stack_size(size)
        trial = threading.Thread(target=int, name="mpmd-stack-trial")
        trial.start()
        trial.join()
    except (ValueError, RuntimeError):
        threading.stack_size(0)
        log(4, f"AH02436: WARNING: ThreadStackSize of {size} is inappropriate, using default")


def busier_than_a_peer(
    held: int, generation: int, peers: list[tuple[ProcessScore, WorkerScore]]
) -> bool:
    """Does one of ``peers`` (a process slot and its first worker slot each) accept
    connections for ``generation`` while holding two fewer than ``held``?

    A peer the parent has claimed but whose threads have not started yet (its
    first worker still STARTING: pid and generation set, 0 connections, not
    marked as not accepting) takes nothing yet: stepping aside for it would
    leave new connections in the listen queue until it does.
    """
    if held < 2:
        return False
    for peer, first in peers:
        if (
            peer.connections + 2 <= held
            and peer.pid
            and peer.generation == generation
            and not peer.quiescing
            and not peer.not_accepting
            and first.status != STARTING
        ):
            return True
    return False


# ----------------------------------------------------------------------------
# one child


class ThreadedChild:
    """One child process of a threaded MPM: ``threads_per_child`` threads serving in it.

    The main thread only waits: for a graceful stop (USR1/WINCH: stop
    accepting, let every thread finish what it holds, exit), for the
    parent's death, and for the MPM's ``housekeeping`` once per ``tick``.
    ``serve_thread(index)`` is the MPM's: it returns when ``stopping`` is set
    and it has nothing left in hand.
    """

    def tick(self) -> float:
        """Seconds between two ``housekeeping`` calls. A method, not an attribute a subclass
        overrides with a property: compiled (mypyc), this class reads its own attribute
        directly, and event's 2-10 ms tick was read as 1 s."""
        return 1.0

    def __init__(self, parent: Parent, slot: int, conf: ThreadedConf) -> None:
        self.parent = parent
        self.slot = slot
        self.conf = conf
        self.scoreboard = parent.scoreboard
        # wsgi.multiprocess: is another process serving the same app at the same time?
        multiprocess = parent.supervised and parent.mpm.multiprocess
        self.site: Site = parent.make_site(multithread=True, multiprocess=multiprocess)
        self.site.poll_keepalive = False
        self.stopping = False
        self.wake_r, self.wake_w = os.pipe()
        os.set_blocking(self.wake_w, False)
        self.served = 0
        self.served_lock = threading.Lock()
        self.process = self.scoreboard.process(slot)
        set_stack_size(conf.thread_stack_size, parent.log)  # before this child's first thread
        self.lifetime = LONG_LIVED  # seconds connections last (moving average; none yet)
        self.peers = [
            (self.scoreboard.process(other), self.scoreboard.worker(other, 0))
            for other in range(self.scoreboard.server_limit)
            if other != slot
        ]

    # -- for the serving threads -------------------------------------------------
    def count_connection(self) -> None:
        """One more connection taken; at MaxConnectionsPerChild the child starts stopping."""
        limit = self.conf.max_connections_per_child
        if not limit:
            return
        with self.served_lock:
            self.served += 1
            if self.served >= limit:
                self.stop()

    def busier_than_a_peer(self, held: int) -> bool:
        """Does another accepting child of this generation hold two connections fewer?

        The kernel gives a connection to the first child, in the order they
        registered, whose epoll has a thread waiting; a child's accepting thread
        is back in epoll microseconds after each accept, so left alone the first
        child takes most of a burst while the next idles. A child serves its
        connections on one core (the GIL): 16 connections against none ran at
        24k req/s where 8 against 8 ran at 50-80k (worker), 66k against 80-93k
        (event). A child that holds two more than a peer therefore steps aside.
        Each child publishes its count (``process.connections``) at every accept
        and every end.
        """
        return busier_than_a_peer(held, self.parent.generation, self.peers)

    def should_step_aside(self, held: int) -> bool:
        """Having taken a connection and holding ``held``: stop accepting for a while?
        Only while connections are long-lived (``LONG_LIVED``), and a peer holds fewer."""
        return self.lifetime >= LONG_LIVED and self.busier_than_a_peer(held)

    def connection_lasted(self, seconds: float) -> None:
        """A connection ended after ``seconds``: into ``lifetime``, an average over ~16."""
        self.lifetime += (seconds - self.lifetime) / 16

    def log_accept_error(self, message: str) -> None:
        self.site.log(3, f"AH00052: {message}")

    def stop(self) -> None:
        """Stop accepting; threads finish what they hold (httpd's graceful child exit)."""
        self.stopping = True
        self.site.accepting = False
        with contextlib.suppress(OSError):
            os.write(self.wake_w, b"!")

    # -- the MPM's part -----------------------------------------------------------
    def serve_thread(self, index: int, handle: WorkerHandle) -> None:
        raise NotImplementedError

    def housekeeping(self) -> None:
        """Called by the main thread once per ``tick`` (event: timeouts)."""

    # -- life ----------------------------------------------------------------------
    def run(self) -> None:
        def graceful(signum: int, frame: Any) -> None:
            self.stop()

        signal.signal(signal.SIGUSR1, graceful)
        signal.signal(signal.SIGWINCH, graceful)
        if self.parent.supervised:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGHUP, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        else:  # -X: the one process is the server; a stop signal stops it gracefully
            for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                signal.signal(signum, graceful)
        parent = self.parent
        parent.set_title(f"mpmd: child (generation {parent.generation})")
        threads = []
        for index in range(self.conf.threads_per_child):
            thread = threading.Thread(
                target=self._thread_main, args=(index,), name=f"mpmd-worker-{index}", daemon=True
            )
            thread.start()
            threads.append(thread)
        parent_pid = os.getppid()
        while threads:
            threads[0].join(self.tick())
            if not threads[0].is_alive():
                threads = [t for t in threads if t.is_alive()]
            if parent.supervised and os.getppid() != parent_pid:
                self.stop()  # the parent is gone: stop rather than serve unsupervised
            self.housekeeping()

    def _thread_main(self, index: int) -> None:
        handle = self.scoreboard.handle(self.slot, index)
        handle.start()
        try:
            self.serve_thread(index, handle)
        except BaseException as e:  # a thread must never die silently
            self.site.log_exception(f"MP00043: worker thread {index} failed: {e!r}")
            self.stop()
        finally:
            handle.slot.status = b"."


# ----------------------------------------------------------------------------
# the parent's side


class ThreadedMpm:
    """The steps of a threaded MPM that the shared parent (base.Parent) calls."""

    name = ""
    module = ""
    threaded = True
    multiprocess = True  # more than one child serves at once (not winnt)
    child_class: type[ThreadedChild] = ThreadedChild

    def conf(self, parent: Parent) -> ThreadedConf:
        conf: ThreadedConf = parent.config.main.module_conf[self.module]
        return conf

    def check_config(self, parent: Parent) -> None:
        def warn(message: str) -> None:
            parent.log(4, message, force=True)

        conf = self.conf(parent)
        first = getattr(self, "first_limits", None)
        if first is not None:  # the scoreboard was sized at start: these cannot change
            if conf.server_limit != first[0]:
                warn(
                    f"AH00324: changing ServerLimit to {conf.server_limit} from original value "
                    f"of {first[0]} not supported during restart"
                )
                conf.server_limit = first[0]
            if conf.thread_limit != first[1]:
                warn(
                    f"AH00326: changing ThreadLimit to {conf.thread_limit} from original value "
                    f"of {first[1]} not supported during restart"
                )
                conf.thread_limit = first[1]
        check_config(conf, warn)
        if hasattr(parent, "scoreboard"):
            parent.scoreboard.set_limits(conf.active_daemons_limit, conf.threads_per_child)

    @property
    def log_module(self) -> str:
        return self.module.removesuffix("_module")

    def create_scoreboard(self, parent: Parent) -> Any:
        from mpmd.mpm.scoreboard import Scoreboard

        conf = self.conf(parent)
        self.first_limits = (conf.server_limit, conf.thread_limit)
        scoreboard = Scoreboard.create(
            conf.server_limit, conf.thread_limit, path=parent.config.scoreboard_file
        )
        scoreboard.set_limits(conf.active_daemons_limit, conf.threads_per_child)
        return scoreboard

    def startup_children(self, parent: Parent) -> None:
        parent.start_children(self.conf(parent).start_servers)

    def child_main(self, parent: Parent, slot: int) -> None:
        self.child_class(parent, slot, self.conf(parent)).run()

    def make_child(self, parent: Parent, slot: int) -> int:
        return parent.fork_child(slot)

    # -- spare threads -------------------------------------------------------------
    def perform_idle_server_maintenance(self, parent: Parent) -> None:
        """httpd's worker/event rules, on idle *threads*; whole children spawned or stopped."""
        conf = self.conf(parent)
        scoreboard = parent.scoreboard
        tpc = conf.threads_per_child
        statuses = scoreboard.copy_statuses()
        limit = scoreboard.thread_limit
        idle_threads = 0
        active_threads = 0
        live = 0
        most_idle: tuple[int, int] | None = None  # (idle threads, pid) of a child to stop
        for child in parent.children.values():
            if child.quiescing:
                continue
            live += 1
            row = statuses[child.slot * limit : child.slot * limit + tpc]
            # httpd counts a thread still starting (S) as idle, as prefork does
            idle = row.count(b"_") + row.count(b"S")
            active_threads += tpc
            if child.generation == parent.generation:
                idle_threads += idle
                if most_idle is None or idle >= most_idle[0]:
                    most_idle = (idle, child.pid)
        if idle_threads > conf.max_spare_threads and most_idle is not None and live > 1:
            child = parent.children[most_idle[1]]
            child.quiescing = True
            scoreboard.set_quiescing(child.slot)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGUSR1)
            parent.idle_spawn_rate = 1
        elif idle_threads < conf.min_spare_threads:
            room = conf.active_daemons_limit - live
            if room <= 0:
                if not parent.max_workers_logged:
                    parent.log(
                        3,
                        f"{self.max_workers_id}: server reached MaxRequestWorkers setting, "
                        "consider raising the MaxRequestWorkers setting",
                        force=True,
                    )
                    parent.max_workers_logged = True
                parent.idle_spawn_rate = 1
                return
            to_spawn = min(parent.idle_spawn_rate, room)
            if parent.idle_spawn_rate >= 8:
                parent.log(
                    6,
                    f"{self.busy_id}: server seems busy, (you may need to increase StartServers, "
                    f"ThreadsPerChild or Min/MaxSpareThreads), spawning {to_spawn} children, "
                    f"there are around {idle_threads} idle threads, {active_threads} active "
                    f"threads, and {live} children total",
                )
            for _ in range(to_spawn):
                slot = scoreboard.claim_process_slot()
                if slot is None:
                    break
                parent.spawn(slot)
            parent.idle_spawn_rate = min(parent.idle_spawn_rate * 2, MAX_SPAWN_RATE)
        else:
            parent.idle_spawn_rate = 1

    max_workers_id = "AH00286"
    busy_id = "AH00287"
