"""``mpmctl status`` / ``fullstatus``: mod_status's ``?auto`` (Apache's own output) and mpmd's
``?json``, drawn on a terminal; finding the page and saying clearly when it cannot be had."""

from __future__ import annotations

import http.server
import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console, RenderableType

from mpmd.cli import conftree, statusfetch, statusview, workersview
from mpmd.cli.mpmctl import main
from mpmd.modules import status_report

REFERENCE = Path("/work/shared/reference/apache")
needs_reference = pytest.mark.skipif(
    not REFERENCE.is_dir(), reason=f"Apache's reference outputs are not at {REFERENCE}"
)


def reference(mpm: str) -> str:
    return (REFERENCE / f"{mpm}-server-status-auto.txt").read_text()


def text_of(renderable: RenderableType, width: int = 200) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(renderable)
    out = console.file.getvalue()
    assert isinstance(out, str)
    return "\n".join(line.rstrip() for line in out.splitlines())


def row(text: str, label: str) -> str:
    """The value beside ``label`` in the rendered summary."""
    for line in text.splitlines():
        if line.startswith(label + " "):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} row in:\n{text}")


WORKERS: dict[str, Any] = {
    "server": {"version": "mpmd/0.1.0", "mpm": "worker"},
    "processes": [
        {
            "slot": 0,
            "pid": 4242,
            "generation": 1,
            "stopping": False,
            "accepting": True,
            "busy": 1,
            "graceful": 0,
            "idle": 24,
            "connections": 3,
            "queue": {"depth": 0},
        },
    ],
    "workers_detail": [
        {
            "slot": "0-0",
            "pid": 4242,
            "generation": 1,
            "acc_conn": 2,
            "acc_child": 40,
            "acc_slot": 41,
            "mode": "W",
            "cpu": 0.25,
            "seconds_since": 0,
            "request_ms": 3,
            "conn_kb": 1.5,
            "child_mb": 0.04,
            "slot_mb": 0.05,
            "client": "127.0.0.1",
            "protocol": "http/1.1",
            "vhost": "127.0.0.1:8080",
            "request": "GET /hello HTTP/1.1",
        },
        {  # never served, idle: mod_status leaves such a slot out
            "slot": "0-1",
            "pid": 4242,
            "generation": 1,
            "acc_conn": 0,
            "acc_child": 0,
            "acc_slot": 0,
            "mode": "_",
            "cpu": 0.0,
            "seconds_since": 9,
            "request_ms": 0,
            "conn_kb": 0.0,
            "child_mb": 0.0,
            "slot_mb": 0.0,
            "client": "",
            "protocol": "",
            "vhost": "",
            "request": "",
        },
    ],
}


# -- ?auto ---------------------------------------------------------------------------------------


@needs_reference
@pytest.mark.parametrize("mpm", ["prefork", "worker", "event"])
def test_apaches_auto_output_is_read_with_its_server_name_line(mpm: str) -> None:
    status = statusview.parse_auto(reference(mpm))
    assert status.server_name == "127.0.0.1"
    assert status.get("ServerMPM") == mpm
    assert status.get("Server Built") == "2026-11-12T08:58:41"
    assert len(status.get("Scoreboard") or "") == 150


def test_html_is_not_auto_output() -> None:
    with pytest.raises(statusview.FormatError):
        statusview.parse_auto("<!DOCTYPE html>\n<html><body>Not Found</body></html>\n")


@needs_reference
def test_status_shows_the_summary_in_mod_status_words() -> None:
    text = text_of(statusview.render_summary(statusview.parse_auto(reference("prefork"))))
    assert text.splitlines()[0] == "Server Status for 127.0.0.1"
    assert row(text, "Server Version") == "Apache/2.4.71 (Debian)"
    assert row(text, "Server MPM") == "prefork"
    assert row(text, "Generation") == "config 1, MPM 0"
    assert row(text, "Server uptime") == "56 seconds"
    assert row(text, "Server load") == "32.01 17.62 9.66"
    assert row(text, "Total accesses") == (
        "1762777 - Total Traffic: 500.8 MB - Total Duration: 1643412"
    )
    assert row(text, "CPU Usage") == "u23.53 s44.44 cu1.33 cs2.24 - 128% CPU load"
    assert row(text, "Traffic") == (
        "31500 requests/sec - 8.9 MB/second - 297 B/request - .932286 ms/request"
    )
    assert row(text, "Workers") == (
        "66 requests currently being processed, 0 workers gracefully restarting, 83 idle workers"
    )


