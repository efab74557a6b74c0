"""AcceptFilter and Listen's protocol: TCP_DEFER_ACCEPT on the listen sockets, as httpd on Linux."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from mpmd.net.listeners import open_listeners
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
