"""The end of a connection the response closes: the client hears it before the log line.

With an access log, ``Site.handle`` shuts down the sending side
(``Connection.end_output``) before the log hooks run, so the client sees the end
of the stream at once and the close after the log line finds nothing to wait
for. With input left unread, nothing is shut down early: the close lingers, as
before.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpmd.http.connection import Connection
from mpmd.http.request import Request
from mpmd.http.site import Site
from mpmd.log.errorlog import ErrorLog
from tests.unit.confkit import load, loopback_pair, run_post_config

GET_CLOSE = b"GET /f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Connection, socket.socket, list[bytes]]]:
    """A connection on a loopback pair to a static file, whose one log hook records what
    the client has received by the time it runs (b"<EOF>" once the stream ended)."""
    (tmp_path / "f.txt").write_bytes(b"hello\n")
    text = f"DocumentRoot {tmp_path}\n<Directory {tmp_path}>\nRequire all granted\n</Directory>\n"
    config = load(tmp_path, text).config
    run_post_config(config)
    site = Site(config, ErrorLog(2))
    server_side, address, client = loopback_pair()
    seen: list[bytes] = []

    def log_hook(req: Request) -> None:
        client.settimeout(0.5)
        try:
            for _ in range(100):  # bounded: a response is one or two reads
                data = client.recv(65536)
                seen.append(data or b"<EOF>")
                if not data:
                    break
        except TimeoutError:
            seen.append(b"<still open>")

    site.loggers = [log_hook]
    conn = Connection(server_side, address, site)
    try:
        yield conn, client, seen
    finally:
        server_side.close()
        client.close()


def test_the_client_sees_the_end_before_the_log_line(
    served: tuple[Connection, socket.socket, list[bytes]],
) -> None:
    conn, client, seen = served
    client.sendall(GET_CLOSE)
    conn.serve()
    response = b"".join(seen[:-1])
    assert response.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in response
    assert response.endswith(b"hello\n")
    assert seen[-1] == b"<EOF>"


def test_unread_input_is_not_cut_short(
    served: tuple[Connection, socket.socket, list[bytes]],
) -> None:
    conn, client, seen = served
    # a body far larger than the server will drain, barely begun: input is left unread,
    # so the response closes the connection and the close lingers
    client.sendall(
        b"POST /f.txt HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 100
    )
    conn.serve()
    response = b"".join(seen[:-1])
    assert b"\r\nConnection: close\r\n" in response
    assert seen[-1] == b"<still open>"
    # the lingering close still ends the connection, without a reset
    client.settimeout(5)
    assert client.recv(65536) == b""
