"""mpm_event_module: worker's processes and threads, but no thread waits on a client.

As httpd's ``server/mpm/event/event.c``: idle keep-alive connections and
request heads still arriving sit in one epoll per child, not in a thread; a
thread runs only a request whose head has arrived (and the pipelined ones
already read behind it). The shape differs from httpd's in one measured way
(``../shared/DESIGN.md``, Performance): there is no listener thread that
hands work to workers through a queue, which costs two thread wake-ups and
GIL hand-overs per request. Instead one thread at a time *leads*: it waits
in the child's epoll, serves the request it wakes for on its own stack and
waits again, with no hand-over and no lock while requests are quick. When a
request runs past ``PROMOTE_AFTER`` (an app waiting on a database), the main
thread (looking every ``IDLE_TICK``) wakes a parked thread to lead meanwhile.
Connections are registered edge-triggered, once: no ``epoll_ctl`` per request
(``_serve`` says why an edge that comes while a thread holds the connection is
not lost); lingering closes are ``EPOLLONESHOT``. Timeouts (keep-alive, mod_reqtimeout's
header stage) and lingering closes are the epoll's and the main thread's
``housekeeping``: a slow or silent client never holds a thread.

Bounds, as httpd: a child holds at most ``ThreadsPerChild + idle threads x
AsyncRequestWorkerFactor`` connections (lingering closes not counted); above
that it stops accepting (the listen sockets leave its epoll,
``not_accepting`` in the scoreboard), and after a second of that it closes
its oldest idle keep-alive connections. A child whose threads are all busy
has no leader in epoll, so it accepts nothing: the kernel's
``EPOLLEXCLUSIVE`` wake-up goes to a child that is waiting.

Children share a burst of long-lived connections as worker's do: a child
that accepts one and then holds two more than a peer of its generation
takes its listen sockets out of its epoll until it no longer does (it looks
at each tick of the main thread), so the kernel
wakes the peer for the next ones.

Ownership of a connection, which is why there is no lock around it: a
connection waiting for input is in ``waiting`` (fd → connection), one in a
lingering close in ``closing``, each armed in epoll; whoever pops it from
there (``dict.pop`` is atomic) owns it -- a thread that epoll woke, or
``housekeeping`` expiring it. The owner either re-inserts it (and arms a
lingering close), or closes it and drops it from ``conns``.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import Module
from mpmd.http.connection import LINGER_SECONDS, Connection
from mpmd.mpm.threaded import (
    WORKER_DIRECTIVES,
    ThreadedChild,
    ThreadedConf,
    ThreadedMpm,
    async_request_worker_factor,
    check_config,
)
from mpmd.net.listeners import INHERITS_OPTIONS, accept

if TYPE_CHECKING:
    from mpmd.config.server import Config
    from mpmd.mpm.base import Parent
    from mpmd.mpm.scoreboard_handle import WorkerHandle

ARMED = select.EPOLLIN | select.EPOLLONESHOT  # lingering closes (and the wake-up pipe)
EDGE = select.EPOLLIN | select.EPOLLET  # connections: registered once, never re-armed
LISTENING = select.EPOLLIN | select.EPOLLEXCLUSIVE
PROMOTE_AFTER = 0.002  # seconds a leader may serve before a parked thread takes over epoll
IDLE_TICK = 0.01  # seconds between two looks of the main thread (``tick``)
SCAN_EVERY = 0.1  # seconds between two looks for expired waits
PRESSURE_TICKS = 10  # a second of not accepting before idle keep-alive connections are shed


class EventModule(Module):
    name = "mpm_event_module"
    source = "event.c"
    mpm = "event"
    directives = (*WORKER_DIRECTIVES, async_request_worker_factor)

    def create_server_config(self) -> ThreadedConf:
        return ThreadedConf()

    def check_config(self, config: Config, warn: Any) -> None:
        check_config(config.main.module_conf[self.name], warn)


class EventChild(ThreadedChild):
    """An event child: one epoll, threads taking turns to wait in it."""

    def tick(self) -> float:
        """How often the main thread looks (``housekeeping``, ``promote``): every IDLE_TICK,
        so a leader stuck in a slow request is relieved 2-12 ms in. Looking every
        PROMOTE_AFTER while the leader serves cost 4-7 % of the req/s at saturation (the
        main thread takes the GIL 500 times a second; wrk -c16 keep-alive, 6 alternating
        rounds: 80.1k against 85.8k); every IDLE_TICK costs nothing measurable (86.7k
        against 85.2k). One child of 4 threads, a 0.5 s request and quick ones beside it
        on another connection: the worst quick one 0.3-0.7 ms, where a 1 s tick (what
        the compiled child ran until the tick became a method) let them wait 64-451 ms.
        """
        return IDLE_TICK

    def __init__(self, parent: Parent, slot: int, conf: ThreadedConf) -> None:
        super().__init__(parent, slot, conf)
        self.poller = select.epoll()
        self.listeners = {sock.fileno(): sock for sock in parent.listeners}
        self.waiting: dict[int, Connection] = {}  # armed in epoll, owned by nobody
        self.closing: dict[int, Connection] = {}  # lingering closes, armed in epoll
        self.conns: dict[int, Connection] = {}  # every connection this child holds
        self.pool_lock = threading.Lock()
        self.pool = threading.Condition(self.pool_lock)  # parked threads wait here
        # Leading, without a lock per request: ``lead`` numbers the leaderships, and only
        # the main thread's ``promote`` starts a new one (under pool_lock), which one parked
        # thread claims (``lead_free``). A leader that finds the number unchanged after
        # serving still leads and goes back to epoll; else it parks.
        self.lead = 0
        self.lead_free = True
        self.serving = False  # the leader is out of epoll, serving (written by the leader)
        self.left_epoll = 0.0  # when the leader left epoll to serve (time.monotonic())
        self.next_scan = 0.0
        self.stop_seen = False
        self.listener_lock = threading.Lock()
        self.listening = False
        self.pressure_ticks = 0
        self.aside = False  # out of epoll's listeners while a peer child holds fewer
        self.row = (slot * self.scoreboard.thread_limit, conf.threads_per_child)
        self._enable_listeners()
        # one-shot: every leader sees a stop once, then waits with a short timeout
        self.poller.register(self.wake_r, ARMED)

    # -- accepting -------------------------------------------------------------------
    def _enable_listeners(self) -> None:
        with self.listener_lock:
            if self.listening or self.stopping:
                return
            for fd in self.listeners:
                self.poller.register(fd, LISTENING)
            self.listening = True
            self.process.not_accepting = 0

    def _disable_listeners(self, aside: bool = False) -> None:
        """Take the listen sockets out of the epoll. Standing ``aside`` for a peer, the child
        still counts as accepting: the peer then never stands aside for it in turn."""
        with self.listener_lock:
            if not self.listening:
                return
            for fd in self.listeners:
                try:
                    self.poller.unregister(fd)
                except (OSError, ValueError):
                    pass
            self.listening = False
            if not aside:
                self.process.not_accepting = 1

    def idle_threads(self) -> int:
        start, count = self.row
        statuses = self.scoreboard.copy_statuses()
        return statuses[start : start + count].count(b"_")

    def above_limit(self) -> bool:
        """httpd's connections_above_limit: more connections than threads can soon serve."""
        idle = self.idle_threads()
        if idle == 0:
            return True
        listening_off = 0 if self.listening else 1  # httpd's offset against flip-flopping
        limit = (
            self.conf.threads_per_child
            + (idle - listening_off) * self.conf.async_request_worker_factor
        )
        # as httpd, connections in a lingering close do not count: they are on their way out
        return len(self.conns) - len(self.closing) >= limit

    def may_accept(self) -> bool:
        """Below httpd's connection limit, and not standing aside for a peer child."""
        if self.above_limit():
            return False
        if self.aside:
            if self.busier_than_a_peer(len(self.conns)):
                return False
            self.aside = False
        return True

    def _accept(self, listener: socket.socket, handle: WorkerHandle) -> None:
        accepted = accept(listener, self.log_accept_error)
        if accepted is None:
            return
        sock, client = accepted
        self.count_connection()
        conn = Connection(sock, client, self.site, inherited=INHERITS_OPTIONS)
        fd = sock.fileno()
        self.conns[fd] = conn
        held = self.process.connections = len(self.conns)
        if self.above_limit():
            self._disable_listeners()
        elif self.should_step_aside(held):
            # A burst of long-lived connections would otherwise land on the child whose
            # leader is back in epoll first (all 16 of wrk's, at times): one GIL, one CPU.
            # With the listen sockets out of its epoll, new connections wake the peer
            # (``busier_than_a_peer``); the main thread looks again at each tick.
            self.aside = True
            self._disable_listeners(aside=True)
        # The request usually follows the handshake at once: serve it now rather
        # than after one more trip through epoll.
        self._serve(fd, conn, handle, first=True)

    # -- serving ---------------------------------------------------------------------
    def _serve(self, fd: int, conn: Connection, handle: WorkerHandle, first: bool = False) -> None:
        """Answer what ``conn`` has sent, then leave it waiting in epoll (or close it).

        A waiting connection is registered edge-triggered, once: no ``epoll_ctl``
        per request. An edge that comes while a thread owns the connection goes to
        the leader, who finds it out of ``waiting`` and sets ``conn.woken``
        (``_wake``); the owner, having put it back, sees the flag and looks again,
        so the input is not left unseen. So it does after a read that filled the
        buffer (``conn.input_left``): the rest came before the edge was taken.
        Each step is one atomic operation (a flag, a ``dict.pop``), so whichever
        order the two threads take them in, one of them serves the input.
        """
        conn.slot = handle
        handle.set_state(b"R")
        waiting = self.waiting
        while True:
            if not conn.serve_available():
                if conn.lingering:
                    self._linger(fd, conn, first)
                else:
                    self._ended(fd)
                break
            conn.deadline = conn.wait_deadline()
            if first:
                first = False
                try:
                    self.poller.register(fd, EDGE)
                except (OSError, ValueError):  # pragma: no cover - never expected
                    self._ended(fd)
                    conn.close_now()
                    break
            waiting[fd] = conn
            if not (conn.woken or conn.input_left):
                break
            # input came (or may be left) while this thread held it: serve it, if still ours
            conn.woken = False
            if waiting.pop(fd, None) is not conn:
                break
        handle.set_state(b"_")
        if not self.aside:  # standing aside is looked at by the main thread's tick, not here
            self._resume_accepting()

    def _wake(self, fd: int, handle: WorkerHandle) -> None:
        """An edge for a connection not in ``waiting``: its owner must look again."""
        conn = self.conns.get(fd)
        if conn is None:
            return  # closed meanwhile
        conn.woken = True
        # the owner may have put it back just before: then it is this thread's to serve
        conn = self.waiting.pop(fd, None)
        if conn is not None:
            conn.woken = False
            self._serve(fd, conn, handle)

    def _arm(self, table: dict[int, Connection], fd: int, conn: Connection, first: bool) -> None:
        """Put ``conn`` in ``table`` (closing) and arm it in epoll, one-shot."""
        table[fd] = conn
        try:
            if first:
                self.poller.register(fd, ARMED)
            else:
                self.poller.modify(fd, ARMED)
        except (OSError, ValueError):  # pragma: no cover - closed under us: never expected
            table.pop(fd, None)
            self._ended(fd)
            conn.close_now()

    def _linger(self, fd: int, conn: Connection, first: bool = False) -> None:
        """httpd's lingering close, in the epoll: read what the client still sends until it
        closes or LINGER_SECONDS pass, holding no thread (a 408 to a slowloris included)."""
        conn.deadline = time.time() + LINGER_SECONDS
        self._arm(self.closing, fd, conn, first)

    def _drain(self, fd: int, conn: Connection) -> None:
        if conn.drain():
            self._ended(fd)
            conn.close_now()
        else:
            self._arm(self.closing, fd, conn, False)

    def serve_thread(self, index: int, handle: WorkerHandle) -> None:
        """Lead: wait in epoll, serve what it gives, wait again. Or park until promoted.

        One thread at a time waits in the child's epoll (the leader) and
        serves the request it woke for on its own stack, with no hand-over:
        while it serves, new events wait in the kernel until it comes back,
        as in a one-thread event loop. Should a request run longer than
        ``PROMOTE_AFTER`` (an app waiting on a database), the main thread
        promotes a parked thread to lead meanwhile (``promote``); the old
        leader, done, parks. Stopping, every thread waits in epoll (briefly)
        until the child's connections are gone.
        """
        poll = self.poller.poll
        pool = self.pool
        pool_lock = self.pool_lock
        listeners = self.listeners
        waiting = self.waiting
        wake_r = self.wake_r
        clock = time.monotonic
        lead = -1  # the leadership this thread holds; -1: none
        while True:
            if lead != self.lead and not self.stopping:
                with pool_lock:
                    while not self.lead_free and not self.stopping:
                        pool.wait(1.0)
                    if self.lead_free:
                        self.lead_free = False
                        lead = self.lead
                        self.serving = False
            if self.stopping and not self.conns:
                return
            try:
                events = poll(0.1 if self.stopping else 1.0, 1)
            except InterruptedError:
                events = []
            if not events:
                continue
            if lead == self.lead:
                self.left_epoll = clock()
                self.serving = True
            for fd, _ in events:
                conn = waiting.pop(fd, None)
                if conn is not None:
                    self._serve(fd, conn, handle)
                elif fd in listeners:
                    self._accept(listeners[fd], handle)
                elif fd != wake_r:
                    conn = self.closing.pop(fd, None)
                    if conn is not None:
                        self._drain(fd, conn)
                    else:
                        self._wake(fd, handle)
            if lead == self.lead:
                self.serving = False

    def promote(self) -> None:
        """No leader for PROMOTE_AFTER: the one serving is slow; let a parked thread lead."""
        if self.serving and time.monotonic() - self.left_epoll > PROMOTE_AFTER:
            with self.pool_lock:
                if self.serving and not self.lead_free:
                    self.lead += 1
                    self.lead_free = True
                    self.serving = False  # the new leadership starts in epoll
                    self.pool.notify()

    # -- the main thread -----------------------------------------------------------------
    def housekeeping(self) -> None:
        """Promote a thread past a slow leader; every SCAN_EVERY, ``scan`` the waits; then
        accept again if the child may (the one place a child standing aside comes back)."""
        self.promote()
        if self.stopping and not self.stop_seen:
            self.stop_seen = True  # (not in the signal handler: it may interrupt a lock holder)
            with self.pool_lock:
                self.pool.notify_all()  # parked threads see the stop now, not in a second
        clock = time.monotonic()
        if clock >= self.next_scan:
            self.next_scan = clock + SCAN_EVERY
            self.scan()
        self._resume_accepting()

    def scan(self) -> None:
        """Expire waits that ran out, end lingering closes past LINGER_SECONDS and, under
        pressure, the oldest idle keep-alives; record the connection counts."""
        now = time.time()
        if self.stopping and (self.listening or self.aside):
            self.aside = False
            self._disable_listeners()
            self.process.not_accepting = 1
        # Pressure: the child has stopped accepting for a whole second. httpd then closes every
        # idle keep-alive connection the moment all its workers are busy; a busy moment is
        # ordinary here (a few threads serve many connections), so only the oldest idle
        # connections go, enough to accept again.
        if not self.listening and not self.stopping and self.above_limit():
            self.pressure_ticks += 1
        else:
            self.pressure_ticks = 0
        shed = 0
        if self.pressure_ticks >= PRESSURE_TICKS:
            shed = max(1, len(self.conns) - self.conf.threads_per_child)
            shed = min(shed, len(self.conns) // 10 + 1)
        waiting = self.waiting
        idle_waits: list[tuple[float, int, Connection]] = []
        for fd, conn in list(waiting.items()):
            if conn.deadline <= now:
                self._expire(fd, conn)
            elif conn.keep_alive_wait:
                idle_waits.append((conn.deadline, fd, conn))
        for fd, conn in list(self.closing.items()):
            if conn.deadline <= now and self.closing.pop(fd, None) is conn:
                self._ended(fd)
                conn.close_now()
        if shed and idle_waits:
            idle_waits.sort(key=lambda item: item[0])
            for _, fd, conn in idle_waits[:shed]:
                self._expire(fd, conn)
            idle_waits = idle_waits[shed:]
        process = self.process
        process.connections = len(self.conns)
        process.keep_alive = len(idle_waits)
        process.lingering_close = len(self.closing)

    def _resume_accepting(self) -> None:
        """Put the listen sockets back in the epoll if the child may accept again (below
        the connection limit, no longer standing aside) and is not stopping."""
        if not self.listening and not self.stopping and self.may_accept():
            self._enable_listeners()

    def _ended(self, fd: int) -> None:
        """``fd``'s connection is closed or closing for good: no longer this child's."""
        conn = self.conns.pop(fd, None)
        if conn is not None:
            self.connection_lasted(time.time() - conn.accepted)
            self.process.connections = len(self.conns)

    def _expire(self, fd: int, conn: Connection) -> None:
        if self.waiting.pop(fd, None) is conn:  # not taken by a thread meanwhile
            if conn.expire():
                self._linger(fd, conn)
            else:
                self._ended(fd)

    def run(self) -> None:
        try:
            super().run()
        finally:
            self.poller.close()


class Event(ThreadedMpm):
    name = "event"
    module = "mpm_event_module"
    child_class = EventChild
    max_workers_id = "AH00484"
    busy_id = "AH00486"
