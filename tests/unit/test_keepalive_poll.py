"""The brief poll for the next keep-alive request (Connection._recv_soon)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpmd.config.loader import read_config
from mpmd.http.connection import Connection
from mpmd.http.site import Site
from mpmd.log.errorlog import ErrorLog
from mpmd.modules import builtin_modules
from tests.unit.confkit import loopback_pair


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[Connection, socket.socket]]:
    config = read_config(None, str(tmp_path), [], [], [], builtin_modules(), lambda m: None, "")
    server_side, address, client = loopback_pair()
    conn = Connection(server_side, address, Site(config, ErrorLog(2)))
    try:
        yield conn, client
    finally:
        server_side.close()
        client.close()


def test_poll_returns_a_request_that_is_already_there(
    pair: tuple[Connection, socket.socket],
) -> None:
    conn, client = pair
    client.sendall(b"GET / HTTP/1.1\r\n")
    assert conn._recv_soon() == b"GET / HTTP/1.1\r\n"
    assert conn.spin


def test_poll_gives_up_and_stops_polling_for_a_slow_client(
    pair: tuple[Connection, socket.socket],
) -> None:
    conn, _client = pair
    assert conn._recv_soon() is None
    assert not conn.spin


def test_poll_reports_a_closed_client_as_end_of_stream(
    pair: tuple[Connection, socket.socket],
) -> None:
    conn, client = pair
    client.close()
    assert conn._recv_soon() == b""
