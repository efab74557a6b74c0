"""PEP 3333 conformance of wsgi_module, over real sockets against ``mpmd -X``.

Most tests share one server (module scope) whose mounts are the small apps of
tests/apps/wsgi_apps.py; tests of start-up and mount resolution start their own.
"""

from __future__ import annotations

import http.client
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.integration.wsgi_client import (
    environ,
    log_since,
    raw_exchange,
    read_replies,
    read_to_close,
    request,
    wsgi_conf,
)
from tests.serverproc import Server, run_server

MOUNTS = [
    "WSGIApp / wsgi_apps:environ_app",
    "WSGIApp /app wsgi_apps:environ_app",
    "WSGIApp /v/environ wsgi_apps:validated_environ",
    "WSGIApp /v/echo wsgi_apps:validated_echo",
    "WSGIApp /v/stream wsgi_apps:validated_stream",
    "WSGIApp /v/file wsgi_apps:validated_file_app",
    "WSGIApp /echo wsgi_apps:echo_app",
    "WSGIApp /overread wsgi_apps:overread_app",
    "WSGIApp /single wsgi_apps:single_app",
    "WSGIApp /chunks wsgi_apps:chunks_app",
    "WSGIApp /empty wsgi_apps:empty_app",
    "WSGIApp /generator wsgi_apps:generator_app",
    "WSGIApp /length-generator wsgi_apps:length_generator_app",
    "WSGIApp /write wsgi_apps:write_app",
    "WSGIApp /status wsgi_apps:status_app",
    "WSGIApp /exc-before wsgi_apps:exc_info_before_headers",
    "WSGIApp /exc-after wsgi_apps:exc_info_after_headers",
    "WSGIApp /closing wsgi_apps:closing_app",
    "WSGIApp /file wsgi_apps:file_app",
    "WSGIApp /raise wsgi_apps:raise_before_start",
    "WSGIApp /str-body wsgi_apps:str_body_app",
    "WSGIApp /str-after-bytes wsgi_apps:str_after_bytes_app",
    "WSGIApp /loose-headers wsgi_apps:loose_headers_app",
    "WSGIApp /connection-close wsgi_apps:connection_close_app",
    "WSGIApp /overlong-list wsgi_apps:overlong_list_app",
    "WSGIApp /overlong-generator wsgi_apps:overlong_generator_app",
    "WSGIApp /short-body wsgi_apps:short_body_app",
    "WSGIApp /injected-status wsgi_apps:injected_status_app",
    "WSGIApp /injected-header-name wsgi_apps:injected_header_name_app",
    "WSGIApp /date-server wsgi_apps:date_server_app",
    "WSGIApp /bytesio-file wsgi_apps:bytesio_file_app",
    "WSGIApp /seeked-file wsgi_apps:seeked_file_app",
    "WSGIApp /partial-error-line wsgi_apps:partial_error_line_app",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mpm: str | None) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("wsgi"), wsgi_conf(*MOUNTS), mpm=mpm) as s:
        yield s


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    """A file the apps append side effects to (``?mark=``)."""
    return tmp_path / "marker"


def wait_for_text(path: Path, text: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.02)
    return path.read_text() if path.exists() else ""


def assert_clean_log(server: Server, mark: int) -> None:
    log = log_since(server, mark)
    assert "Traceback" not in log, log
    assert "AssertionError" not in log, log


# -- wsgiref.validate finds nothing to complain about ---------------------------


def test_validator_accepts_get(server: Server) -> None:
    mark = len(server.log_text())
    reply = request(server, "/v/environ/page")
    assert reply.status == 200
    assert reply.json()["PATH_INFO"] == "/page"
    assert_clean_log(server, mark)


def test_validator_accepts_head(server: Server) -> None:
    mark = len(server.log_text())
    reply = request(server, "/v/environ/page", method="HEAD")
    assert reply.status == 200
    assert reply.body == b""
    assert_clean_log(server, mark)


