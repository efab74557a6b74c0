"""Listen sockets: AcceptFilter (TCP_DEFER_ACCEPT, as httpd on Linux), Listen's protocol,
and the options accepted sockets inherit (the connection does not set them again)."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

import pytest

from mpmd.config.server import Listener
from mpmd.net.listeners import INHERITS_OPTIONS, open_listeners, prepare_listener
from tests.unit.confkit import fail, load

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "TCP_DEFER_ACCEPT"), reason="TCP_DEFER_ACCEPT is Linux's"
)


def deferred(sock: socket.socket) -> int:
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT)


def test_listen_names_https_for_port_443_and_http_otherwise(tmp_path: Path) -> None:
    config = load(tmp_path, "Listen 127.0.0.1:443\nListen 8080\nListen 8443 https\n").config
    assert [(lis.port, lis.proto) for lis in config.listeners] == [
        (443, "https"),
        (8080, "http"),
        (8443, "https"),
    ]


def test_every_listener_defers_accept_unless_its_protocol_says_none(tmp_path: Path) -> None:
    text = "Listen 127.0.0.1:0\nListen 127.0.0.2:0 ftp\nAcceptFilter ftp none\n"
    config = load(tmp_path, text).config
    assert config.accept_filters == {"ftp": "none"}
    http, ftp = open_listeners(config)
    try:
        assert deferred(http) > 0  # the kernel rounds 30 s to its SYN-ACK retransmits
        assert deferred(ftp) == 0
    finally:
        http.close()
        ftp.close()


def test_any_filter_but_none_defers_on_linux(tmp_path: Path) -> None:
    config = load(tmp_path, "Listen 127.0.0.1:0\nAcceptFilter http httpready\n").config
    (sock,) = open_listeners(config)
    try:
        assert deferred(sock) > 0
    finally:
        sock.close()


def test_accept_filter_is_server_config_only(tmp_path: Path) -> None:
    error = fail(tmp_path, "<VirtualHost *:80>\nAcceptFilter http none\n</VirtualHost>\n")
    assert "line 2" in str(error)
    assert "AcceptFilter cannot occur within <VirtualHost> section" in str(error)
    error = fail(tmp_path, "AcceptFilter http\n")
    assert "AcceptFilter takes two arguments" in str(error)


@pytest.mark.skipif(not INHERITS_OPTIONS, reason="only Linux is relied on to copy the options")
def test_an_accepted_socket_has_nodelay_and_the_send_timeout_of_timeout(tmp_path: Path) -> None:
    config = load(tmp_path, "Listen 127.0.0.1:0\nTimeout 7\n").config
    (listener,) = open_listeners(config)
    try:
        for timeout in (7, 3):  # a restart sets the new configuration's value
            config.main.timeout = timeout
            prepare_listener(listener, Listener("127.0.0.1", 0), config)
            with socket.create_connection(listener.getsockname()) as client:
                client.sendall(b"x")  # deferred accept: the listener sees it only now
                accepted, _ = listener.accept()
                with accepted:
                    assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
                    raw = accepted.getsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, 16)
                    assert struct.unpack("ll", raw) == (timeout, 0)
    finally:
        listener.close()
