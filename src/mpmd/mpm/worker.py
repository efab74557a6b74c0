"""mpm_worker_module: processes x ThreadsPerChild threads; a thread holds its connection.

Same anatomy as httpd's ``server/mpm/worker/worker.c``, with the directive
table, ``check_config`` and spare-thread maintenance shared with event and
winnt in ``threaded.py``. As in httpd, each child has one listener thread
that accepts and hands the socket to an idle worker thread through a queue;
the worker serves it through keep-alive. The listener accepts only while a
worker is idle (httpd's ``ap_queue_info_wait_for_idler``), so a child whose
workers are all busy leaves new connections to the other children instead
of queueing them.

Measured against the other shape the issue asked about -- every worker
waiting on its own epoll (``EPOLLEXCLUSIVE``) and accepting for itself --
on 2 cores, 2 children x 32 threads, hello-world WSGI, wrk -c16, the two
shapes interleaved, medians of 3, two runs: with ``Connection: close`` the
listener served 9,872 and 10,959 req/s against 7,497 and 9,893, at 144 and
126 µs of CPU per request against 206 and 152 (64 epolls on one listen
socket wake more than one thread per connection); with keep-alive the two
are within the noise (31,816 / 26,433 against 28,736 / 28,769 req/s).

Unlike httpd, children balance the connections they hold. A thread holds
its connection, and a child's threads share one core (the GIL), so a child
with 14 of 16 keep-alive connections runs on one core while its peer idles;
the kernel makes such splits, as it wakes the first-registered child that
waits. A child holding two more than a peer of its generation stands aside
(``_listen``) while its connections are long-lived. At wrk -c16 keep-alive,
2 x 32 threads, alternating rounds: every split 8/8 or 9/7 (before: 8/8 to
16/0, and 16/0 ran at 24k req/s). What that buys depends on what else the
cores do: with wrk on the same 2 cores, 82.0k against 70.0k req/s in one
run of 6 rounds, level (48.1k against 48.3k) in another of 8. With
``Connection: close`` it stays out of the way: the same system calls and
CPU per connection as before.

A child keeps to one CPU when there are CPUs enough for each child the
configuration allows (``placement.keep_to_one_cpu``, with the measurements).
It keeps the default scheduling policy: as SCHED_BATCH it served more, but
held other programs' tasks off its CPU for tens of milliseconds
(``placement.no_wakeup_preemption``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import select
import socket
import threading
import time
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import Module
from mpmd.mpm.placement import keep_to_one_cpu
from mpmd.mpm.threaded import (
    WORKER_DIRECTIVES,
    ThreadedChild,
    ThreadedConf,
    ThreadedMpm,
    check_config,
)
from mpmd.net.listeners import INHERITS_OPTIONS, accept

LISTENING = select.EPOLLIN | select.EPOLLEXCLUSIVE  # one child wakes per connection
STEP_ASIDE = 0.002  # seconds between two looks while a peer child holds fewer connections

if TYPE_CHECKING:
    from mpmd.config.server import Config
    from mpmd.mpm.base import Parent
    from mpmd.mpm.scoreboard_handle import WorkerHandle


def drain_eventfd(fd: int) -> None:
    with contextlib.suppress(BlockingIOError):
        os.eventfd_read(fd)


class WorkerModule(Module):
    name = "mpm_worker_module"
    source = "worker.c"
    mpm = "worker"
    directives = WORKER_DIRECTIVES

    def create_server_config(self) -> ThreadedConf:
        return ThreadedConf()

    def check_config(self, config: Config, warn: Any) -> None:
        check_config(config.main.module_conf[self.name], warn)


class WorkerChild(ThreadedChild):
    """A worker child: a listener thread accepts, the worker threads serve."""

    def __init__(self, parent: Parent, slot: int, conf: ThreadedConf) -> None:
        super().__init__(parent, slot, conf)
        self.handoff: queue.SimpleQueue[tuple[socket.socket, Any] | None] = queue.SimpleQueue()
        self.idle_workers = threading.Semaphore(0)  # one token per worker waiting for work
        self.held = 0  # connections handed to a worker and not yet ended
        self.held_lock = threading.Lock()
        self.aside = False  # the listener stands aside for a peer child: wake it at an end
        self.ended_fd = os.eventfd(0, os.EFD_NONBLOCK)

    def run(self) -> None:
        if self.parent.supervised:  # before any thread starts: they inherit it
            keep_to_one_cpu(self.slot, self.conf.active_daemons_limit)
        listener = threading.Thread(target=self._listen, name="mpmd-listener", daemon=True)
        listener.start()
        super().run()
        listener.join(5.0)
        if not listener.is_alive():  # else it may still wait on it; the process ends anyway
            os.close(self.ended_fd)

    def _listen(self) -> None:
        """Accept while a worker is idle; hand each connection to one; stop when told.

        While a peer child holds two connections fewer (``busier_than_a_peer``),
        the listener waits in a second epoll without the listen sockets. The
        kernel's exclusive wake-up passes over an epoll nobody waits in, so new
        connections go to the peer, and none is left behind: one that came
        before is in the peer's ready list too, or was this thread's to accept.
        It looks again when one of its connections ends (a worker's note on
        ``ended_fd``) and every ``STEP_ASIDE`` seconds (the peer's count may
        have risen).
        """
        poller = select.epoll()  # the listen sockets, the wake pipe
        aside = select.epoll()  # the wake pipe and ended_fd: waiting here takes no connection
        listeners = {sock.fileno(): sock for sock in self.parent.listeners}
        for fd in listeners:
            poller.register(fd, LISTENING)
        for fd in (self.wake_r, self.ended_fd):
            poller.register(fd, select.EPOLLIN)
            aside.register(fd, select.EPOLLIN)
        process = self.process
        idle_workers = self.idle_workers
        try:
            while not self.stopping:
                if not idle_workers.acquire(blocking=False):
                    process.not_accepting = 1  # every worker busy: other children accept
                    ready = idle_workers.acquire(timeout=1.0)
                    process.not_accepting = 0
                    if not ready:
                        continue
                held = self.held
                if self.should_step_aside(held):
                    idle_workers.release()
                    self.aside = True  # from here on, the next connection's end wakes this thread
                    if self.held == held:
                        aside.poll(STEP_ASIDE)
                        drain_eventfd(self.ended_fd)
                    continue
                accepted = None
                try:
                    events = poller.poll(1.0, 1)
                except InterruptedError:
                    events = []
                for fd, _ in events:
                    listener = listeners.get(fd)
                    if listener is None:  # the wake pipe (stopping), or a late end's note
                        drain_eventfd(self.ended_fd)
                    else:
                        # Accept even when told to stop: an exclusive wake-up was this
                        # child's alone, and the connection would otherwise wait.
                        accepted = self._accept(listener)
                if accepted is None:
                    idle_workers.release()
                else:
                    self._hand(accepted)
        finally:
            poller.close()
            aside.close()
            process.not_accepting = 1
            for _ in range(self.conf.threads_per_child):
                self.handoff.put(None)  # each worker's signal to finish

    def _hand(self, accepted: tuple[socket.socket, Any]) -> None:
        with self.held_lock:
            held = self.held = self.held + 1
            self.process.connections = held  # peers balance on it
        self.handoff.put(accepted)

    def _ended(self, lasted: float) -> None:
        with self.held_lock:
            held = self.held = self.held - 1
            self.process.connections = held
            self.connection_lasted(lasted)
        if self.aside:  # the first end while the listener stands aside wakes it
            self.aside = False
            os.eventfd_write(self.ended_fd, 1)

    def _accept(self, listener: socket.socket) -> tuple[socket.socket, Any] | None:
        accepted = accept(listener, self.log_accept_error)
        if accepted is not None:
            self.count_connection()
        return accepted

    def serve_thread(self, index: int, handle: WorkerHandle) -> None:
        from mpmd.http.connection import Connection

        site = self.site
        handoff = self.handoff
        while True:
            self.idle_workers.release()
            item = handoff.get()
            if item is None:
                return
            conn_sock, client = item
            handle.set_state(b"R")
            started = time.monotonic()
            Connection(conn_sock, client, site, slot=handle, inherited=INHERITS_OPTIONS).serve()
            handle.idle()
            self._ended(time.monotonic() - started)


class Worker(ThreadedMpm):
    name = "worker"
    module = "mpm_worker_module"
    child_class = WorkerChild
