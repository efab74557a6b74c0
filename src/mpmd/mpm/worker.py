"""mpm_worker_module: processes x ThreadsPerChild threads; a thread holds its connection.

Same anatomy as httpd's ``server/mpm/worker/worker.c``, with the directive
table, ``check_config`` and spare-thread maintenance shared with event and
winnt in ``threaded.py``. The child differs from httpd's in one measured
way: there is no listener thread handing sockets to workers through a queue.
Each idle thread waits on its own epoll for the listen sockets
(``EPOLLEXCLUSIVE``: one waiting thread in the whole server wakes per
connection), accepts, and serves the connection through keep-alive itself;
a queue hand-over costs two thread wake-ups and GIL hand-overs per
connection (``../shared/DESIGN.md``, Performance). A thread that is busy is
not waiting, so a child whose threads are all busy accepts nothing and the
connection goes to another child, as httpd's listener stops when no worker
is idle.
"""

from __future__ import annotations

import errno
import select
import socket
from typing import TYPE_CHECKING

from mpmd.config.registry import Module
from mpmd.mpm.threaded import (
    WORKER_DIRECTIVES,
    ThreadedChild,
    ThreadedConf,
    ThreadedMpm,
    check_config,
)

if TYPE_CHECKING:
    from typing import Any

    from mpmd.config.server import Config
    from mpmd.mpm.scoreboard import WorkerHandle


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
    """A worker child: every thread accepts for itself and keeps its connection."""

    def serve_thread(self, index: int, handle: WorkerHandle) -> None:
        from mpmd.http.connection import Connection

        site = self.site
        poller = select.epoll()
        listeners: dict[int, socket.socket] = {}
        for sock in self.parent.listeners:
            listeners[sock.fileno()] = sock
            poller.register(sock.fileno(), select.EPOLLIN | select.EPOLLEXCLUSIVE)
        poller.register(self.wake_r, select.EPOLLIN)
        try:
            while not self.stopping:
                try:
                    events = poller.poll(1.0, 1)
                except InterruptedError:
                    continue
                for fd, _ in events:
                    listener = listeners.get(fd)
                    if listener is None:
                        continue  # the wake pipe: stopping
                    # Accept even when told to stop: an exclusive wake-up was this thread's
                    # alone, and the connection would otherwise wait for the next one.
                    try:
                        conn_sock, client = listener.accept()
                    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                        continue
                    except OSError as e:
                        if e.errno in (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM):
                            site.log(3, f"AH00052: accept: {e}")
                        continue
                    conn_sock.setblocking(True)
                    self.count_connection()
                    handle.slot.status = b"R"
                    Connection(conn_sock, client, site, slot=handle).serve()
                    handle.idle()
        finally:
            poller.close()


class Worker(ThreadedMpm):
    name = "worker"
    module = "mpm_worker_module"
    child_class = WorkerChild
