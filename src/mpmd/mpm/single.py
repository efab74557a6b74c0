"""One process serving one connection at a time: httpd's ``-X`` (debug) mode.

It owns nothing but a loop: wait for any listen socket to be readable,
accept, hand the socket to the HTTP layer, repeat. The MPMs (prefork,
worker, event, winnt) replace this loop; the HTTP layer does not change.
"""

from __future__ import annotations

import selectors
import signal
import socket
import time
from types import FrameType
from typing import TYPE_CHECKING

from mpmd.http.connection import Connection
from mpmd.http.site import Site
from mpmd.log.errorlog import open_error_log
from mpmd.log.levels import ALERT, EMERG, ERROR, WARN
from mpmd.net.listeners import INHERITS_OPTIONS

if TYPE_CHECKING:
    from mpmd.config.server import Config


class Stop(BaseException):
    """Raised from the signal handler to leave the loop from wherever it waits."""


def serve_forever(site: Site, listeners: list[socket.socket], max_connections: int = 0) -> None:
    """Serve until SIGTERM/SIGINT/SIGHUP (or ``max_connections`` connections, 0 = no limit).

    A signal that arrives while a request runs lets that request finish (its
    response and its log line whole), then closes its connection and stops; a
    signal that arrives while waiting stops at once, as httpd -X does.
    """

    def stop(signum: int, frame: FrameType | None) -> None:
        site.accepting = False
        if not site.in_request:
            raise Stop(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    selector = selectors.DefaultSelector()
    for sock in listeners:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    served = 0
    try:
        while True:
            for key, _ in selector.select(timeout=1.0):
                listen_sock: socket.socket = key.fileobj  # type: ignore[assignment]
                try:
                    conn_sock, client = listen_sock.accept()
                except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                    continue
                except OSError as e:
                    site.log(3, f"AH00052: accept failed: {e}")
                    time.sleep(0.01)
                    continue
                conn_sock.setblocking(True)
                Connection(conn_sock, client, site, inherited=INHERITS_OPTIONS).serve()
                served += 1
                if not site.accepting or (max_connections and served >= max_connections):
                    return
    except Stop:
        pass
    finally:
        selector.close()


def run(config: Config, command_line: str) -> int:
    """Start-up for -X: open the error log, the listen sockets, run post_config, serve."""
    from mpmd.log.levels import NOTICE
    from mpmd.net.listeners import ListenError, describe, open_listeners

    error_log = open_error_log(config)
    for warning in config.warnings:
        error_log.log(WARN, warning, force=True)
    try:
        listeners = open_listeners(config)
    except ListenError as e:
        error_log.log(EMERG, str(e), force=True)
        error_log.log(ALERT, "AH00015: no listening sockets available, shutting down", force=True)
        return 1
    config.warnings.clear()
    try:
        for post_config in config.hooks["post_config"]:
            post_config(config)
    except Exception as e:
        error_log.log(EMERG, f"MP00030: post_config failed: {e!r}", force=True)
        return 1
    for warning in config.warnings:
        error_log.log(ERROR, warning, force=True)
    site = Site(config, error_log)
    error_log.log(
        NOTICE,
        f"AH00489: {site.banner} configured -- resuming normal operations",
        "mpm_single",
        force=True,
    )
    error_log.log(NOTICE, f"AH00094: Command line: '{command_line}'", force=True)
    for sock in listeners:
        error_log.log(
            NOTICE,
            f"MP00020: serving on {describe(sock)} (one process, -X)",
            "mpm_single",
            force=True,
        )
    try:
        serve_forever(site, listeners)
    finally:
        for sock in listeners:
            sock.close()
        error_log.log(NOTICE, "AH00169: caught SIGTERM, shutting down", "mpm_single", force=True)
    return 0
