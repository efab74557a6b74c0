"""The HTTP/1.1 core against bad input: Apache's limits and statuses, request smuggling
shapes, slow clients, and garbage that must never hurt the server.

Every malformed request is followed by a check that the same process still serves.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.rawhttp import RawClient, Reply, read_replies, still_serving, wsgi_conf
from tests.serverproc import Server, recv_all, run_server

StartServer = Callable[..., Server]

# An error-log line that means the HTTP layer itself failed, not the request
INTERNAL_ERRORS = ("MP00001", "MP00004", "MP00005")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mpm: str | None) -> Iterator[Server]:
    """Apache's default limits, short timeouts, LimitRequestBody 10 under /small."""
    root = tmp_path_factory.mktemp("http_limits")
    extra = "KeepAliveTimeout 2\nTimeout 5\n<Location /small>\nLimitRequestBody 10\n</Location>"
    with run_server(root / "server", wsgi_conf(root / "app", extra), mpm=mpm) as s:
        yield s


@pytest.fixture
def start(mpmd: StartServer, tmp_path: Path) -> StartServer:
    def run(extra: str = "") -> Server:
        return mpmd(wsgi_conf(tmp_path / "app", extra))

    return run


def only_reply(server: Server, data: bytes) -> Reply:
    """Send ``data`` on a fresh connection; the server must answer once and close."""
    replies = read_replies(server.raw(data))
    assert len(replies) == 1, [r.status for r in replies]
    return replies[0]


def assert_sane_error(server: Server, reply: Reply, status: int, log_before: int) -> None:
    """Apache's status and page, no Python internals shown, the connection closed, still serving."""
    assert reply.status == status, reply.body
    assert reply.header("Connection") == "close"
    assert b"Traceback" not in reply.body and b"Error(" not in reply.body
    if reply.header("Content-Type") is not None:
        assert f"<title>{status} ".encode() in reply.body
    assert still_serving(server)
    new_log = server.log_text()[log_before:]
    assert not any(e in new_log for e in INTERNAL_ERRORS), new_log


# --------------------------------------------------------------------------
# limits, with Apache's defaults


