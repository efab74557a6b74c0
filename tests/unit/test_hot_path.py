"""What the request path remembers between requests, and the hooks it leaves out.

The caches (header lines, checked WSGI statuses and headers, Host splits) must
give the same bytes as the first time, never let through what the check
refuses, and stay bounded. Hooks whose module has nothing to do in a
configuration are not called at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mpmd.http import writer
from mpmd.http.connection import Connection
from mpmd.http.site import Site, serving
from mpmd.log.errorlog import ErrorLog
from mpmd.modules import core, wsgi
from tests.unit.confkit import load, loopback_pair, run_post_config

APP_MODULE = "hot_path_app"


def hook_names(hooks: list[Callable[..., Any]]) -> list[str]:
    return [type(f.__self__).__name__ for f in hooks]


def test_alias_and_log_hooks_are_left_out_when_nothing_uses_them(tmp_path: Path) -> None:
    config = load(tmp_path, "LoadModule wsgi_module modules/mod_wsgi.so\n").config
    run_post_config(config)
    assert "AliasModule" not in hook_names(serving(config, "translate_name"))
    assert "AliasModule" not in hook_names(serving(config, "fixups"))
    assert "LogConfigModule" not in hook_names(serving(config, "log_transaction"))
    # still registered: another configuration may need them
    assert "AliasModule" in hook_names(config.hooks["translate_name"])


def test_alias_and_log_hooks_run_when_configured(tmp_path: Path) -> None:
    text = (
        f"Alias /a {tmp_path}\n"
        "<Location /old>\nRedirect /old /new\n</Location>\n"
        f"CustomLog {tmp_path / 'access_log'} common\n"
    )
    config = load(tmp_path, text).config
    try:
        run_post_config(config)
        assert "AliasModule" in hook_names(serving(config, "translate_name"))
        assert "AliasModule" in hook_names(serving(config, "fixups"))
        assert "LogConfigModule" in hook_names(serving(config, "log_transaction"))
    finally:
        config.modules.by_name["log_config_module"].close()  # type: ignore[attr-defined]


def test_a_redirect_in_a_section_alone_keeps_alias_fixups(tmp_path: Path) -> None:
    config = load(tmp_path, "<Directory /srv>\nRedirect /x /y\n</Directory>\n").config
    run_post_config(config)
    assert "AliasModule" not in hook_names(serving(config, "translate_name"))
    assert "AliasModule" in hook_names(serving(config, "fixups"))


# -- WSGI: checked statuses and headers ---------------------------------------------


def test_a_checked_header_is_remembered_and_a_bad_one_never_is() -> None:
    good = ("X-Hot-Path", "1")
    assert wsgi.check_header(good) is False
    assert wsgi._checked[good] is False
    assert wsgi.check_header(("Content-Length", "5")) is True
    for bad in [("X-Bad", "a\r\nSet-Cookie: x=1"), ("X:Bad", "1"), ("X-Bad", "a\nb")]:
        with pytest.raises(ValueError):
            wsgi.check_header(bad)
        assert bad not in wsgi._checked
    with pytest.raises(TypeError):
        wsgi.check_header(("X-Bytes", b"1"))


def test_a_status_is_checked_once_and_bad_ones_are_refused() -> None:
    assert wsgi.check_status("299 Hot") == (299, b"HTTP/1.1 299 Hot\r\n")
    assert wsgi._statuses["299 Hot"] == (299, b"HTTP/1.1 299 Hot\r\n")
    for bad in ["200", "20x OK", "200 OK\r\nX: y", "200_OK"]:
        with pytest.raises(ValueError):
            wsgi.check_status(bad)
        assert bad not in wsgi._statuses


def test_the_wsgi_caches_stay_bounded() -> None:
    for i in range(wsgi.CHECKED_LIMIT * 3):
        wsgi.check_header(("X-Many", str(i)))
        wsgi.check_status(f"200 Reason {i}")
        core.host_parts(f"host{i}.example:80")
    assert len(wsgi._checked) <= wsgi.CHECKED_LIMIT
    assert len(wsgi._statuses) <= wsgi.CHECKED_LIMIT
    assert len(core._host_parts) <= core._REMEMBERED


def test_host_parts_are_what_httpds_fix_hostname_leaves() -> None:
    assert core.host_parts("example.org:8080") == ("example.org", 8080)
    assert core.host_parts("Example.ORG.") == ("example.org", 0)
    assert core.host_parts("[::1]") == ("[::1]", 0)
    assert core.host_parts("[::1]:81") == ("[::1]", 81)
    for bad in ("a b", "x:y", "evil.example/path", "host\r\nX: y", "[::1", ""):
        assert core.host_parts(bad) == ("", 0)


# -- the response head: cached lines give the same bytes ---------------------------


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Callable[[bytes], bytes]]:
    """Send one raw request through a real Connection and the WSGI app; return the reply."""
    app = tmp_path / f"{APP_MODULE}.py"
    app.write_text(
        "def application(environ, start_response):\n"
        "    n = environ['QUERY_STRING']\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain'), ('X-N', n),"
        " ['X-List', 'yes']])\n"
        "    return [n.encode()]\n"
    )
    text = (
        "LoadModule wsgi_module modules/mod_wsgi.so\n"
        f"WSGIPythonPath {tmp_path}\n"
        f"WSGIApp / {APP_MODULE}:application\n"
        "MaxKeepAliveRequests 0\n"
    )
    config = load(tmp_path, text).config
    run_post_config(config)
    site = Site(config, ErrorLog(2))
    server_side, address, client = loopback_pair()
    conn = Connection(server_side, address, site)

    def roundtrip(request: bytes) -> bytes:
        client.sendall(request)
        assert conn.serve_available()
        return client.recv(65536)

    try:
        yield roundtrip
    finally:
        server_side.close()
        client.close()


def head_lines(reply: bytes) -> list[bytes]:
    head = reply.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    return [line for line in head if not line.startswith(b"Date: ")]


def test_repeated_responses_have_the_same_head(served: Callable[[bytes], bytes]) -> None:
    request = b"GET /?7 HTTP/1.1\r\nHost: h\r\n\r\n"
    first = served(request)
    assert ("Content-Type", "text/plain") in writer._lines
    second = served(request)
    assert head_lines(first) == head_lines(second)
    assert head_lines(first)[1:] == [
        head_lines(first)[1],  # Server
        b"Content-Type: text/plain",
        b"X-N: 7",
        b"X-List: yes",
        b"Content-Length: 1",
    ]
    assert second.endswith(b"\r\n\r\n7")


def test_the_header_line_cache_stays_bounded(served: Callable[[bytes], bytes]) -> None:
    for i in range(writer.CACHED_LINES + 20):
        reply = served(b"GET /?%d HTTP/1.1\r\nHost: h\r\n\r\n" % i)
        assert b"\r\nX-N: %d\r\n" % i in reply
    assert len(writer._lines) <= writer.CACHED_LINES