@needs_reference
def test_status_shows_the_event_mpms_processes_and_connections() -> None:
    text = text_of(statusview.render_summary(statusview.parse_auto(reference("event"))))
    assert row(text, "Processes") == "3 (0 stopping)"
    assert (
        row(text, "Connections")
        == "16 total; async: 0 wait-io, 0 writing, 0 keep-alive, 16 closing"
    )


@needs_reference
def test_the_scoreboard_is_drawn_64_slots_a_row_with_counts_and_apaches_key() -> None:
    status = statusview.parse_auto(reference("worker"))
    board = status.get("Scoreboard") or ""
    lines = text_of(statusview.render_summary(status)).splitlines()
    start = lines.index("Scoreboard (150 slots):") + 1
    assert lines[start : start + 3] == [board[:64], board[64:128], board[128:]]
    assert lines[start + 3] == (
        f'"_" {board.count("_")}  "W" {board.count("W")}  "K" {board.count("K")}  '
        f'"." {board.count(".")}'
    )
    key = "\n".join(lines[start + 4 :])
    for letter, words in statusview.LEGEND:
        assert f'"{letter}" {words}' in key


def test_a_summary_without_extended_status_shows_what_there_is() -> None:
    status = statusview.parse_auto(
        "ServerVersion: mpmd/0.1.0\nServerMPM: prefork\nUptime: 93784\n"
        "BusyWorkers: 1\nIdleWorkers: 4\nScoreboard: W____\n"
    )
    text = text_of(statusview.render_summary(status))
    assert row(text, "Server uptime") == "1 day 2 hours 3 minutes 4 seconds"
    assert "Total accesses" not in text
    assert "Traffic" not in text


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(0.932286, 6, ".932286"), (31478.2, 3, "31500"), (127.75, 3, "128"), (2.0, 6, "2")],
)
def test_numbers_are_written_as_aprs_percent_g(value: float, digits: int, text: str) -> None:
    assert statusview.apr_g(value, digits) == text


@pytest.mark.parametrize(
    ("n", "text"),
    [(297.9, "297 B"), (6000, "5.9 kB"), (9377060, "8.9 MB"), (600 * 1024 * 1024, "0.6 GB")],
)
def test_byte_counts_are_written_as_mod_status_does(n: float, text: str) -> None:
    assert status_report.byte_text(n) == text


# -- ?json: the per-worker table -------------------------------------------------------------------


def test_fullstatus_shows_one_row_per_worker_that_has_served() -> None:
    text = text_of(workersview.render_workers(WORKERS))
    header = next(line for line in text.splitlines() if "Srv" in line and "PID" in line)
    for column in ("Acc", "M", "CPU", "SS", "Req", "Conn", "Child", "Slot", "Client", "Request"):
        assert column in header
    rows = [line for line in text.splitlines() if "4242" in line and "/" in line]
    assert len(rows) == 1
    assert rows[0].split()[0] == "0-1"  # Srv: child 0, generation 1
    for cell in ("2/40/41", " W ", "0.25", "1.5", "0.04", "0.05", "GET /hello HTTP/1.1"):
        assert cell in rows[0]
    assert "Child Server number - generation" in text


def test_on_a_narrow_terminal_the_requests_get_a_table_of_their_own() -> None:
    lines = text_of(workersview.render_workers(WORKERS), width=80).splitlines()
    numbers = lines.index("Workers")
    requests = lines.index("Requests")
    assert numbers < requests
    assert "Slot" in lines[numbers + 2] and "Client" not in lines[numbers + 2]
    assert lines[requests + 2].split() == [
        "Srv",
        "PID",
        "M",
        "Client",
        "Protocol",
        "VHost",
        "Request",
    ]
    assert lines[requests + 4].split() == [
        "0-1", "4242", "W", "127.0.0.1", "http/1.1", "127.0.0.1:8080", "GET", "/hello", "HTTP/1.1"
    ]  # fmt: skip


def test_fullstatus_shows_the_process_table_of_threaded_mpms() -> None:
    text = text_of(workersview.render_workers(WORKERS))
    assert "Processes" in text
    header = next(line for line in text.splitlines() if "Stopping" in line)
    for column in ("Slot", "PID", "Gen", "Accepting", "Busy", "Idle", "Conns", "queue.depth"):
        assert column in header
    row = next(line for line in text.splitlines() if "4242" in line and "yes" in line)
    assert row.split() == ["0", "4242", "1", "no", "3", "yes", "1", "0", "24", "0"]


def test_fullstatus_leaves_the_process_table_out_for_prefork() -> None:
    one_worker_each = [{"slot": i, "pid": 100 + i, "busy": 1, "idle": 0} for i in range(3)]
    text = text_of(workersview.render_workers({**WORKERS, "processes": one_worker_each}))
    assert "Processes" not in text