def test_validator_accepts_query_string(server: Server) -> None:
    mark = len(server.log_text())
    reply = request(server, "/v/environ/q?a=1&b=%20x+y&a=2")
    assert reply.status == 200
    assert reply.json()["QUERY_STRING"] == "a=1&b=%20x+y&a=2"
    assert_clean_log(server, mark)


def test_validator_accepts_non_ascii_percent_encoded_path(server: Server) -> None:
    mark = len(server.log_text())
    reply = request(server, "/v/environ/caf%C3%A9/%E2%82%AC")
    assert reply.status == 200
    assert reply.json()["PATH_INFO"] == "/caf\u00c3\u00a9/\u00e2\u0082\u00ac"
    assert_clean_log(server, mark)


def test_validator_accepts_repeated_headers(server: Server) -> None:
    mark = len(server.log_text())
    reply = request(server, "/v/environ/", headers=[("X-Twice", "one"), ("X-Twice", "two")])
    assert reply.status == 200
    assert reply.json()["HTTP_X_TWICE"] == "one, two"
    assert_clean_log(server, mark)


BODY = b"first line\nsecond line\n\nfourth, no newline at the end"


@pytest.mark.parametrize("mode", ["n", "exact", "line", "lines", "iter"])
def test_validator_accepts_post_body_read(server: Server, mode: str) -> None:
    mark = len(server.log_text())
    reply = request(
        server,
        f"/v/echo?mode={mode}",
        method="POST",
        body=BODY,
        headers={"Content-Type": "text/plain"},
    )
    assert reply.status == 200
    assert reply.body == BODY
    assert_clean_log(server, mark)


@pytest.mark.parametrize("mode", ["n", "line", "lines", "iter"])
def test_validator_accepts_chunked_request_body(server: Server, mode: str) -> None:
    mark = len(server.log_text())
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in (BODY[:5], BODY[5:30], BODY[30:]))
    data = (
        f"POST /v/echo?mode={mode} HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + chunked
        + b"0\r\n\r\n"
    )
    replies, _ = raw_exchange(
        server,
        data + b"GET /single HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
        ["POST", "GET"],
    )
    assert replies[0].status == 200
    assert replies[0].body == BODY
    assert replies[1].body == b"hello, world"
    assert_clean_log(server, mark)


def test_validator_accepts_generator_body(server: Server) -> None:
    mark = len(server.log_text())
    reply = request(server, "/v/stream")
    assert (reply.status, reply.body) == (200, b"one two")
    assert_clean_log(server, mark)


