"""Open the sockets named by ``Listen``, with httpd's errors when a bind fails."""

from __future__ import annotations

import errno
import socket
import struct
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mpmd.config.server import Config, Listener


# accept() failures that mean this process is out of something, worth an error-log line;
# any other (the client gave up, another process took the connection) is not
RESOURCE_ERRORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)


def accept(listener: socket.socket, log: Callable[[str], None]) -> tuple[socket.socket, Any] | None:
    """One connection from a non-blocking listen socket, blocking (timeouts are the
    connection's SO_RCVTIMEO), or None: another process or thread took it, the client
    gave up, or the process is out of descriptors or memory (then ``log`` hears why)."""
    try:
        sock, client = listener.accept()
    except (BlockingIOError, InterruptedError, ConnectionAbortedError):
        return None
    except OSError as e:
        if e.errno in RESOURCE_ERRORS:
            log(f"accept: {e}")
        return None
    if sock.gettimeout() is not None:  # only under socket.setdefaulttimeout (an app's)
        sock.setblocking(True)
    return sock, client


class ListenError(Exception):
    pass


# httpd's AcceptFilter on Linux: "http data" and "https data" unless configured; any
# filter but "none" sets TCP_DEFER_ACCEPT, with httpd's 30 seconds
DEFAULT_ACCEPT_FILTER = "data"
DEFER_ACCEPT_SECONDS = 30


# Linux gives an accepted socket its listener's TCP_NODELAY and SO_SNDTIMEO: set once on
# the listener (``prepare_listener``), they cost no system call per connection
INHERITS_OPTIONS = sys.platform.startswith("linux")


def timeval(seconds: float) -> bytes:
    """A ``struct timeval`` for SO_RCVTIMEO/SO_SNDTIMEO (at least 1 ms: 0 means forever)."""
    seconds = max(seconds, 0.001)
    whole = int(seconds)
    return struct.pack("ll", whole, int((seconds - whole) * 1_000_000))


def prepare_listener(sock: socket.socket, listener: Listener, config: Config) -> None:
    """Set what a listen socket's connections inherit, and its accept filter; again on every
    restart, for the new configuration's values."""
    if INHERITS_OPTIONS:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(config.main.timeout))
    apply_accept_filter(sock, listener, config)


def apply_accept_filter(sock: socket.socket, listener: Listener, config: Config) -> None:
    """Wake the server for a connection only once the client has sent something, as httpd's
    default ``AcceptFilter http data``: a connection that sends nothing costs no process or
    thread, and the first read after accept() finds the request there."""
    defer = getattr(socket, "TCP_DEFER_ACCEPT", None)
    if defer is None:
        return  # not Linux: httpd's FreeBSD accept filters are not supported
    name = config.accept_filters.get(listener.proto, DEFAULT_ACCEPT_FILTER)
    seconds = 0 if name == "none" else DEFER_ACCEPT_SECONDS
    try:
        sock.setsockopt(socket.IPPROTO_TCP, defer, seconds)
    except OSError:
        pass  # as httpd: a listener without the optimisation still works


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def open_listener(listener: Listener, config: Config) -> socket.socket:
    host = listener.host
    if host:
        family = _family(host)
    else:
        family = socket.AF_INET6 if socket.has_ipv6 else socket.AF_INET
        host = "::" if family == socket.AF_INET6 else "0.0.0.0"
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and not listener.host:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # "Listen 80": v4 and v6
        sock.bind((host, listener.port))
        sock.listen(config.listen_backlog)
    except OSError as e:
        sock.close()
        shown = f"[{host}]" if ":" in host else host
        raise ListenError(
            f"({e.errno}){e.strerror}: AH00072: make_sock: could not bind to address "
            f"{shown}:{listener.port}"
        ) from None
    prepare_listener(sock, listener, config)
    return sock


def open_listeners(config: Config) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    try:
        for listener in config.listeners:
            sockets.append(open_listener(listener, config))
    except ListenError:
        for s in sockets:
            s.close()
        raise
    return sockets


def describe(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"