def test_fullstatus_without_worker_details_says_why() -> None:
    text = text_of(workersview.render_workers({"workers_detail": []}))
    assert "No per-worker details" in text
    assert "ExtendedStatus On" in text


# -- finding the page ----------------------------------------------------------------------------


def tree_listening_on(tmp_path: Path, listen: str) -> conftree.ConfDir:
    root = tmp_path / "conf"
    conftree.init(root)
    conf = root / "mpmd.conf"
    conf.write_text(conf.read_text().replace("Listen 127.0.0.1:${PORT}", f"Listen {listen}"))
    return conftree.choose(str(root), {})


def test_the_status_url_comes_from_the_first_listen(tmp_path: Path) -> None:
    confdir = tree_listening_on(tmp_path, "127.0.0.1:8123")
    assert statusfetch.status_url(confdir, {}) == "http://127.0.0.1:8123/server-status"


def test_a_listen_on_every_address_is_asked_on_loopback(tmp_path: Path) -> None:
    confdir = tree_listening_on(tmp_path, "8123")
    assert statusfetch.status_url(confdir, {}) == "http://127.0.0.1:8123/server-status"


def test_mpmd_statusurl_wins(tmp_path: Path) -> None:
    confdir = tree_listening_on(tmp_path, "127.0.0.1:8123")
    env = {"MPMD_STATUSURL": "http://127.0.0.1:9/status"}
    assert statusfetch.status_url(confdir, env) == "http://127.0.0.1:9/status"


def test_an_ephemeral_port_asks_for_mpmd_statusurl(tmp_path: Path) -> None:
    confdir = tree_listening_on(tmp_path, "127.0.0.1:0")
    with pytest.raises(statusfetch.StatusUnavailable, match="MPMD_STATUSURL"):
        statusfetch.status_url(confdir, {})


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (bound, so no one else takes it meanwhile)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def test_status_of_an_unreachable_server_says_so_and_exits_1(
    refused_port: int, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"http://127.0.0.1:{refused_port}/server-status"
    monkeypatch.setenv("MPMD_STATUSURL", url)
    assert main(["status"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"mpmctl status: cannot reach the server's status page at {url}?auto: ")
    assert "Connection refused" in err
    assert "Is the server running (mpmctl start)" in err


class StatusPages(http.server.BaseHTTPRequestHandler):
    """A stand-in for a server's /server-status: ``pages`` maps a query to (status, body)."""

    pages: dict[str, tuple[int, str]] = {}

    def do_GET(self) -> None:
        query = self.path.partition("?")[2]
        status, body = self.pages.get(query, (404, "Not Found"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, tuple[int, str]]]:
    """Serve ``pages`` on 127.0.0.1 and point MPMD_STATUSURL at them; stopped after the test."""
    served: dict[str, tuple[int, str]] = {}
    handler = type("Pages", (StatusPages,), {"pages": served})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        monkeypatch.setenv("MPMD_STATUSURL", f"http://127.0.0.1:{port}/server-status")
        yield served
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@needs_reference
def test_status_fetches_auto_and_draws_it(
    pages: dict[str, tuple[int, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    pages["auto"] = (200, reference("event"))
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "Server MPM" in out and "event" in out
    assert "Scoreboard Key:" in out
    assert "Srv" not in out


@needs_reference
def test_fullstatus_adds_the_workers_from_json(
    pages: dict[str, tuple[int, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    pages["auto"] = (200, reference("worker"))
    pages["json"] = (200, json.dumps(WORKERS))
    assert main(["fullstatus"]) == 0
    out = capsys.readouterr().out
    assert "Scoreboard Key:" in out
    assert "GET /hello HTTP/1.1" in out


@needs_reference
def test_fullstatus_against_a_server_without_json_says_so(
    pages: dict[str, tuple[int, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    pages["auto"] = (200, reference("worker"))
    pages["json"] = (200, "<html>Apache's HTML page</html>")
    assert main(["fullstatus"]) == 1
    assert "did not answer JSON" in capsys.readouterr().err


def test_status_without_mod_status_says_how_to_enable_it(
    pages: dict[str, tuple[int, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status"]) == 1
    err = capsys.readouterr().err
    assert "answered 404 Not Found: is mod_status enabled?" in err
    assert "mpmctl enmod status && mpmctl restart" in err


def test_status_of_a_page_that_is_not_mod_status_says_so(
    pages: dict[str, tuple[int, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    pages["auto"] = (200, "<html>something else</html>\n<p>x</p>\n")
    assert main(["status"]) == 1
    assert "did not answer in mod_status's ?auto format" in capsys.readouterr().err
