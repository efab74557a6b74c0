"""/server-status on a running server: a parent and its prefork children, real sockets.

Every request of these tests is on its own connection and read to the
server's close, so it is counted before the next one is sent
(tests/statusclient.py): the numbers the status page shows must be exact.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import psutil

from tests.serverproc import run_server
from tests.statusauto import parse_auto
from tests.statusclient import fetch, load, status_conf


def test_json_counts_every_request_across_the_children(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        served = load(server, clients=6, each=8)
        assert len(served) >= 2, f"one child served everything: {served}"
        reply = fetch(server, "/server-status?json")
        assert reply.status == 200
        assert reply.headers["content-type"] == "application/json"
        data = json.loads(reply.body)
        # the status request itself is counted once it is over, not in its own answer
        assert data["totals"]["accesses"] == 48
        assert data["server"]["mpm"] == "prefork"
        live = {p["pid"] for p in data["processes"]}
        assert data["workers"]["processes"] == len(live) >= 3
        by_pid: dict[int, int] = {}
        for worker in data["workers_detail"]:
            if worker["pid"] in live:
                by_pid[worker["pid"]] = by_pid.get(worker["pid"], 0) + worker["acc_child"]
        for pid, count in served.items():
            if pid in live:  # spare maintenance may have stopped a child since
                assert by_pid[pid] == count, (pid, by_pid, served)
        assert sum(w["acc_slot"] for w in data["workers_detail"]) == 48

        for _ in range(3):
            assert fetch(server, "/missing.txt").status == 404
        again = json.loads(fetch(server, "/server-status?json").body)
        assert again["totals"]["accesses"] == 48 + 1 + 3


def test_auto_is_httpds_format_with_the_servers_numbers(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        load(server, clients=3, each=4)
        reply = fetch(server, "/server-status?auto")
        assert reply.headers["content-type"] == "text/plain; charset=ISO-8859-1"
        auto = parse_auto(reply.text)
        assert auto.server_name == server.host
        assert auto.fields["ServerMPM"] == "prefork"
        assert auto.fields["ServerVersion"].startswith("mpmd/")
        assert auto.int("Total Accesses") == 12
        assert not auto.is_async
        assert (
            auto.int("ParentServerConfigGeneration"),
            auto.int("ParentServerMPMGeneration"),
        ) == (
            1,
            0,
        )
        # the child answering is busy with this very request
        assert auto.int("BusyWorkers") >= 1
        assert auto.fields["Scoreboard"].count("W") >= 1


def test_auto_from_an_event_server_has_the_connection_lines(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path, "event"), mode="-DFOREGROUND") as server:
        load(server, clients=3, each=3)
        auto = parse_auto(fetch(server, "/server-status?auto").text)
        assert auto.fields["ServerMPM"] == "event"
        assert auto.is_async
        assert auto.int("Processes") >= 2
        assert auto.int("Total Accesses") == 9
        page = fetch(server, "/server-status").text
        assert '<table rules="all" cellpadding="1%">' in page
        assert re.search(r"<tr><td>Sum</td><td>\d+</td><td>0</td>", page)


def test_the_page_shows_the_grid_its_key_and_the_worker_table(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        served = load(server, clients=2, each=3)
        reply = fetch(server, "/server-status?refresh=3")
        assert reply.status == 200
        assert reply.headers["refresh"] == "3"
        assert reply.headers["content-type"] == "text/html; charset=ISO-8859-1"
        page = reply.text
        grid = re.search(r"</dl><pre>([_SRWKDCLGI.\n]+)</pre>", page)
        assert grid is not None and "W" in grid.group(1)
        assert "<p>Scoreboard Key:<br />" in page
        assert '<table border="0"><tr><th>Srv</th><th>PID</th><th>Acc</th>' in page
        children = {c.pid for c in psutil.Process(server.pid).children()}
        shown = _pids_in_table(page)
        assert shown and shown <= children
        assert {pid for pid in served if pid in children} <= shown
        assert "<td nowrap>GET /app?sleep=0.05 HTTP/1.1</td>" in page
        assert "<td nowrap>GET /server-status?refresh=3 HTTP/1.1</td>" in page
        assert '<div id="live" hidden>' in page


def _pids_in_table(page: str) -> set[int]:
    return {int(p) for p in re.findall(r"<tr><td><b>\d+-\d+</b></td><td>(\d+)</td>", page)}


def test_require_ip_refuses_another_address_and_admits_the_one_named(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        assert fetch(server, "/server-status?auto", source="127.0.0.2").status == 403
        assert fetch(server, "/server-status", source="127.0.0.2").status == 403
        assert fetch(server, "/server-status?auto", source="127.0.0.1").status == 200
        assert fetch(server, "/hello.txt", source="127.0.0.2").status == 200  # only the status


def test_only_get_and_head_are_answered(tmp_path: Path) -> None:
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        reply = fetch(server, "/server-status", method="POST")
        assert reply.status == 405
        assert reply.headers["allow"] == "GET,HEAD"
        head = fetch(server, "/server-status?auto", method="HEAD")
        assert (head.status, head.body) == (200, b"")


def test_the_embedded_default_serves_server_status_to_local_clients(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {"PORT": str(port), "MPMD_RUNTIME_DIR": str(tmp_path)}
    with run_server(tmp_path, embedded=True, mode="-DFOREGROUND", env=env) as server:
        auto = parse_auto(fetch(server, "/server-status?auto").text)
        assert auto.extended  # ExtendedStatus On, as Debian's status.conf says
        assert auto.fields["ServerMPM"] in ("prefork", "worker", "event", "winnt")
        assert fetch(server, "/server-status?json").status == 200


def test_without_a_scoreboard_the_status_is_a_500_that_says_why(tmp_path: Path) -> None:
    # -X with prefork: one process serving alone, as httpd -X, with no scoreboard
    with run_server(tmp_path, status_conf(tmp_path), mode="-X") as server:
        assert fetch(server, "/server-status").status == 500
        assert "MP00701" in server.log_text()


def test_auto_names_the_server_by_the_host_asked_for(tmp_path: Path) -> None:
    # httpd's ap_get_server_name: Host's name, lower case, an IPv6 address without brackets
    with run_server(tmp_path, status_conf(tmp_path), mode="-DFOREGROUND") as server:
        for host, name in (("[::1]:8080", "::1"), ("WWW.Example.COM.", "www.example.com")):
            raw = server.raw(
                f"GET /server-status?auto HTTP/1.1\r\nHost: {host}\r\n"
                "Connection: close\r\n\r\n".encode()
            )
            head, _, body = raw.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200 "), head
            assert body.decode().splitlines()[0] == name
