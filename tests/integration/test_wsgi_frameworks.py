"""Real Flask and Django applications under wsgi_module, at the root and under a sub-path."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.wsgi_client import read_to_close, request, wsgi_conf
from tests.serverproc import Server, run_server

pytest.importorskip("flask")
pytest.importorskip("django")

# Flask twice (at the root and under /flask) shows url_for honours SCRIPT_NAME.
MOUNTS = [
    "WSGIApp / flask_demo:app",
    "WSGIApp /flask flask_demo:app",
    "WSGIApp /dj django_demo:application",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, mpm: str | None) -> Iterator[Server]:
    with run_server(tmp_path_factory.mktemp("frameworks"), wsgi_conf(*MOUNTS), mpm=mpm) as s:
        yield s


@pytest.fixture(params=["", "/flask"], ids=["root", "sub-path"])
def prefix(request: pytest.FixtureRequest) -> str:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("files") / "big.bin"
    path.write_bytes(os.urandom(1 << 20))
    return path


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[str, bytes]:
    boundary = "mpmd-test-boundary-7d1f"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    for name, (filename, content) in files.items():
        parts.append(
            f"--{boundary}\r\nContent-Disposition: form-data; "
            f'name="{name}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n".encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return f"multipart/form-data; boundary={boundary}", b"".join(parts)


# -- Flask ----------------------------------------------------------------------------


def test_flask_index(server: Server, prefix: str) -> None:
    reply = request(server, prefix + "/")
    assert (reply.status, reply.body) == (200, b"flask index")


def test_flask_route_variables_and_url_for_include_the_script_name(
    server: Server, prefix: str
) -> None:
    reply = request(server, prefix + "/user/ann%C3%A9e")
    assert reply.status == 200
    assert reply.json() == {
        "name": "année",
        "url": prefix + "/user/ann%C3%A9e",
        "script_root": prefix,
    }
    assert request(server, prefix + "/item/42").json() == {"id": 42, "type": "int"}


def test_flask_json_post(server: Server, prefix: str) -> None:
    payload = {"b": [1, 2, 3], "a": "ü", "nested": {"x": None}}
    reply = request(
        server,
        prefix + "/json",
        method="POST",
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 200
    assert reply.json() == {"received": payload, "keys": ["a", "b", "nested"]}


def test_flask_form_post_with_file_upload(server: Server, prefix: str, big_file: Path) -> None:
    content = big_file.read_bytes()
    content_type, body = multipart({"title": "a report"}, {"file": ("report.bin", content)})
    reply = request(
        server, prefix + "/upload", method="POST", body=body, headers={"Content-Type": content_type}
    )
    assert reply.status == 200
    assert reply.json() == {
        "field": "a report",
        "filename": "report.bin",
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
    }


def test_flask_redirect_points_under_the_script_name(server: Server, prefix: str) -> None:
    reply = request(server, prefix + "/go")
    assert reply.status == 302
    assert reply.header("Location") == prefix + "/user/redirected"


def test_flask_unknown_url_is_404(server: Server, prefix: str) -> None:
    assert request(server, prefix + "/no/such/page").status == 404
    assert request(server, prefix + "/missing").status == 404


def test_flask_send_file(server: Server, prefix: str, big_file: Path) -> None:
    reply = request(server, f"{prefix}/file?path={big_file}")
    assert reply.status == 200
    assert reply.header("Content-Length") == str(big_file.stat().st_size)
    assert reply.body == big_file.read_bytes()


def test_flask_send_file_head_has_length_and_no_body(
    server: Server, prefix: str, big_file: Path
) -> None:
    reply = request(server, f"{prefix}/file?path={big_file}", method="HEAD")
    assert reply.status == 200
    assert reply.header("Content-Length") == str(big_file.stat().st_size)
    assert reply.body == b""


def test_flask_streaming_response_is_chunked(server: Server, prefix: str) -> None:
    data = f"GET {prefix}/stream?n=3 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    raw, closed = read_to_close(server, data.encode())
    assert closed
    head, _, body = raw.partition(b"\r\n\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    lines = [f"part {i} of /stream\n".encode() for i in range(3)]
    assert body == b"".join(b"%x\r\n%s\r\n" % (len(x), x) for x in lines) + b"0\r\n\r\n"


def test_flask_serves_many_requests_on_one_connection(server: Server, prefix: str) -> None:
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        statuses = []
        for path in ("/", "/user/x", "/no/such/page", "/stream?n=2", "/go", "/"):
            conn.request("GET", prefix + path)
            resp = conn.getresponse()
            resp.read()
            statuses.append(resp.status)
    finally:
        conn.close()
    assert statuses == [200, 200, 404, 200, 302, 200]


# -- Django ---------------------------------------------------------------------------


def test_django_view_returns_an_http_response(server: Server) -> None:
    reply = request(server, "/dj/hello/")
    assert reply.status == 200
    assert reply.body == b"hello from django at /dj/hello/ (script /dj)"


def test_django_reads_request_post(server: Server) -> None:
    reply = request(
        server,
        "/dj/form/",
        method="POST",
        body=b"name=Zo%C3%AB+Q&tag=a&tag=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert (reply.status, reply.body.decode()) == (200, "Zoë Q|a,b")


def test_django_json_response_reverses_under_the_script_name(server: Server) -> None:
    reply = request(
        server,
        "/dj/data/",
        method="POST",
        body=b'{"k": [1, 2]}',
        headers={"Content-Type": "application/json"},
    )
    assert reply.status == 200
    assert reply.header("Content-Type") == "application/json"
    assert reply.json() == {
        "method": "POST",
        "body": {"k": [1, 2]},
        "url": "/dj/data/",
        "host": f"127.0.0.1:{server.port}",
    }


def test_django_streaming_response_is_chunked(server: Server) -> None:
    data = b"GET /dj/stream/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    raw, closed = read_to_close(server, data)
    assert closed
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nTransfer-Encoding: chunked" in head
    assert body == b"6\r\nrow 0\n\r\n6\r\nrow 1\n\r\n6\r\nrow 2\n\r\n0\r\n\r\n"


def test_django_file_response(server: Server, big_file: Path) -> None:
    reply = request(server, f"/dj/file/?path={big_file}")
    assert reply.status == 200
    assert reply.body == big_file.read_bytes()


def test_django_unknown_url_is_404(server: Server) -> None:
    reply = request(server, "/dj/nope/")
    assert reply.status == 404
    assert b"Not Found" in reply.body


def test_django_rejects_a_host_not_in_allowed_hosts(server: Server) -> None:
    # the view calls request.get_host(), which checks ALLOWED_HOSTS against HTTP_HOST
    assert request(server, "/dj/data/", headers={"Host": "evil.example"}).status == 400
    assert request(server, "/dj/data/", headers={"Host": "localhost"}).status == 200
