"""What the status and metrics tests share: a server configuration, and one request per connection.

``fetch`` sends a request with ``Connection: close`` from a chosen local
address and reads until the server closes. The server closes after the
request's scoreboard counts are written (``Site.handle`` ends before the
connection is closed), so once ``fetch`` returns, the request is counted:
the tests can expect exact numbers.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from tests.serverproc import Server, recv_all

APPS = Path(__file__).resolve().parent / "apps"


def status_conf(root: Path, mpm: str = "prefork", require: str = "Require ip 127.0.0.1") -> str:
    """A server with ``mpm``, a WSGI app at /app (answers its pid), files, status and metrics."""
    htdocs = root / "htdocs"
    htdocs.mkdir(parents=True, exist_ok=True)
    (htdocs / "hello.txt").write_text("hello, world\n")
    numbers = {
        "prefork": "StartServers 3\nMinSpareServers 3\nMaxSpareServers 8\nMaxRequestWorkers 10",
        "worker": "StartServers 2\nThreadsPerChild 4\nMinSpareThreads 4\nMaxSpareThreads 16\n"
        "MaxRequestWorkers 16",
        "event": "StartServers 2\nThreadsPerChild 4\nMinSpareThreads 4\nMaxSpareThreads 16\n"
        "MaxRequestWorkers 16",
    }[mpm]
    return f"""
LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so
LoadModule wsgi_module modules/mod_wsgi.so
LoadModule status_module modules/mod_status.so
LoadModule metrics_module modules/mod_metrics.so
{numbers}
PidFile {root / "mpmd.pid"}
ScoreBoardFile {root / "scoreboard"}
KeepAliveTimeout 2
WSGIPythonPath {APPS}
WSGIApp /app mpm_apps:application
DocumentRoot {htdocs}
<Directory {htdocs}>
    Require all granted
</Directory>
<Location /server-status>
    SetHandler server-status
    {require}
</Location>
<Location /metrics>
    SetHandler metrics
    {require}
</Location>
"""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("latin-1")


def fetch(
    server: Server, path: str, method: str = "GET", source: str = "127.0.0.1", timeout: float = 20
) -> Reply:
    """One request on its own connection from ``source``, read to the server's close."""
    with socket.create_connection(
        (server.host, server.port), timeout=timeout, source_address=(source, 0)
    ) as s:
        s.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: {server.host}:{server.port}\r\n"
            "Connection: close\r\nContent-Length: 0\r\n\r\n".encode()
        )
        raw = recv_all(s, timeout)
    head, sep, body = raw.partition(b"\r\n\r\n")
    assert sep, f"no complete response to {method} {path}: {raw[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Reply(status, headers, body)


def load(server: Server, clients: int, each: int, path: str = "/app?sleep=0.05") -> Counter[int]:
    """``clients`` threads, ``each`` requests apiece, one connection each; who served (pid) how many."""
    served: Counter[int] = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + 60

    def client() -> None:
        for _ in range(each):
            if time.monotonic() > deadline:
                failures.append("the load ran out of time")
                return
            reply = fetch(server, path)
            with lock:
                if reply.status != 200:
                    failures.append(f"{reply.status} for {path}")
                else:
                    served[int(reply.body)] += 1

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not failures, failures
    assert sum(served.values()) == clients * each
    return served
