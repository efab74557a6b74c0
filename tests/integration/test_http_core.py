"""The HTTP/1.1 core with well-formed traffic: versions, keep-alive, pipelining, bodies,
100-continue, HEAD, Date/Server, error pages and failing apps.

Bad input, limits and timeouts are in test_http_limits.py.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.rawhttp import RawClient, read_replies, still_serving, wsgi_conf
from tests.serverproc import Server, run_server

StartServer = Callable[..., Server]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mpm: str | None) -> Iterator[Server]:
    """One server for the tests that need no special configuration."""
    root = tmp_path_factory.mktemp("http_core")
    with run_server(root / "server", wsgi_conf(root / "app", "KeepAliveTimeout 2"), mpm=mpm) as s:
        yield s


@pytest.fixture
def start(mpmd: StartServer, tmp_path: Path) -> StartServer:
    """``start("Directive ...")``: a server of its own with the test app and extra directives."""

    def run(extra: str = "") -> Server:
        return mpmd(wsgi_conf(tmp_path / "app", extra))

    return run


def http_client(server: Server) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(server.host, server.port, timeout=10)


# --------------------------------------------------------------------------
# HTTP versions and keep-alive


def test_http11_connection_stays_open_for_the_next_request(server: Server) -> None:
    conn = http_client(server)
    try:
        for path in ("/first", "/second"):
            conn.request("GET", path)
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.version == 11
            assert resp.read() == f"hello {path}".encode()
            assert not resp.will_close
    finally:
        conn.close()


def test_http11_without_keep_alive_token_gets_no_keep_alive_header(server: Server) -> None:
    # httpd answers Keep-Alive (and Connection: Keep-Alive) only to a client that sent the token
    with RawClient(server) as c:
        reply = c.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert reply.header("Keep-Alive") is None
        assert reply.header("Connection") is None
        assert c.request(b"GET /again HTTP/1.1\r\nHost: t\r\n\r\n").body == b"hello /again"


def test_keep_alive_token_is_answered_with_keep_alive_timeout_and_max(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        assert reply.header("Connection") == "Keep-Alive"
        assert re.fullmatch(r"timeout=2, max=\d+", reply.header("Keep-Alive") or "")


def test_http10_without_keep_alive_is_closed_after_the_response(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(b"GET /old HTTP/1.0\r\n\r\n")
        assert reply.version == "HTTP/1.1"  # httpd answers with its own version
        assert reply.body == b"hello /old"
        assert reply.header("Connection") == "close"
        assert c.peek_closed()


def test_http10_with_keep_alive_stays_open(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert reply.header("Connection") == "Keep-Alive"
        assert (reply.header("Keep-Alive") or "").startswith("timeout=2")
        again = c.request(b"GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert again.body == b"hello /b"


def test_http10_keep_alive_response_without_length_is_closed(server: Server) -> None:
    # HTTP/1.0 has no chunked coding: the close is what ends a body of unknown length
    with RawClient(server) as c:
        reply = c.request(b"GET /stream HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert reply.header("Transfer-Encoding") is None
        assert reply.header("Connection") == "close"
        assert reply.body == b"one,two,three"


def test_http11_response_without_length_is_chunked_and_kept_alive(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(b"GET /stream HTTP/1.1\r\nHost: t\r\n\r\n")
        assert reply.header("Transfer-Encoding") == "chunked"
        assert reply.body == b"one,two,three"
        assert c.request(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n").body == b"hello /next"


def test_connection_close_from_the_client_closes_after_the_response(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert reply.status == 200
        assert reply.header("Connection") == "close"
        assert c.peek_closed()


def test_keep_alive_off_closes_every_connection(start: StartServer) -> None:
    server = start("KeepAlive Off")
    with RawClient(server) as c:
        reply = c.request(b"GET / HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        assert reply.header("Connection") == "close"
        assert reply.header("Keep-Alive") is None
        assert c.peek_closed()


def test_max_keep_alive_requests_counts_reuses_as_httpd(start: StartServer) -> None:
    server = start("MaxKeepAliveRequests 3\nKeepAliveTimeout 7")
    with RawClient(server) as c:
        ka = b"Connection: keep-alive\r\n"
        replies = [
            c.request(b"GET /%d HTTP/1.1\r\nHost: t\r\n%b\r\n" % (n, ka)) for n in (1, 2, 3, 4)
        ]
        # as httpd: the limit counts reuses, so 3 allows a 4th request, which closes
        assert [r.header("Keep-Alive") for r in replies[:3]] == [
            "timeout=7, max=3",
            "timeout=7, max=2",
            "timeout=7, max=1",
        ]
        assert replies[3].header("Connection") == "close"
        assert replies[3].body == b"hello /4"
        assert c.peek_closed()


def test_keep_alive_timeout_closes_an_idle_connection(start: StartServer) -> None:
    server = start("KeepAliveTimeout 1")
    with RawClient(server) as c:
        assert c.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").status == 200
        assert c.peek_closed(timeout=10)


# --------------------------------------------------------------------------
# pipelining


def test_pipelined_requests_are_answered_in_order(server: Server) -> None:
    with RawClient(server) as c:
        c.send(b"".join(b"GET /%d HTTP/1.1\r\nHost: t\r\n\r\n" % n for n in range(5)))
        assert [c.reply().body for _ in range(5)] == [b"hello /%d" % n for n in range(5)]


def test_pipelined_post_between_gets_gets_its_own_body(server: Server) -> None:
    with RawClient(server) as c:
        c.send(
            b"GET /before HTTP/1.1\r\nHost: t\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"
            b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert [c.reply().body for _ in range(3)] == [
            b"hello /before",
            b"hello world",
            b"hello /after",
        ]


def test_pipelined_chunked_post_between_gets_gets_its_own_body(server: Server) -> None:
    with RawClient(server) as c:
        c.send(
            b"GET /before HTTP/1.1\r\nHost: t\r\n\r\n"
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
            b"GET /after HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
        )
        replies = read_replies(c.rest())
        assert [r.body for r in replies] == [b"hello /before", b"hello world", b"hello /after"]


def test_pipelined_request_after_an_unread_body_is_answered(server: Server) -> None:
    with RawClient(server) as c:
        c.send(
            b"POST /ignores-body HTTP/1.1\r\nHost: t\r\nContent-Length: 9\r\n\r\nGET /evil"
            b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert c.reply().body == b"hello /ignores-body"
        assert c.reply().body == b"hello /after"


# --------------------------------------------------------------------------
# request bodies and wsgi.input


def test_content_length_body_is_read_by_the_app(server: Server) -> None:
    conn = http_client(server)
    try:
        conn.request("POST", "/echo", body=b"x" * 100_000)
        resp = conn.getresponse()
        assert resp.read() == b"x" * 100_000
    finally:
        conn.close()


def test_chunked_body_with_extensions_and_trailers_is_decoded(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;name=value\r\nhello\r\n"
            b"1;flag\r\n \r\n"
            b"5\r\nworld\r\n"
            b"0\r\nX-Checksum: abc\r\nX-Other: 1\r\n\r\n"
        )
        assert reply.status == 200
        assert reply.body == b"hello world"
        assert c.request(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n").body == b"hello /next"


def test_chunked_body_sent_in_pieces_is_read_whole(server: Server) -> None:
    with RawClient(server) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b"3\r\nabc\r\n", b"4\r", b"\ndefg\r\n", b"0\r\n", b"\r\n"):
            c.send(piece)
        assert c.reply().body == b"abcdefg"


def test_wsgi_input_iterates_lines_of_a_chunked_body(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(
            b"POST /lines HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\none\n\r\n6\r\ntwo\nth\r\n4\r\nree\n\r\n2\r\nfo\r\n0\r\n\r\n"
        )
        assert json.loads(reply.body) == ["one\n", "two\n", "three\n", "fo"]


def test_wsgi_input_readline_then_read_returns_the_rest(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(
            b"POST /readline HTTP/1.1\r\nHost: t\r\nContent-Length: 17\r\n\r\nline one\nthe rest"
        )
        assert json.loads(reply.body) == ["line one\n", "the rest"]


def test_app_never_reads_past_the_body(server: Server) -> None:
    # read(1 MiB) of a 5-byte body returns the 5 bytes at once, not the pipelined request after it
    with RawClient(server) as c:
        c.send(
            b"POST /read-more-than-sent HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nabcde"
            b"GET /after HTTP/1.1\r\nHost: t\r\n\r\n"
        )
        assert c.reply().body == b"abcde"
        assert c.reply().body == b"hello /after"


def test_unread_small_body_is_drained_and_the_connection_reused(server: Server) -> None:
    with RawClient(server) as c:
        c.send(b"POST /ignores-body HTTP/1.1\r\nHost: t\r\nContent-Length: 20000\r\n\r\n")
        c.send(b"y" * 20000)
        reply = c.reply()
        assert reply.body == b"hello /ignores-body"
        assert reply.header("Connection") is None
        assert c.request(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n").body == b"hello /next"


def test_unread_large_body_is_answered_with_connection_close(server: Server) -> None:
    # more than the server discards to keep a connection: it says so, instead of vanishing later
    size = 3 << 20
    with RawClient(server) as c:
        c.send(b"POST /ignores-body HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n" % size)
        sender = threading.Thread(target=_send_quietly, args=(c, b"z" * size))
        sender.start()
        reply = c.reply()
        sender.join(10)
    assert reply.body == b"hello /ignores-body"
    assert reply.header("Connection") == "close"
    assert still_serving(server)


def _send_quietly(client: RawClient, data: bytes) -> None:
    try:
        client.send(data)
    except OSError:
        pass  # the server may stop reading a body it does not want


def test_unread_chunked_body_is_drained_and_the_connection_reused(server: Server) -> None:
    with RawClient(server) as c:
        c.send(b"POST /ignores-body HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        c.send(b"3\r\nabc\r\n0\r\n\r\n")
        assert c.reply().status == 200
        assert c.request(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n").body == b"hello /next"


# --------------------------------------------------------------------------
# Expect: 100-continue


def test_100_continue_is_sent_when_the_app_reads_the_body(server: Server) -> None:
    with RawClient(server) as c:
        c.send(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"
        )
        interim = c.reply()
        assert (interim.status, interim.raw_head) == (100, b"HTTP/1.1 100 Continue\r\n\r\n")
        reply = c.request(b"body")
        assert (reply.status, reply.body) == (200, b"body")
        assert c.request(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n").body == b"hello /next"


def test_no_100_continue_when_the_app_does_not_read_the_body(server: Server) -> None:
    # The client never sends the body: httpd answers without 100 and closes (no keep-alive)
    with RawClient(server) as c:
        c.send(
            b"POST /ignores-body HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        reply = c.reply()
        assert (reply.status, reply.body) == (200, b"hello /ignores-body")
        assert reply.header("Connection") == "close"
        assert c.peek_closed()
    assert still_serving(server)


def test_100_continue_is_not_sent_after_the_response_has_started(server: Server) -> None:
    # the client gave up waiting and sent the body; a late 100 would land inside the response body
    with RawClient(server) as c:
        c.send(
            b"POST /respond-then-read HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\n"
            b"Expect: 100-continue\r\n\r\n"
        )
        c.file.peek(1)  # the response has begun
        c.send(b"body")
        reply = c.reply()
    assert (reply.status, reply.body) == (200, b"started;body")


def test_100_continue_is_not_sent_when_the_body_came_without_waiting(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(
            b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\nbody"
        )
        assert (reply.status, reply.body) == (200, b"body")


# --------------------------------------------------------------------------
# HEAD, Date, Server


def test_head_has_the_headers_of_get_and_no_body(server: Server) -> None:
    with RawClient(server) as c:
        c.send(b"HEAD /page HTTP/1.1\r\nHost: t\r\n\r\nGET /page HTTP/1.1\r\nHost: t\r\n\r\n")
        head = c.reply("HEAD")
        get = c.reply("GET")  # parses only if HEAD sent no body bytes
        assert head.status == get.status == 200
        assert head.header("Content-Length") == get.header("Content-Length") == "11"
        assert head.header("Content-Type") == get.header("Content-Type")
        assert get.body == b"hello /page"


def test_date_header_is_an_rfc9110_imf_fixdate(server: Server) -> None:
    with RawClient(server) as c:
        date = c.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").header("Date") or ""
    assert re.fullmatch(
        r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT",
        date,
    )
    assert email.utils.parsedate_to_datetime(date).tzinfo is not None


@pytest.mark.parametrize(
    ("tokens", "pattern"),
    [
        ("Prod", r"mpmd"),
        ("Major", r"mpmd/\d+"),
        ("Minor", r"mpmd/\d+\.\d+"),
        ("Minimal", r"mpmd/\d+\.\d+\.\d+"),
        ("OS", r"mpmd/\d+\.\d+\.\d+ \(\w+\)"),
        ("Full", r"mpmd/\d+\.\d+\.\d+ \(\w+\) Python/\d+\.\d+\.\d+\S*"),
    ],
)
def test_server_header_follows_server_tokens(start: StartServer, tokens: str, pattern: str) -> None:
    server = start(f"ServerTokens {tokens}")
    with RawClient(server) as c:
        assert re.fullmatch(
            pattern, c.request(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n").header("Server") or ""
        )


# --------------------------------------------------------------------------
# error pages

# An encoded slash is answered 404 by the core itself (AllowEncodedSlashes Off), whatever serves "/"
NOT_FOUND = b"GET /a%2fb HTTP/1.1\r\nHost: t\r\n\r\n"


def test_not_found_page_looks_like_apaches(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(NOT_FOUND)
    assert reply.status == 404
    assert reply.reason == "Not Found"
    assert reply.header("Content-Type") == "text/html; charset=iso-8859-1"
    assert b"<title>404 Not Found</title>" in reply.body
    assert b"<h1>Not Found</h1>" in reply.body
    assert b"<p>The requested URL was not found on this server.</p>" in reply.body


def test_error_document_with_text_replaces_the_page(start: StartServer) -> None:
    server = start('ErrorDocument 404 "custom text"')
    with RawClient(server) as c:
        reply = c.request(NOT_FOUND)
    assert (reply.status, reply.body) == (404, b"custom text")


def test_error_document_with_a_local_path_is_served_with_the_error_status(
    start: StartServer,
) -> None:
    server = start("ErrorDocument 404 /error-page")
    with RawClient(server) as c:
        reply = c.request(b"GET /a%2fb HTTP/1.1\r\nHost: t\r\nConnection: keep-alive\r\n\r\n")
        assert (reply.status, reply.body) == (404, b"custom page for 404")
        assert reply.header("Connection") == "Keep-Alive"
        assert c.request(b"GET /next HTTP/1.1\r\nHost: t\r\n\r\n").body == b"hello /next"


def test_failing_error_document_falls_back_to_apaches_page(start: StartServer) -> None:
    server = start("ErrorDocument 404 /raise")
    with RawClient(server) as c:
        reply = c.request(NOT_FOUND)
    assert reply.status == 404
    assert b"<title>404 Not Found</title>" in reply.body
    assert b"<p>Additionally, a 500 Internal Server Error\nerror was encountered" in reply.body
    assert "RuntimeError: the app failed on purpose" in server.log_text()
    assert still_serving(server)


def test_error_document_with_a_url_redirects_with_302(start: StartServer) -> None:
    server = start("ErrorDocument 500 http://example.invalid/x")
    with RawClient(server) as c:
        reply = c.request(b"GET /raise HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.status == 302
    assert reply.header("Location") == "http://example.invalid/x"
    assert b'<a href="http://example.invalid/x">' in reply.body


# --------------------------------------------------------------------------
# failing applications


def test_app_exception_is_a_500_with_the_traceback_in_the_error_log(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(b"GET /raise HTTP/1.1\r\nHost: t\r\n\r\n")
        assert reply.status == 500
        assert b"<title>500 Internal Server Error</title>" in reply.body
        assert b"Traceback" not in reply.body
        assert b"failed on purpose" not in reply.body
        assert reply.header("Connection") == "close"
    log = server.log_text()
    assert "Traceback (most recent call last)" in log
    assert "RuntimeError: the app failed on purpose" in log
    assert still_serving(server)


def test_app_exception_after_the_response_started_cuts_the_connection(server: Server) -> None:
    with RawClient(server) as c:
        c.send(b"GET /raise-after-start HTTP/1.1\r\nHost: t\r\n\r\n")
        data = c.rest()
    assert data.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"first chunk" in data
    assert not data.endswith(b"0\r\n\r\n")  # no last-chunk: the client sees a truncated body
    assert "the app failed after the response started" in server.log_text()
    assert still_serving(server)
