"""Raw HTTP/1.x over a socket for tests, and a WSGI app that shows what the server passed in.

http.client hides what the HTTP core tests look at (pipelining, 100 Continue,
who closed the connection, bytes after a response), so ``RawClient`` sends
bytes as given and ``read_reply`` parses exactly one response off the stream.
Every read is bounded by the socket's timeout.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tests.serverproc import Server

# The application the HTTP core tests talk to; its paths name what it does with the request.
APP_SOURCE = r"""
import json


def application(environ, start_response):
    path = environ["PATH_INFO"]
    action = path.rsplit("/", 1)[-1]  # /echo and /small/echo both echo
    body_in = environ["wsgi.input"]
    status = "200 OK"
    if action == "echo":
        body = body_in.read()
    elif action == "read-more-than-sent":
        body = body_in.read(1 << 20)
    elif action == "lines":
        body = json.dumps([line.decode("latin-1") for line in body_in]).encode()
    elif action == "readline":
        first = body_in.readline()
        body = json.dumps([first.decode("latin-1"), body_in.read().decode("latin-1")]).encode()
    elif action == "raise":
        raise RuntimeError("the app failed on purpose")
    elif action == "raise-after-start":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _fail_after_first_chunk()
    elif action == "stream":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return iter([b"one,", b"two,", b"three"])
    elif action == "respond-then-read":  # starts the response, then reads the body
        start_response("200 OK", [("Content-Type", "text/plain")])
        return _respond_then_read(body_in)
    elif action == "big":  # 64 MiB, more than socket buffers hold
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return (b"b" * (1 << 20) for _ in range(64))
    elif action == "error-page":
        body = ("custom page for " + environ.get("REDIRECT_STATUS", "?")).encode()
    elif action == "environ":
        body = json.dumps({k: v for k, v in environ.items() if isinstance(v, str)}).encode()
    else:  # every other path answers without touching the body
        body = ("hello " + path).encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def _respond_then_read(body_in):
    yield b"started;"
    yield body_in.read()


def _fail_after_first_chunk():
    yield b"first chunk"
    raise RuntimeError("the app failed after the response started")
"""


def wsgi_conf(directory: Path, extra: str = "") -> str:
    """A config body mounting ``APP_SOURCE`` at /, written into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "httpcore_app.py").write_text(APP_SOURCE)
    return (
        f"LoadModule wsgi_module x\nWSGIPythonPath {directory}\n"
        f"WSGIApp / httpcore_app:application\n{extra}"
    )


class ConnectionClosed(Exception):
    """The server closed the connection where a response was expected."""


@dataclass
class Reply:
    version: str
    status: int
    reason: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    raw_head: bytes = b""

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lname = name.lower()
        return next((v for k, v in self.headers if k.lower() == lname), None)

    def header_all(self, name: str) -> list[str]:
        lname = name.lower()
        return [v for k, v in self.headers if k.lower() == lname]


def read_reply(f: BinaryIO, method: str = "GET") -> Reply:
    """Parse one response from ``f``; the body by Content-Length, chunked or up to the close."""
    line = f.readline(65537)
    if not line:
        raise ConnectionClosed("no response: the server closed the connection")
    version, status, *reason = line.decode("latin-1").rstrip("\r\n").split(" ", 2)
    reply = Reply(version, int(status), reason[0] if reason else "")
    head = [line]
    while True:
        h = f.readline(65537)
        head.append(h)
        if h in (b"\r\n", b"\n", b""):
            break
        name, _, value = h.decode("latin-1").partition(":")
        reply.headers.append((name, value.strip()))
    reply.raw_head = b"".join(head)
    code = reply.status
    if method == "HEAD" or code < 200 or code in (204, 304):
        return reply
    if (reply.header("Transfer-Encoding") or "").lower() == "chunked":
        reply.body = _read_chunked(f)
    elif reply.header("Content-Length") is not None:
        reply.body = _read_exactly(f, int(reply.header("Content-Length") or 0))
    else:
        reply.body = f.read()
    return reply


def _read_exactly(f: BinaryIO, n: int) -> bytes:
    data = f.read(n)
    if len(data) != n:
        raise ConnectionClosed(f"body cut short: {len(data)} of {n} bytes")
    return data


def _read_chunked(f: BinaryIO) -> bytes:
    parts: list[bytes] = []
    while True:
        size = int(f.readline(1024).split(b";")[0].strip() or b"x", 16)
        if size == 0:
            while f.readline(65537) not in (b"\r\n", b"\n", b""):
                pass  # trailers
            return b"".join(parts)
        parts.append(_read_exactly(f, size))
        f.readline(3)


def read_replies(data: bytes, methods: list[str] | None = None) -> list[Reply]:
    """Every response in ``data`` (read until the server closed), in order."""
    f = io.BytesIO(data)
    replies: list[Reply] = []
    for method in methods or ["GET"] * 1000:
        if f.tell() == len(data):
            break
        replies.append(read_reply(f, method))
    return replies


class RawClient:
    """One connection to ``server``: send raw bytes, read responses one at a time."""

    def __init__(self, server: Server, timeout: float = 10.0) -> None:
        self.sock = server.connect(timeout)
        self.file = self.sock.makefile("rb")

    def __enter__(self) -> RawClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reply(self, method: str = "GET") -> Reply:
        return read_reply(self.file, method)

    def request(self, data: bytes, method: str = "GET") -> Reply:
        self.send(data)
        return self.reply(method)

    def peek_closed(self, timeout: float = 10.0) -> bool:
        """True if the server closes (EOF or reset) with nothing more sent, within ``timeout``."""
        self.sock.settimeout(timeout)
        try:
            return self.file.read1(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False

    def rest(self, timeout: float = 10.0) -> bytes:
        """Everything the server still sends until it closes (bounded by ``timeout`` per read)."""
        self.sock.settimeout(timeout)
        chunks: list[bytes] = []
        try:
            while data := self.file.read1(65536):
                chunks.append(data)
        except (ConnectionResetError, TimeoutError):
            pass
        return b"".join(chunks)

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def get(host_header: str = "t") -> bytes:
    return f"GET / HTTP/1.1\r\nHost: {host_header}\r\n\r\n".encode()


def still_serving(server: Server) -> bool:
    """A fresh connection gets a normal answer: the process survived what came before."""
    with RawClient(server) as c:
        reply = c.request(b"GET /alive HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
    return reply.status == 200 and reply.body == b"hello /alive"