def test_request_line_over_the_default_8190_bytes_is_414(server: Server) -> None:
    before = len(server.log_text())
    reply = only_reply(server, b"GET /" + b"a" * 8200 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert_sane_error(server, reply, 414, before)
    assert b"<title>414 Request-URI Too Long</title>" in reply.body


def test_request_line_under_the_default_limit_is_served(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.status == 200


def test_limit_request_line_counts_the_whole_line(start: StartServer) -> None:
    # "GET /<92 a> HTTP/1.1" is 106 bytes: over 100 although the URL alone is not
    server = start("LimitRequestLine 100")
    reply = only_reply(server, b"GET /" + b"a" * 92 + b" HTTP/1.1\r\nHost: t\r\n\r\n")
    assert reply.status == 414
    with RawClient(server) as c:
        assert c.request(b"GET /" + b"a" * 80 + b" HTTP/1.1\r\nHost: t\r\n\r\n").status == 200


def test_header_field_over_the_default_8190_bytes_is_431(server: Server) -> None:
    before = len(server.log_text())
    reply = only_reply(server, b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 8200 + b"\r\n\r\n")
    assert_sane_error(server, reply, 431, before)


def test_header_field_over_limit_request_field_size_is_431(start: StartServer) -> None:
    server = start("LimitRequestFieldSize 100")
    reply = only_reply(server, b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 100 + b"\r\n\r\n")
    assert reply.status == 431
    with RawClient(server) as c:
        ok = c.request(b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"b" * 80 + b"\r\n\r\n")
    assert ok.status == 200


def test_more_than_the_default_100_header_fields_is_431(server: Server) -> None:
    before = len(server.log_text())
    fields = b"".join(b"X-F%d: v\r\n" % n for n in range(100))
    reply = only_reply(server, b"GET / HTTP/1.1\r\nHost: t\r\n" + fields + b"\r\n")
    assert_sane_error(server, reply, 431, before)


def test_more_header_fields_than_limit_request_fields_is_431(start: StartServer) -> None:
    server = start("LimitRequestFields 5")
    five = b"".join(b"X-F%d: v\r\n" % n for n in range(5))  # six with Host
    assert only_reply(server, b"GET / HTTP/1.1\r\nHost: t\r\n" + five + b"\r\n").status == 431
    four = b"".join(b"X-F%d: v\r\n" % n for n in range(4))
    with RawClient(server) as c:
        assert c.request(b"GET / HTTP/1.1\r\nHost: t\r\n" + four + b"\r\n").status == 200


def test_content_length_over_limit_request_body_is_413_before_the_app_runs(server: Server) -> None:
    # Only the head is sent: an app reading the body would wait for it; the 413 comes at once
    before = len(server.log_text())
    with RawClient(server) as c:
        reply = c.request(b"POST /small/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\n")
        assert c.peek_closed()
    assert_sane_error(server, reply, 413, before)
    assert b"<title>413 Request Entity Too Large</title>" in reply.body


def test_content_length_within_limit_request_body_is_served(server: Server) -> None:
    with RawClient(server) as c:
        reply = c.request(
            b"POST /small/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n0123456789"
        )
    assert (reply.status, reply.body) == (200, b"0123456789")


def test_chunked_body_growing_past_limit_request_body_is_413(server: Server) -> None:
    before = len(server.log_text())
    with RawClient(server) as c:
        c.send(b"POST /small/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        c.send(b"8\r\n01234567\r\n")
        time.sleep(0.2)  # the app is reading now; the next chunk crosses the limit
        c.send(b"8\r\n89abcdef\r\n0\r\n\r\n")
        reply = c.reply()
        assert c.peek_closed()
    assert_sane_error(server, reply, 413, before)


def test_chunked_body_past_limit_request_body_in_one_send_is_413(server: Server) -> None:
    before = len(server.log_text())
    reply = only_reply(
        server,
        b"POST /small/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"8\r\n01234567\r\n8\r\n89abcdef\r\n0\r\n\r\n",
    )
    assert_sane_error(server, reply, 413, before)


def test_http2_request_line_is_505(server: Server) -> None:
    before = len(server.log_text())
    reply = only_reply(server, b"GET / HTTP/2.0\r\nHost: t\r\n\r\n")
    assert_sane_error(server, reply, 505, before)


def test_unknown_method_is_501(server: Server) -> None:
    before = len(server.log_text())
    reply = only_reply(server, b"FROB / HTTP/1.1\r\nHost: t\r\n\r\n")
    assert_sane_error(server, reply, 501, before)


def test_unknown_method_page_names_the_method(server: Server) -> None:
    reply = only_reply(server, b"FROB /x HTTP/1.1\r\nHost: t\r\n\r\n")
    assert b"<p>FROB not supported for current URL.<br />" in reply.body


def test_tls_handshake_on_the_plain_port_is_400(server: Server) -> None:
    # bytes that are no method token at all are a bad request, not an unknown method
    before = len(server.log_text())
    reply = only_reply(server, bytes.fromhex("16030100a5010000a10303") + bytes(64))
    assert_sane_error(server, reply, 400, before)


def test_transfer_encoding_other_than_chunked_is_501(server: Server) -> None:
    before = len(server.log_text())
    reply = only_reply(
        server, b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\nxxxx"
    )
    assert_sane_error(server, reply, 501, before)


def test_http11_request_without_host_is_400(server: Server) -> None:
    before = len(server.log_text())
    reply = only_reply(server, b"GET / HTTP/1.1\r\nUser-Agent: t\r\n\r\n")
    assert_sane_error(server, reply, 400, before)


def test_http10_request_without_host_is_served(server: Server) -> None:
    assert only_reply(server, b"GET /old HTTP/1.0\r\n\r\n").status == 200


# --------------------------------------------------------------------------
# request smuggling: each shape is a 400, and whatever was sent after it is never answered

SMUGGLING = {
    "content_length_with_transfer_encoding": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"0\r\n\r\n"
    ),
    "two_different_content_lengths": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nabcdef"
    ),
    "obs_fold_continuation_line": (b"GET / HTTP/1.1\r\nHost: t\r\nX-Folded: one\r\n two\r\n\r\n"),
    "bare_cr_in_a_header_value": b"GET / HTTP/1.1\r\nHost: t\r\nX-Cr: a\rb\r\n\r\n",
    "invalid_chunk_size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
    ),
    "second_host_header": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "content_length_list": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 5\r\n\r\nabcde",
    "content_length_with_a_sign": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nabcde"
    ),
    "chunk_data_longer_than_its_size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabcdef\r\n0\r\n\r\n"
    ),
    "whitespace_before_the_first_header": b"GET / HTTP/1.1\r\n Host: t\r\n\r\n",
    "space_before_the_colon": b"GET / HTTP/1.1\r\nHost: t\r\nContent-Length : 5\r\n\r\nabcde",
}