def test_validator_accepts_file_wrapper(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(b"file contents\n" * 100)
    mark = len(server.log_text())
    reply = request(server, f"/v/file?path={path}")
    assert (reply.status, reply.body) == (200, path.read_bytes())
    assert_clean_log(server, mark)


# -- wsgi.input ------------------------------------------------------------------


def test_wsgi_input_read_without_size_returns_the_whole_body(server: Server) -> None:
    reply = request(server, "/echo?mode=all", method="POST", body=BODY)
    assert reply.body == BODY


def test_wsgi_input_read_without_size_returns_a_whole_chunked_body(server: Server) -> None:
    data = (
        b"POST /echo?mode=all HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
        b"Connection: close\r\n\r\n5\r\nhello\r\n7\r\n, world\r\n0\r\n\r\n"
    )
    (reply,), _ = raw_exchange(server, data, ["POST"])
    assert reply.body == b"hello, world"


def test_wsgi_input_reads_a_large_body_exactly(server: Server) -> None:
    body = bytes(range(256)) * 8192  # 2 MiB, many recv()s
    reply = request(server, "/echo?mode=all", method="POST", body=body)
    assert reply.body == body


def test_pipelined_post_and_get_are_both_answered(server: Server) -> None:
    data = (
        b"POST /echo?mode=exact HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\n\r\nhello world"
        b"GET /single HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    replies, _ = raw_exchange(server, data, ["POST", "GET"])
    assert [(r.status, r.body) for r in replies] == [(200, b"hello world"), (200, b"hello, world")]


def test_reading_past_the_body_gets_empty_bytes_not_the_next_request(server: Server) -> None:
    data = (
        b"POST /overread HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /single HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    replies, _ = raw_exchange(server, data, ["POST", "GET"])
    assert replies[0].json() == ["hello", "", ""]
    assert (replies[1].status, replies[1].body) == (200, b"hello, world")


def test_reading_past_a_chunked_body_gets_empty_bytes(server: Server) -> None:
    data = (
        b"POST /overread HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n0\r\n\r\n"
        b"GET /single HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    replies, _ = raw_exchange(server, data, ["POST", "GET"])
    assert replies[0].json() == ["hello", "", ""]
    assert replies[1].body == b"hello, world"


def test_wsgi_input_sends_100_continue_when_the_app_reads(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            b"POST /echo?mode=all HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
            b"Expect: 100-continue\r\nConnection: close\r\n\r\n"
        )
        assert sock.recv(1024) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(b"hello")
        (reply,) = read_replies(sock, ["POST"])
    assert (reply.status, reply.body) == (200, b"hello")


def test_wsgi_input_is_empty_without_a_body(server: Server) -> None:
    reply = request(server, "/echo?mode=all")
    assert (reply.status, reply.body) == (200, b"")


# -- environ ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def mount_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Server]]:
    """One server per way of writing a mount: ``/``, ``/app``, ``/app/``."""
    with ExitStack() as stack:
        yield {
            mount: stack.enter_context(
                run_server(
                    tmp_path_factory.mktemp("mount"),
                    wsgi_conf(f"WSGIApp {mount} wsgi_apps:environ_app"),
                )
            )
            for mount in ("/", "/app", "/app/")
        }


@pytest.mark.parametrize(
    ("mount", "path", "script_name", "path_info"),
    [
        ("/", "/", "", "/"),
        ("/", "/app", "", "/app"),
        ("/", "/app/", "", "/app/"),
        ("/", "/app/x/y", "", "/app/x/y"),
        ("/", "/apple", "", "/apple"),
        ("/app", "/app", "/app", ""),
        ("/app", "/app/", "/app", "/"),
        ("/app", "/app/x/y", "/app", "/x/y"),
        ("/app/", "/app", "/app", ""),
        ("/app/", "/app/", "/app", "/"),
        ("/app/", "/app/x/y", "/app", "/x/y"),
    ],
)
def test_script_name_and_path_info_split_at_the_mount(
    mount_servers: dict[str, Server], mount: str, path: str, script_name: str, path_info: str
) -> None:
    env = environ(mount_servers[mount], path)
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == (script_name, path_info)


@pytest.mark.parametrize("mount", ["/app", "/app/"])
def test_mount_does_not_match_a_longer_segment(
    mount_servers: dict[str, Server], mount: str
) -> None:
    assert request(mount_servers[mount], "/apple").status == 404


def test_a_longer_segment_falls_through_to_the_root_mount(server: Server) -> None:
    env = environ(server, "/apple")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("", "/apple")


def test_path_info_is_percent_decoded(server: Server) -> None:
    env = environ(server, "/app/a%20b")
    assert (env["SCRIPT_NAME"], env["PATH_INFO"]) == ("/app", "/a b")


def test_path_info_carries_utf8_bytes_as_latin1_code_points(server: Server) -> None:
    env = environ(server, "/app/caf%C3%A9")
    assert env["PATH_INFO"] == "/caf\u00c3\u00a9"
    assert env["PATH_INFO"].encode("latin-1").decode("utf-8") == "/café"
    assert env["REQUEST_URI"] == "/app/caf%C3%A9"


def test_query_string_is_passed_raw(server: Server) -> None:
    env = environ(server, "/app/x?a=%20b&c=d+e&&f")
    assert env["QUERY_STRING"] == "a=%20b&c=d+e&&f"


def test_query_string_is_empty_when_absent(server: Server) -> None:
    assert environ(server, "/app/x")["QUERY_STRING"] == ""


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_request_method(server: Server, method: str) -> None:
    assert environ(server, "/app/x", method=method)["REQUEST_METHOD"] == method


def test_server_name_and_port_are_the_servers(server: Server) -> None:
    env = environ(server, "/app/x")
    assert env["SERVER_NAME"] == "127.0.0.1"
    assert env["SERVER_PORT"] == str(server.port)


def test_server_name_and_port_come_from_the_host_header(server: Server) -> None:
    # httpd's default UseCanonicalName Off: the name and port the client asked for
    env = environ(server, "/app/x", headers={"Host": "www.example.com:8443"})
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("www.example.com", "8443")
    # no port in Host: ServerName's, else 80, whatever port the connection came to (httpd's
    # UseCanonicalPhysicalPort Off; gunicorn also says 80)
    env = environ(server, "/app/x", headers={"Host": "[::1]"})
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("[::1]", "80")
    env = environ(server, "/app/x", headers={"Host": "WWW.Example.com."})
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("www.example.com", "80")


@pytest.fixture(scope="module")
def canonical(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """UseCanonicalName On for the server, DNS under /dns, Off and the physical port under
    /physical; ServerName without a port."""
    body = wsgi_conf(
        "WSGIApp / wsgi_apps:environ_app",
        "ServerName canonical.example",
        "UseCanonicalName On",
        "<Location /dns>",
        "UseCanonicalName DNS",
        "</Location>",
        "<Location /physical>",
        "UseCanonicalName Off",
        "UseCanonicalPhysicalPort On",
        "</Location>",
    )
    with run_server(tmp_path_factory.mktemp("canonical"), body) as s:
        yield s


def test_use_canonical_name_on_names_the_server_by_its_server_name(canonical: Server) -> None:
    env = environ(canonical, "/x", headers={"Host": "other.example:8443"})
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("canonical.example", "80")
    assert env["HTTP_HOST"] == "other.example:8443"  # the client's field is left as sent


def test_use_canonical_name_dns_names_the_server_by_its_address(canonical: Server) -> None:
    local = socket.getnameinfo(("127.0.0.1", 0), 0)[0].lower()
    env = environ(canonical, "/dns/x", headers={"Host": "other.example:8443"})
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == (local, "8443")


def test_use_canonical_physical_port_puts_the_connections_port_first(canonical: Server) -> None:
    env = environ(canonical, "/physical/x", headers={"Host": "other.example"})
    assert (env["SERVER_NAME"], env["SERVER_PORT"]) == ("other.example", str(canonical.port))
    env = environ(canonical, "/physical/x", headers={"Host": "other.example:8443"})
    assert env["SERVER_PORT"] == "8443"  # a port the client gave still comes first


def test_a_list_of_several_chunks_goes_out_with_its_exact_length(server: Server) -> None:
    reply = request(server, "/chunks")
    assert reply.body == b"one two three"
    assert reply.headers["Content-Length"] == "13"
    assert "Transfer-Encoding" not in reply.headers


def test_server_protocol_is_the_requests_version(server: Server) -> None:
    assert environ(server, "/app/x")["SERVER_PROTOCOL"] == "HTTP/1.1"
    (reply,), _ = raw_exchange(server, b"GET /app/x HTTP/1.0\r\n\r\n", ["GET"])
    assert reply.json()["SERVER_PROTOCOL"] == "HTTP/1.0"


def test_remote_addr_and_port_are_the_clients(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /app/x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        (reply,) = read_replies(sock, ["GET"])
        host, port = sock.getsockname()[:2]
    env = reply.json()
    assert (env["REMOTE_ADDR"], env["REMOTE_PORT"]) == (host, str(port))


def test_content_type_and_length_are_absent_when_not_sent(server: Server) -> None:
    env = environ(server, "/app/x")
    for key in ("CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_TYPE", "HTTP_CONTENT_LENGTH"):
        assert key not in env


def test_content_type_and_length_are_cgi_keys_when_sent(server: Server) -> None:
    env = environ(server, "/app/x", method="POST", body=b"a=1", headers={"Content-Type": "text/x"})
    assert (env["CONTENT_TYPE"], env["CONTENT_LENGTH"]) == ("text/x", "3")
    assert "HTTP_CONTENT_TYPE" not in env
    assert "HTTP_CONTENT_LENGTH" not in env


def test_request_headers_become_http_keys(server: Server) -> None:
    env = environ(server, "/app/x", headers={"X-Custom-Thing": "v a l", "Accept": "*/*"})
    assert env["HTTP_X_CUSTOM_THING"] == "v a l"
    assert env["HTTP_ACCEPT"] == "*/*"
    assert env["HTTP_HOST"] == f"127.0.0.1:{server.port}"


def test_repeated_request_headers_are_joined(server: Server) -> None:
    env = environ(server, "/app/x", headers=[("X-Multi", "a"), ("X-Multi", "b"), ("X-Multi", "c")])
    assert env["HTTP_X_MULTI"] == "a, b, c"


def test_header_values_are_latin1_strings(server: Server) -> None:
    data = (
        b"GET /app/x HTTP/1.1\r\nHost: t\r\nX-Name: caf\xc3\xa9 \xff\r\nConnection: close\r\n\r\n"
    )
    (reply,), _ = raw_exchange(server, data, ["GET"])
    assert reply.json()["HTTP_X_NAME"] == "caf\u00c3\u00a9 \u00ff"


def test_headers_with_underscores_are_dropped(server: Server) -> None:
    env = environ(
        server, "/app/x", headers=[("X_Forwarded_For", "spoofed"), ("X-Forwarded-For", "10.0.0.1")]
    )
    assert env["HTTP_X_FORWARDED_FOR"] == "10.0.0.1"


def test_wsgi_version_and_url_scheme(server: Server) -> None:
    env = environ(server, "/app/x")
    assert env["wsgi.version"] == [1, 0]
    assert env["wsgi.url_scheme"] == "http"


# (wsgi.multithread, wsgi.multiprocess) as mod_wsgi sets them for each MPM
CONCURRENCY = {
    None: (False, False),
    "prefork": (False, True),
    "worker": (True, True),
    "event": (True, True),
    "winnt": (True, False),
}


def test_multithread_and_multiprocess_say_how_the_mpm_runs_the_app(
    server: Server, mpm: str | None
) -> None:
    env = environ(server, "/app/x")
    assert (env["wsgi.multithread"], env["wsgi.multiprocess"]) == CONCURRENCY[mpm]
    assert env["wsgi.run_once"] is False


def test_wsgi_errors_lines_land_in_the_error_log(server: Server) -> None:
    mark = len(server.log_text())
    environ(server, "/app/x?log=first+line|second+line")
    log = log_since(server, mark)
    lines = [line for line in log.splitlines() if "[wsgi:error]" in line]
    assert len(lines) == 2
    assert lines[0].endswith("first line")
    assert lines[1].endswith("second line")


def test_wsgi_errors_text_without_a_newline_is_logged_at_the_end(server: Server) -> None:
    mark = len(server.log_text())
    assert request(server, "/partial-error-line").body == b"ok"
    assert "[wsgi:error]" in log_since(server, mark)
    assert "a line without its newline" in log_since(server, mark)


# -- which application serves a URL ------------------------------------------------


def test_the_longest_mount_wins(mpmd: Callable[..., Server]) -> None:
    srv = mpmd(wsgi_conf("WSGIApp / wsgi_apps:hello_a", "WSGIApp /hello wsgi_apps:hello_b"))
    assert request(srv, "/hello/x").body == b"b"
    assert request(srv, "/hello").body == b"b"
    assert request(srv, "/other").body == b"a"
    assert request(srv, "/helloworld").body == b"a"


def test_script_alias_serves_the_files_application(
    mpmd: Callable[..., Server], tmp_path: Path
) -> None:
    script = tmp_path / "site.wsgi"
    script.write_text(
        "def application(environ, start_response):\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [(environ['SCRIPT_NAME'] + '|' + environ['PATH_INFO'] + '|'"
        " + environ['SCRIPT_FILENAME']).encode()]\n"
    )
    srv = mpmd(wsgi_conf(f"WSGIScriptAlias /script {script}"))
    reply = request(srv, "/script/x/y")
    assert (reply.status, reply.body) == (200, f"/script|/x/y|{script}".encode())


def test_script_without_application_answers_500_and_logs_why(
    mpmd: Callable[..., Server], tmp_path: Path
) -> None:
    script = tmp_path / "broken.wsgi"
    script.write_text("app = None\n")
    srv = mpmd(wsgi_conf(f"WSGIScriptAlias /broken {script}", "WSGIApp /ok wsgi_apps:hello_a"))
    assert request(srv, "/broken").status == 500
    assert request(srv, "/ok").body == b"a"
    log = srv.log_text()
    assert f"Target WSGI script '{script}' does not contain WSGI application 'application'" in log
    assert "MP00011" in log


def test_import_error_in_wsgi_app_answers_500_and_other_mounts_work(
    mpmd: Callable[..., Server], tmp_path: Path
) -> None:
    (tmp_path / "broken_import.py").write_text("import no_such_module_anywhere\n")
    srv = mpmd(
        wsgi_conf(
            f"WSGIPythonPath {tmp_path}",
            "WSGIApp /broken broken_import:application",
            "WSGIApp /missing wsgi_apps:no_such_callable",
            "WSGIApp /ok wsgi_apps:hello_b",
        )
    )
    assert request(srv, "/broken/x").status == 500
    assert request(srv, "/missing").status == 500
    assert request(srv, "/ok").body == b"b"
    log = srv.log_text()
    assert "MP00010: Failed to load WSGI application broken_import:application" in log
    assert "No module named 'no_such_module_anywhere'" in log
    assert "MP00011: Failed to load WSGI application wsgi_apps:no_such_callable" in log


# -- responses ----------------------------------------------------------------------


def test_write_callable_and_returned_iterable_are_sent_in_order(server: Server) -> None:
    reply = request(server, "/write")
    assert reply.body == b"written 1, written 2, returned 1, returned 2"


def test_generator_body_is_chunked_on_http11(server: Server) -> None:
    data = b"GET /generator?n=3 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    raw, closed = read_to_close(server, data)
    assert closed
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert b"Content-Length" not in head
    assert body == b"8\r\nchunk 0\n\r\n8\r\nchunk 1\n\r\n8\r\nchunk 2\n\r\n0\r\n\r\n"


def test_generator_body_is_close_delimited_on_http10(server: Server) -> None:
    raw, closed = read_to_close(
        server, b"GET /generator?n=3 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
    )
    assert closed
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"Transfer-Encoding" not in head
    assert b"Content-Length" not in head
    assert b"\r\nConnection: close" in head
    assert body == b"chunk 0\nchunk 1\nchunk 2\n"


def test_one_item_list_gets_an_exact_content_length(server: Server) -> None:
    reply = request(server, "/single")
    assert reply.header("Content-Length") == "12"
    assert reply.header("Transfer-Encoding") is None
    assert reply.body == b"hello, world"


def test_content_length_set_by_the_app_is_kept_for_a_generator(server: Server) -> None:
    reply = request(server, "/length-generator")
    assert reply.header("Content-Length") == "10"
    assert reply.header("Transfer-Encoding") is None
    assert reply.body == b"0123456789"
    assert not reply.will_close


@pytest.mark.parametrize("path", ["/overlong-list", "/overlong-generator"])
def test_no_more_than_the_apps_content_length_is_sent(server: Server, path: str) -> None:
    data = (
        f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /single HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    ).encode()
    replies, _ = raw_exchange(server, data, ["GET", "GET"])
    assert replies[0].header("Content-Length") == "5"
    assert [r.body for r in replies] == [b"hello", b"hello, world"]


def test_a_body_shorter_than_its_content_length_ends_the_connection(server: Server) -> None:
    raw, closed = read_to_close(
        server, b"GET /short-body HTTP/1.1\r\nHost: t\r\n\r\n"
    )  # keep-alive asked
    assert closed
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\r\nContent-Length: 10" in head
    assert body == b"hello"  # and then the close, not a wait for 5 bytes that never come


def test_empty_body_has_content_length_zero(server: Server) -> None:
    reply = request(server, "/empty")
    assert (reply.status, reply.header("Content-Length"), reply.body) == (200, "0", b"")


@pytest.mark.parametrize("code", [204, 304])
def test_no_body_is_sent_for_204_and_304(server: Server, code: int) -> None:
    data = (
        f"GET /status?code={code} HTTP/1.1\r\nHost: t\r\n\r\n"
        "GET /single HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    ).encode()
    raw, closed = read_to_close(server, data)
    assert closed
    first, _, rest = raw.partition(b"\r\n\r\n")
    assert first.startswith(f"HTTP/1.1 {code} ".encode())
    assert b"Content-Length" not in first
    assert b"Transfer-Encoding" not in first
    assert rest.startswith(b"HTTP/1.1 200 OK\r\n")  # not a byte of body in between


def test_head_gets_the_headers_and_no_body(server: Server) -> None:
    data = (
        b"HEAD /single HTTP/1.1\r\nHost: t\r\n\r\n"
        b"HEAD /generator HTTP/1.1\r\nHost: t\r\n\r\n"
        b"GET /single HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    replies, _ = raw_exchange(server, data, ["HEAD", "HEAD", "GET"])
    assert replies[0].header("Content-Length") == "12"
    assert [r.body for r in replies] == [b"", b"", b"hello, world"]


def test_exc_info_before_headers_are_sent_replaces_the_status(server: Server) -> None:
    reply = request(server, "/exc-before")
    assert (reply.status, reply.reason) == (503, "App Trouble")
    assert reply.header("X-Replaced") == "yes"
    assert reply.body == b"replaced"


def test_exc_info_after_headers_are_sent_reraises_and_closes(server: Server) -> None:
    mark = len(server.log_text())
    raw, closed = read_to_close(
        server, b"GET /exc-after HTTP/1.1\r\nHost: t\r\n\r\n"
    )  # keep-alive asked
    assert closed
    assert raw.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"first part " in raw
    assert b"never sent" not in raw
    assert not raw.endswith(b"0\r\n\r\n")  # no chunked terminator: the client sees it broke
    assert "too late to change the status" in log_since(server, mark)
    assert request(server, "/single").status == 200


def test_close_is_called_after_a_complete_body(server: Server, marker: Path) -> None:
    reply = request(server, f"/closing?chunks=3&size=4&mark={marker}")
    assert reply.body == b"x" * 12
    assert wait_for_text(marker, "closed") == "closed\n"


def test_close_is_called_when_the_client_disconnects_mid_body(server: Server, marker: Path) -> None:
    with server.connect() as sock:
        sock.sendall(
            f"GET /closing?chunks=100000&size=65536&mark={marker} HTTP/1.1\r\nHost: t\r\n\r\n".encode()
        )
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 OK")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    assert wait_for_text(marker, "closed") == "closed\n"
    assert request(server, "/single").status == 200


def test_close_is_called_when_the_body_raises(server: Server, marker: Path) -> None:
    mark = len(server.log_text())
    raw, closed = read_to_close(
        server,
        f"GET /closing?chunks=5&size=3&fail_at=2&mark={marker} HTTP/1.1\r\nHost: t\r\n\r\n".encode(),
    )
    assert closed
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert wait_for_text(marker, "closed") == "closed\n"
    assert "the body failed half-way" in log_since(server, mark)


@pytest.mark.parametrize("announce_length", [False, True], ids=["no-length", "content-length"])
def test_file_wrapper_sends_a_real_file_with_sendfile(
    server: Server, tmp_path: Path, marker: Path, announce_length: bool
) -> None:
    path = tmp_path / "big.bin"
    content = bytes(range(256)) * 4096  # 1 MiB
    path.write_bytes(content)
    query = f"path={path}&mark={marker}" + ("&length=1" if announce_length else "")
    reply = request(server, f"/file?{query}")
    assert reply.status == 200
    assert reply.header("Content-Length") == str(len(content))
    assert reply.body == content
    assert wait_for_text(marker, "closed") == "closed\n"  # closed, and never read()


def test_file_wrapper_without_a_descriptor_is_iterated(server: Server) -> None:
    reply = request(server, "/bytesio-file")
    assert (reply.status, reply.body) == (200, b"0123456789" * 1000)


def test_file_wrapper_sends_from_the_files_position(server: Server, tmp_path: Path) -> None:
    path = tmp_path / "f.bin"
    content = bytes(range(256)) * 512
    path.write_bytes(content)
    reply = request(server, f"/seeked-file?path={path}&seek=1000")
    assert reply.header("Content-Length") == str(len(content) - 1000)
    assert reply.body == content[1000:]


def test_exception_before_start_response_is_a_500_and_a_traceback(server: Server) -> None:
    mark = len(server.log_text())
    reply = request(server, "/raise")
    assert reply.status == 500
    assert b"Internal Server Error" in reply.body
    log = log_since(server, mark)
    assert "Traceback" in log
    assert "the app broke before start_response" in log
    assert request(server, "/single").status == 200


def test_str_body_is_a_500_and_the_server_lives(server: Server) -> None:
    mark = len(server.log_text())
    assert request(server, "/str-body").status == 500
    assert "TypeError" in log_since(server, mark)
    assert request(server, "/single").status == 200


def test_str_after_bytes_cuts_the_response_and_the_server_lives(server: Server) -> None:
    raw, closed = read_to_close(server, b"GET /str-after-bytes HTTP/1.1\r\nHost: t\r\n\r\n")
    assert closed
    assert raw.startswith(b"HTTP/1.1 200 OK")
    assert b"bytes first, " in raw
    assert not raw.endswith(b"0\r\n\r\n")
    assert request(server, "/single").status == 200


def test_headers_given_as_a_generator_of_lists_are_sent(server: Server) -> None:
    reply = request(server, "/loose-headers")
    assert reply.status == 200
    assert reply.headers["X-Loose"] == "yes"
    assert reply.headers["Content-Length"] == "5"
    assert reply.body == b"loose"


def test_connection_close_from_the_app_closes_the_connection(server: Server) -> None:
    data = (
        b"GET /connection-close HTTP/1.1\r\nHost: t\r\n\r\nGET /single HTTP/1.1\r\nHost: t\r\n\r\n"
    )
    replies, rest = raw_exchange(server, data, ["GET"])
    assert replies[0].body == b"bye"
    assert replies[0].header("Connection") == "close"
    assert rest == b""  # closed: the pipelined second request was not answered


@pytest.mark.parametrize("path", ["/injected-status", "/injected-header-name"])
def test_cr_or_lf_in_status_or_header_name_is_a_500(server: Server, path: str) -> None:
    mark = len(server.log_text())
    raw, closed = read_to_close(server, f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    assert closed
    assert raw.startswith(b"HTTP/1.1 500 ")
    assert b"Injected" not in raw
    assert b"must not be sent" not in raw
    assert "ValueError" in log_since(server, mark)


def test_app_date_and_server_headers_do_not_duplicate_the_servers(server: Server) -> None:
    raw, _ = read_to_close(
        server, b"GET /date-server HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    head = raw.partition(b"\r\n\r\n")[0].lower()
    assert head.count(b"\r\ndate: ") == 1
    assert head.count(b"\r\nserver: ") == 1
    assert b"1970" not in head


def test_keep_alive_connection_serves_many_wsgi_requests(server: Server) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        bodies = []
        for path in ("/single", "/generator?n=1", "/write", "/empty", "/single"):
            conn.request("GET", path)
            bodies.append(conn.getresponse().read())
    finally:
        conn.close()
    assert bodies == [
        b"hello, world",
        b"chunk 0\n",
        b"written 1, written 2, returned 1, returned 2",
        b"",
        b"hello, world",
    ]
