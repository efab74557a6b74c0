"""Name-based virtual hosts over real sockets, on every MPM: the Host a request names picks
the <VirtualHost> that answers it, its DocumentRoot, its Alias and its logs."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rawhttp import read_replies
from tests.serverproc import Server, run_server


def conf(root: Path) -> str:
    for name in ("main", "a", "b", "c"):
        (root / name).mkdir(parents=True, exist_ok=True)
        (root / name / "who.txt").write_text(name)
    return f"""
ServerName main.test
DocumentRoot {root}/main
LogFormat "%v %U" vhost
CustomLog {root}/main_log vhost
<Location /denied>
    Require all denied
</Location>
<VirtualHost *>
    ServerName a.test
    ServerAlias www.a.test *.wild.test
    DocumentRoot {root}/a
    Alias /elsewhere.txt {root}/c/who.txt
    CustomLog {root}/a_log vhost
    ErrorLog {root}/a_error_log
</VirtualHost>
<VirtualHost *>
    ServerName b.test
    DocumentRoot {root}/b
</VirtualHost>
<VirtualHost 192.0.2.1>
    ServerName c.test
    DocumentRoot {root}/c
</VirtualHost>
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, mpm: str | None) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("vhosts")
    with run_server(root / "server", conf(root), mpm=mpm) as server:
        yield server


def body(server: Server, head: bytes) -> bytes:
    (reply,) = read_replies(server.raw(head))
    assert reply.status == 200, reply
    return reply.body


def get(server: Server, host: str, path: str = "/who.txt") -> bytes:
    return body(
        server, f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode()
    )


@pytest.mark.parametrize(
    ("host", "answers"),
    [
        ("a.test", b"a"),
        ("b.test", b"b"),
        ("B.TEST:8080", b"b"),  # case and port do not matter
        ("b.test.", b"b"),  # nor a trailing dot
        ("www.a.test", b"a"),  # a ServerAlias
        ("x.y.wild.test", b"a"),  # a wildcard ServerAlias
        ("unknown.test", b"a"),  # no vhost has the name: the first for the address
        ("main.test", b"a"),  # the main server answers no address a vhost takes
        ("c.test", b"a"),  # c.test is a vhost of another address
        ("127.0.0.1", b"a"),
    ],
)
def test_the_host_a_request_names_picks_the_vhost(site: Server, host: str, answers: bytes) -> None:
    assert get(site, host) == answers


def test_a_request_without_host_gets_the_default_vhost(site: Server) -> None:
    assert body(site, b"GET /who.txt HTTP/1.0\r\n\r\n") == b"a"


def test_an_absolute_target_names_the_host_over_the_host_header(site: Server) -> None:
    head = b"GET http://b.test/who.txt HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    assert body(site, head) == b"b"


def test_each_request_of_a_connection_picks_its_own_vhost(site: Server) -> None:
    heads = b"".join(
        f"GET /who.txt HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()
        for host in ("a.test", "b.test", "www.a.test")
    )
    replies = read_replies(
        site.raw(heads + b"GET /who.txt HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n")
    )
    assert [r.body for r in replies] == [b"a", b"b", b"a", b"b"]


def test_a_vhosts_own_alias_and_document_root(site: Server) -> None:
    assert get(site, "a.test", "/elsewhere.txt") == b"c"
    (reply,) = read_replies(
        site.raw(b"GET /elsewhere.txt HTTP/1.1\r\nHost: b.test\r\nConnection: close\r\n\r\n")
    )
    assert reply.status == 404  # the Alias is a.test's only


def test_a_vhost_logs_to_its_own_access_log_and_one_without_to_the_main_servers(
    site: Server,
) -> None:
    get(site, "www.a.test", "/who.txt?a-log")
    get(site, "b.test", "/who.txt?main-log")
    a_log, main_log = site.root.parent / "a_log", site.root.parent / "main_log"
    wait_for_line(a_log, b"a.test /who.txt")  # %v: the vhost's ServerName
    wait_for_line(main_log, b"b.test /who.txt")
    assert b"b.test" not in read(a_log) and b"a.test" not in read(main_log)


def test_a_vhost_with_an_error_log_of_its_own_logs_its_errors_there(site: Server) -> None:
    for host in ("a.test", "b.test"):
        head = f"GET /denied?{host} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        (reply,) = read_replies(site.raw(head.encode()))
        assert reply.status == 403
    root = site.root.parent
    denied = "AH01630: client denied by server configuration: {}/denied"
    wait_for_line(root / "a_error_log", denied.format(root / "a").encode())
    wait_for_line(site.error_log, denied.format(root / "b").encode())  # the main server's
    assert read(root / "a_error_log").count(b"AH01630") == 1
    assert read(site.error_log).count(b"AH01630") == 1


def wait_for_line(path: Path, text: bytes) -> None:
    deadline = time.monotonic() + 10
    while text not in read(path) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert text in read(path), read(path)


def read(path: Path) -> bytes:
    return path.read_bytes() if path.exists() else b""