@pytest.mark.parametrize("shape", list(SMUGGLING))
def test_request_smuggling_shape_is_400_and_the_connection_closed(
    server: Server, shape: str
) -> None:
    before = len(server.log_text())
    smuggled = b"GET /smuggled HTTP/1.1\r\nHost: t\r\n\r\n"
    reply = only_reply(server, SMUGGLING[shape] + smuggled)
    assert_sane_error(server, reply, 400, before)
    assert b"/smuggled" not in reply.body


# --------------------------------------------------------------------------
# slow clients


def test_trickled_request_head_gets_408_and_is_closed(start: StartServer) -> None:
    server = start("LoadModule reqtimeout_module x\nRequestReadTimeout header=1-2,MinRate=500")
    began = time.monotonic()
    with RawClient(server) as c:
        c.send(b"GET / HTTP/1.1\r\nX-Slow: ")
        c.sock.settimeout(0.25)
        answer = b""
        while not answer and time.monotonic() - began < 8:
            try:
                answer = c.sock.recv(65536)  # waits 0.25 s: the pace of the trickle
            except TimeoutError:
                c.send(b"x")  # a byte every 0.25 s, far below MinRate
                continue
            if not answer:
                break  # closed without an answer
        data = answer + c.rest()
    assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n")
    assert read_replies(data)[0].header("Connection") == "close"
    assert time.monotonic() - began < 10
    assert still_serving(server)


def test_head_arriving_at_min_rate_may_outlast_the_initial_header_timeout(
    start: StartServer,
) -> None:
    server = start("LoadModule reqtimeout_module x\nRequestReadTimeout header=1-4,MinRate=500")
    with RawClient(server) as c:
        c.send(b"GET /steady HTTP/1.1\r\nHost: t\r\n")
        for n in range(15):  # 200 bytes every 0.1 s for 1.5 s: four times MinRate
            c.send(b"X-Part-%02d: %s\r\n" % (n, b"p" * 187))
            time.sleep(0.1)
        reply = c.request(b"\r\n")
    assert (reply.status, reply.body) == (200, b"hello /steady")


def test_head_is_cut_at_the_maximum_header_timeout_whatever_the_rate(start: StartServer) -> None:
    server = start("LoadModule reqtimeout_module x\nRequestReadTimeout header=1-2,MinRate=500")
    began = time.monotonic()
    with RawClient(server) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n")
        c.sock.settimeout(0.1)
        answer = b""
        while not answer and time.monotonic() - began < 8:
            try:
                answer = c.sock.recv(65536)
            except TimeoutError:
                c.send(b"X-Fast-%03d: %s\r\n" % (int(time.monotonic() * 10) % 1000, b"f" * 80))
                continue
        data = answer + c.rest()
    assert data.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - began < 10
    assert still_serving(server)


def test_stalled_request_body_gets_408_or_is_closed(start: StartServer) -> None:
    server = start("LoadModule reqtimeout_module x\nRequestReadTimeout body=1")
    began = time.monotonic()
    with RawClient(server) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
        data = c.rest()
    assert data == b"" or data.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - began < 10
    assert still_serving(server)


def test_timeout_bounds_a_stalled_head_without_reqtimeout(start: StartServer) -> None:
    server = start("Timeout 1")
    began = time.monotonic()
    with RawClient(server) as c:
        c.send(b"GET / HTTP/1.1\r\nHost: t\r\n")
        data = c.rest()
    assert data.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - began < 10
    assert still_serving(server)


def test_timeout_bounds_a_stalled_body_without_reqtimeout(start: StartServer) -> None:
    server = start("Timeout 1")
    began = time.monotonic()
    with RawClient(server) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\npartial")
        data = c.rest()
    assert data == b"" or data.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - began < 10
    assert still_serving(server)


