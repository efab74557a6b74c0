"""Client helpers for the WSGI integration tests: mount configs, requests, raw responses."""

from __future__ import annotations

import http.client
import io
import json
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.serverproc import Server

APPS = Path(__file__).resolve().parent.parent / "apps"


def wsgi_conf(*mounts: str) -> str:
    """A config body loading mod_wsgi with tests/apps on the Python path, plus ``mounts``."""
    return "\n".join(
        ["LoadModule wsgi_module modules/mod_wsgi.so", f"WSGIPythonPath {APPS}", *mounts]
    )


@dataclass
class Reply:
    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes
    will_close: bool

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    server: Server,
    path: str,
    method: str = "GET",
    body: bytes | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
) -> Reply:
    """One request on a fresh connection with http.client."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        items = list(headers.items() if isinstance(headers, dict) else headers or [])
        own_host = any(name.lower() == "host" for name, _ in items)
        conn.putrequest(method, path, skip_host=own_host, skip_accept_encoding=True)
        for name, value in items:
            conn.putheader(name, value)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, resp.reason, resp.headers, data, resp.will_close)
    finally:
        conn.close()


def environ(server: Server, path: str, **kw: Any) -> dict[str, Any]:
    """The environ an ``environ_app`` mount saw for ``path``."""
    reply = request(server, path, **kw)
    assert reply.status == 200, reply.body
    return reply.json()  # type: ignore[no-any-return]


class _KeepOpen(io.BufferedReader):
    """http.client closes its file after each response; pipelined replies share this one."""

    def close(self) -> None:
        pass


def _parse(reader: _KeepOpen, method: str) -> Reply:
    source = type("Source", (), {"makefile": lambda self, *a, **kw: reader})()
    resp = http.client.HTTPResponse(source, method=method)
    resp.begin()
    return Reply(resp.status, resp.reason, resp.headers, resp.read(), resp.will_close)


def read_replies(sock: socket.socket, methods: list[str]) -> list[Reply]:
    """Parse one response per request method from ``sock``, in order."""
    reader = _KeepOpen(socket.SocketIO(sock, "rb"))
    return [_parse(reader, method) for method in methods]


def raw_exchange(server: Server, data: bytes, methods: list[str]) -> tuple[list[Reply], bytes]:
    """Send ``data`` in one write; the parsed replies, and what the server sent after them
    (b"" when it closed the connection, b"<still open>" when it kept it open)."""
    with server.connect() as sock:
        sock.sendall(data)
        reader = _KeepOpen(socket.SocketIO(sock, "rb"))
        replies = [_parse(reader, method) for method in methods]
        sock.settimeout(2)
        try:
            rest = reader.read()
        except (TimeoutError, ConnectionResetError):
            rest = b"<still open>"
        return replies, rest


def log_since(server: Server, mark: int) -> str:
    """The error log written since ``mark`` (a length of ``server.log_text()``).

    ``-X`` serves one connection at a time: once a fresh request is answered,
    everything earlier requests logged (even after their response) is in the file.
    """
    request(server, "/")
    return server.log_text()[mark:]


def read_to_close(server: Server, data: bytes, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Send ``data``; everything answered, and whether the server closed within ``timeout``."""
    chunks: list[bytes] = []
    with server.connect() as sock:
        sock.sendall(data)
        sock.settimeout(timeout)
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                return b"".join(chunks), False
            except ConnectionResetError:
                return b"".join(chunks), True
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
