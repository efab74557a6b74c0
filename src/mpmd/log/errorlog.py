"""The error log: Apache's line form, one ``os.write`` per line.

``[Thu Nov 26 14:09:40.123456 2026] [core:error] [pid 7:tid 140] [client 127.0.0.1:5555] AH00128: ...``

A line is built whole and written with one ``write(2)`` on an ``O_APPEND``
descriptor, so lines from several processes and threads never interleave.
``write_all`` writes the access log's lines too, so this module is compiled
with the request path (mypyc, ``setup.py``).
"""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING

from mpmd.log.levels import NAMES, WARN

if TYPE_CHECKING:
    from mpmd.config.server import Config

_STD_PATHS = {"/dev/stderr": 2, "/dev/stdout": 1}


def open_log_fd(path: str) -> int:
    """Open a log file for appending; /dev/stderr and /dev/stdout are the process's own."""
    if path in _STD_PATHS:
        return os.dup(_STD_PATHS[path])
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, exist_ok=True)
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)


def apache_time(now: float | None = None) -> str:
    """``Thu Nov 26 14:09:40.123456 2026`` as in httpd's error log."""
    now = time.time() if now is None else now
    t = time.localtime(now)
    micros = int((now % 1) * 1_000_000)
    return time.strftime("%a %b %d %H:%M:%S", t) + f".{micros:06d} " + time.strftime("%Y", t)


class ErrorLog:
    """One error log destination with a level; safe to call from any thread."""

    def __init__(self, fd: int = 2, level: int = WARN, module_levels: dict[str, int] | None = None):
        self.fd = fd
        self.level = level
        self.module_levels = module_levels or {}
        self.path: str | None = None
        self.owns_fd = True  # False: another ErrorLog's file, closed with that one
        # a <VirtualHost>'s own ErrorLog or LogLevel, by id() of its ServerConfig
        self.vhosts: dict[int, ErrorLog] = {}

    @classmethod
    def open(cls, path: str, level: int, module_levels: dict[str, int]) -> ErrorLog:
        log = cls(open_log_fd(path), level, module_levels)
        log.path = path
        return log

    def for_server(self, server: object) -> ErrorLog:
        """The log of ``server`` (a ServerConfig): its own, or this, the main server's."""
        return self.vhosts.get(id(server), self)

    def enabled(self, level: int, module: str = "core") -> bool:
        limit = self.module_levels.get(module + "_module", self.level)
        return level <= limit

    def log(
        self,
        level: int,
        message: str,
        module: str = "core",
        client: str | None = None,
        force: bool = False,
    ) -> None:
        if not force and not self.enabled(level, module):
            return
        parts = [
            f"[{apache_time()}] [{module}:{NAMES.get(level, 'error')}] "
            f"[pid {os.getpid()}:tid {threading.get_native_id()}] "
        ]
        if client:
            parts.append(f"[client {client}] ")
        # one line per entry: newlines inside a message (tracebacks) stay in the entry
        parts.append(message.rstrip("\n").replace("\n", "\n    "))
        parts.append("\n")
        data = "".join(parts).encode("utf-8", "backslashreplace")
        write_all(self.fd, data)

    def close(self) -> None:
        for log in self.vhosts.values():
            log.close()
        if self.fd > 2 and self.owns_fd:
            try:
                os.close(self.fd)
            except OSError:
                pass


def write_all(fd: int, data: bytes) -> None:
    """Write ``data`` whole; on a short write go on from where it stopped."""
    try:
        written = os.write(fd, data)
    except OSError:
        written = 0  # the loop below retries, waits or gives up
    if written == len(data):
        return
    view = memoryview(data)[written:]
    for _ in range(10_000):  # bounded: a reader that never drains must not hang a worker
        if not view:
            return
        try:
            n = os.write(fd, view)
        except InterruptedError:
            continue
        except BlockingIOError:
            import select

            select.select([], [fd], [], 1.0)
            continue
        except OSError:
            return  # a closed stderr must not kill a worker
        view = view[n:]


def open_error_log(config: Config) -> ErrorLog:
    """The main server's ErrorLog at its LogLevel (httpd's default: logs/error_log), with
    the logs of the virtual hosts that have an ErrorLog or LogLevel of their own (one
    descriptor per file, however many servers write to it)."""
    main = config.main
    path = main.error_log or config.path("logs/error_log")
    log = ErrorLog.open(path, main.log_level, main.module_log_levels)
    files = {path: log.fd}
    for vhost in config.vhosts:
        own = vhost.error_log or path
        if own.startswith("syslog"):
            own = path
        levels = (vhost.log_level, vhost.module_log_levels)
        if own == path and levels == (main.log_level, main.module_log_levels):
            continue
        fd = files.get(own)
        vlog = ErrorLog(open_log_fd(own) if fd is None else fd, *levels)
        vlog.path, vlog.owns_fd = own, fd is None
        files[own] = vlog.fd
        log.vhosts[id(vhost)] = vlog
    return log