def test_timeout_bounds_each_read_so_a_slow_steady_body_is_served(start: StartServer) -> None:
    server = start("Timeout 1")
    with RawClient(server) as c:
        c.send(b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n")
        for piece in b"abcde":  # 2.5 s in all, never 1 s without data
            time.sleep(0.5)
            c.send(bytes([piece]))
        reply = c.reply()
    assert (reply.status, reply.body) == (200, b"abcde")


def test_client_that_never_reads_the_response_is_dropped_after_timeout(start: StartServer) -> None:
    server = start("Timeout 1")
    with RawClient(server) as c:
        c.send(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        began = time.monotonic()
        assert still_serving(server)  # waits until the stuck send gave up
        assert time.monotonic() - began < 10


def test_idle_new_connection_is_closed_without_a_response(start: StartServer) -> None:
    server = start("Timeout 1")
    with RawClient(server) as c:
        assert c.rest() == b""
    assert still_serving(server)


# --------------------------------------------------------------------------
# garbage: never a traceback, never a dead server

GARBAGE = {
    "binary_noise": b"\x00\x01\x02\xff\xfe\r\n\r\n",
    "tls_client_hello": bytes.fromhex("16030100a5010000a10303") + b"\x00" * 64,
    "request_line_only_a_method": b"GET\r\n\r\n",
    "http09_request": b"GET /\r\n\r\n",
    "non_numeric_content_length": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: abc\r\n\r\n",
    "negative_content_length": b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
    "huge_content_length": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999999999\r\n\r\n"
    ),
    "huge_chunk_size": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"fffffffffffffffffffff\r\nabc"
    ),
    "chunked_twice": (
        b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n"
    ),
    "bad_percent_escape": b"GET /%zz HTTP/1.1\r\nHost: t\r\n\r\n",
    "nul_in_path": b"GET /a%00b HTTP/1.1\r\nHost: t\r\n\r\n",
    "dot_dot_above_root": b"GET /../../etc/passwd HTTP/1.1\r\nHost: t\r\n\r\n",
    "non_ascii_header_name": b"GET / HTTP/1.1\r\nHost: t\r\n\x80\x81: x\r\n\r\n",
    "non_ascii_header_value": b"GET / HTTP/1.1\r\nHost: t\r\nX-V: \xe9\xff\r\n\r\n",
    "header_without_colon": b"GET / HTTP/1.1\r\nHost: t\r\nNoColonHere\r\n\r\n",
    "unsupported_expectation": b"GET / HTTP/1.1\r\nHost: t\r\nExpect: teapot\r\n\r\n",
    "absolute_form_target": b"GET http://example.com/abs HTTP/1.1\r\nHost: t\r\n\r\n",
    "bad_absolute_form_target": b"GET http://[::1 HTTP/1.1\r\nHost: t\r\n\r\n",
    "asterisk_target_for_get": b"GET * HTTP/1.1\r\nHost: t\r\n\r\n",
    "connect_method": b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
    "h2c_upgrade": (
        b"GET / HTTP/1.1\r\nHost: t\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n"
        b"HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n"
    ),
    "http2_preface": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "trace_with_body": b"TRACE / HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc",
    "lf_only_line_endings": b"GET /lf HTTP/1.1\nHost: t\n\n",
    "head_then_client_half_close": b"GET / HTTP/1.1\r\nHost: t\r\n",
}


@pytest.mark.parametrize("name", list(GARBAGE))
def test_bad_input_never_shows_a_traceback_and_the_server_goes_on(
    server: Server, name: str
) -> None:
    before = len(server.log_text())
    with server.connect() as s:
        s.sendall(GARBAGE[name])
        s.shutdown(socket.SHUT_WR)  # the client sends nothing more
        data = recv_all(s, 10)
    assert b"Traceback" not in data
    assert b'File "' not in data
    for reply in read_replies(data):
        assert reply.status < 500 or reply.status in (501, 505), reply.raw_head
    assert still_serving(server)
    new_log = server.log_text()[before:]
    assert not any(e in new_log for e in INTERNAL_ERRORS), new_log
