"""mod_status's formats -- ?auto, the HTML page, ?json -- checked against Apache 2.4.71's own output.

The reference files in tests/data/apache-2.4.71 were captured from Debian's
apache2 (event, worker, prefork, ExtendedStatus On); see their README.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpmd.modules.status import auto_text, json_data, parse_query
from mpmd.modules.status_live import LIVE_PANEL, LIVE_SCRIPT, STYLE
from mpmd.modules.status_page import (
    KEY,
    PROCESS_TABLE_HEAD,
    WORKER_TABLE_HEAD,
    WORKER_TABLE_KEY,
    render_page,
)
from mpmd.modules.status_report import StatusReport, apr_g, byte_text, gather, kbyte_text
from mpmd.mpm.scoreboard import Scoreboard
from tests.statusauto import AutoError, parse_auto
from tests.unit.confkit import fail, load

REFERENCE = Path(__file__).resolve().parents[1] / "data" / "apache-2.4.71"
MPMS = ("prefork", "worker", "event")


def reference(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="latin-1")


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Scoreboard]:
    sb = Scoreboard.create(4, 4, path=str(tmp_path / "scoreboard"))
    try:
        yield sb
    finally:
        sb.close()
        sb.unlink()


def busy_server(board: Scoreboard, threads: int) -> None:
    """Two children that have served requests; one busy, CPU recorded, restart a minute ago."""
    board.set_limits(3, threads)
    board.set_generation(0, restart_time=time.time() - 61)
    for pid in (4100, 4101):
        slot = board.claim_process_slot()
        assert slot is not None
        board.set_process(slot, pid)
        for thread in range(threads):
            handle = board.handle(slot, thread)
            handle.start()
            for n in range(3):
                handle.begin_request("127.0.0.1", "localhost:80", f"GET /{n} HTTP/1.1")
                handle.end_request(700 * (n + 1), 1500 + n, status=200)
            handle.idle()
            score = handle.slot  # the CPU times, fixed: os.times() varies with the run
            score.cpu_user, score.cpu_system = 1.25, 0.5
            score.cpu_children_user = score.cpu_children_system = 0.0
    board.process(0).connections = 3
    board.process(0).keep_alive = 2
    board.handle(0, 0).begin_request("192.0.2.1", "example.org:80", 'GET /<x>?"q" HTTP/1.1')


def report_for(board: Scoreboard, mpm: str, extended: bool = True) -> StatusReport:
    return gather(
        board.snapshot(),
        server_name="127.0.0.1",
        local_ip="127.0.0.1",
        version="mpmd/0.1.0 (Linux) Python/3.11",
        mpm=mpm,
        built="2026-11-26",
        extended=extended,
    )


# -- ?auto ------------------------------------------------------------------------------


@pytest.mark.parametrize("mpm", MPMS)
def test_the_strict_parser_reads_apaches_own_auto_output(mpm: str) -> None:
    status = parse_auto(reference(f"{mpm}-server-status-auto.txt"))
    assert status.server_name == "127.0.0.1"
    assert status.fields["ServerMPM"] == mpm
    assert status.extended
    assert status.is_async == (mpm == "event")


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        (lambda t: t.replace("BusyWorkers", "Busyworkers"), "not a field"),
        (lambda t: t.replace("Load1: 23.64\n", "") + "Load1: 1.00\n", "before"),
        (lambda t: t.replace("ReqPerSec: 32010.4", "ReqPerSec: 3.2e4x"), "not what httpd"),
        (lambda t: t.replace("ConnsAsyncClosing: 16\n", ""), "all together"),
        (lambda t: t.replace("Uptime: 56\n", "Uptime: 57\n"), "differ"),
        (lambda t: t.replace("ServerUptime: 56 seconds", "ServerUptime: 1 minute"), "is not 56"),
        (lambda t: t.replace("IdleWorkers: 56", "IdleWorkers:  56"), "one space"),
        (lambda t: t.replace("DurationPerReq: .462581\n", ""), "exactly when accesses"),
        (lambda t: t.rstrip("\n"), "ends with a newline"),
    ],
)
def test_the_strict_parser_rejects_what_httpd_would_not_write(
    change: object, complaint: str
) -> None:
    text = reference("event-server-status-auto.txt")
    with pytest.raises(AutoError, match=complaint):
        parse_auto(change(text))  # type: ignore[operator]


@pytest.mark.parametrize("mpm", MPMS)
def test_auto_has_apaches_field_names_in_apaches_order_for_each_mpm(
    board: Scoreboard, mpm: str
) -> None:
    busy_server(board, 1 if mpm == "prefork" else 4)
    ours = parse_auto(auto_text(report_for(board, mpm)))
    apache = parse_auto(reference(f"{mpm}-server-status-auto.txt"))
    assert ours.names == apache.names
    assert ours.fields["ServerMPM"] == mpm


def test_auto_numbers_are_the_scoreboards(board: Scoreboard) -> None:
    busy_server(board, 4)
    auto = parse_auto(auto_text(report_for(board, "worker")))
    # 2 children x 4 threads x 3 requests of 700, 1400, 2100 bytes and 1.5 ms
    assert auto.int("Total Accesses") == 24
    assert auto.int("Total kBytes") == (8 * 4200) >> 10
    assert auto.int("Total Duration") == (8 * 4503) // 1000
    assert (auto.int("BusyWorkers"), auto.int("IdleWorkers")) == (1, 7)
    assert auto.fields["Scoreboard"] == "W" + "_" * 7 + "...."
    assert auto.fields["CPUUser"] == "2.5"  # per process: the largest record, summed
    assert 59 <= auto.int("Uptime") <= 63


def test_auto_without_extended_status_leaves_the_totals_out(board: Scoreboard) -> None:
    busy_server(board, 1)
    auto = parse_auto(auto_text(report_for(board, "prefork", extended=False)))
    assert not auto.extended
    assert "Total Accesses" not in auto.fields


def test_auto_of_a_server_just_started_has_no_rates(board: Scoreboard) -> None:
    board.set_generation(0)
    auto = parse_auto(auto_text(report_for(board, "prefork")))
    assert auto.fields["ServerUptime"] == ""
    assert "ReqPerSec" not in auto.fields and "BytesPerReq" not in auto.fields


@pytest.mark.parametrize(
    ("value", "ndigit", "text"),
    [
        (0.462581, 6, ".462581"),  # APR's %g: no leading zero
        (9561874.3, 6, "9561870"),  # ... and no exponent while 4 zeros or fewer follow
        (32010.357, 6, "32010.4"),
        (298.7116, 6, "298.712"),
        (5.9, 6, "5.9"),
        (0.0, 6, "0"),
        (1.5e11, 6, "1.5e+11"),
        (0.0000123, 6, "1.23e-5"),
        (31478.2, 3, "31500"),  # "%.3g requests/sec" in the reference page
        (127.75, 3, "128"),
    ],
)
def test_apr_g_prints_as_apaches_printf(value: float, ndigit: int, text: str) -> None:
    assert apr_g(value, ndigit) == text


def test_byte_formats_are_mod_status_s() -> None:
    assert [byte_text(298), byte_text(27955), byte_text(9561874)] == ["298 B", "27.3 kB", "9.1 MB"]
    assert [kbyte_text(312), kbyte_text(522915)] == ["312 kB", "510.7 MB"]


# -- the HTML page ------------------------------------------------------------------------


def dt_shapes(page: str) -> list[str]:
    """Each <dt>'s label (before the colon), or its words with the numbers taken out."""
    shapes = []
    for dt in re.findall(r"<dt>(.*?)</dt>", page, re.S):
        dt = dt.strip()
        if ":" in dt:
            shapes.append(dt.split(":")[0])
        else:
            text = re.sub(r"-?\d*\.?\d+", "N", dt)
            shapes.append(re.sub(r"\b(B|kB|MB|GB)/", "U/", text))
    return shapes


ROW = re.compile(
    r"<tr><td><b>\d+-\d+</b></td><td>(\d+|-)</td><td>\d+/\d+/\d+</td><td>(_|<b>[SRWKLDC]</b>|[.GI])"
    r"\n</td><td>\d+\.\d\d</td><td>\d+</td><td>\d+</td><td>\d+</td><td>\d+\.\d</td>"
    r"<td>\d+\.\d\d</td><td>\d+\.\d\d\n</td><td>[^<]*</td><td>[^<]*</td><td nowrap>[^<]*</td>"
    r"<td nowrap>[^<]*</td></tr>\n\n"
)


@pytest.mark.parametrize("mpm", ["prefork", "event"])
def test_the_page_has_apaches_lines_in_apaches_order(board: Scoreboard, mpm: str) -> None:
    busy_server(board, 1 if mpm == "prefork" else 4)
    ours = render_page(report_for(board, mpm))
    assert dt_shapes(ours) == dt_shapes(reference(f"{mpm}-server-status.html"))


def test_the_page_carries_apaches_tables_and_key_word_for_word(board: Scoreboard) -> None:
    busy_server(board, 4)
    page = render_page(report_for(board, "event"))
    event = reference("event-server-status.html")
    for block in (PROCESS_TABLE_HEAD, KEY, WORKER_TABLE_HEAD, WORKER_TABLE_KEY):
        assert block in event  # the constants are Apache's ...
        assert block in page  # ... and the page uses them


def test_every_worker_row_has_the_shape_of_apaches(board: Scoreboard) -> None:
    apache_rows = reference("prefork-server-status.html").count("<tr><td><b>")
    assert len(ROW.findall(reference("prefork-server-status.html"))) == apache_rows == 150
    busy_server(board, 4)
    page = render_page(report_for(board, "worker"))
    assert len(ROW.findall(page)) == page.count("<tr><td><b>") == 8


def test_the_scoreboard_grid_has_64_letters_a_line(tmp_path: Path) -> None:
    board = Scoreboard.create(150, 1, path=str(tmp_path / "big"))
    try:
        page = render_page(report_for(board, "prefork"))
    finally:
        board.close()
        board.unlink()
    grid = re.search(r"<pre>(.*?)</pre>", page, re.S)
    assert grid is not None
    assert [len(line) for line in grid.group(1).split("\n")] == [64, 64, 22]


def test_client_strings_are_escaped_as_mod_status_escapes_them(board: Scoreboard) -> None:
    busy_server(board, 1)
    handle = board.handle(1, 0)
    handle.begin_request("10.0.0.1", 'v"h<o>st', 'GET /<script>"\x01 HTTP/1.1')
    page = render_page(report_for(board, "prefork"))
    assert "<td nowrap>v&quot;h&lt;o&gt;st</td>" in page
    assert "<td nowrap>GET /&lt;script&gt;\\&quot;\\x01 HTTP/1.1</td>" in page
    assert '<script>"' not in page


def test_the_worker_table_shows_slots_that_served_or_are_busy(board: Scoreboard) -> None:
    busy_server(board, 1)
    board.claim_process_slot()  # a starting child that never served: S, shown
    page = render_page(report_for(board, "prefork"))
    assert page.count("<tr><td><b>") == 3
    assert "<td><b>S</b>\n</td>" in page


def test_without_extended_status_the_page_has_the_pid_key_and_says_how_to_get_more(
    board: Scoreboard,
) -> None:
    busy_server(board, 1)
    page = render_page(report_for(board, "prefork", extended=False))
    assert "<table border" not in page and "Total accesses" not in page
    assert "PID Key: <br />\n<pre>\n   4100 in state: W ,   4101 in state: _ ,\n</pre>" in page
    assert "<code>ExtendedStatus On</code> directive" in page


def test_notable_lists_the_workers_without_a_table(board: Scoreboard) -> None:
    busy_server(board, 1)
    page = render_page(report_for(board, "prefork"), notable=True)
    assert "<table border" not in page
    # the pid is the worker's own (the thread recorded it), as httpd prefers it
    assert f"<b>Server 1-0</b> ({os.getpid()}): 0|3|3 [Ready] u1.25 s.5 cu0 cs0\n" in page


def test_the_live_view_is_hidden_until_its_script_runs(board: Scoreboard) -> None:
    page = render_page(report_for(board, "prefork"))
    assert '<div id="live" hidden>' in page
    assert 'location.pathname + "?json"' in page
    for part in (STYLE, LIVE_PANEL, LIVE_SCRIPT):
        assert part in page
        assert "http" not in part and "//cdn" not in part  # nothing fetched from elsewhere


# -- ?json and the query ------------------------------------------------------------------


def test_json_has_the_names_mpmctl_reads(board: Scoreboard) -> None:
    busy_server(board, 4)
    data = json.loads(json.dumps(json_data(report_for(board, "event"))))
    assert set(data["server"]) >= {
        "version", "mpm", "built", "current_time", "restart_time", "uptime",
        "config_generation", "mpm_generation", "server_name",
    }  # fmt: skip
    assert set(data["totals"]) >= {
        "accesses", "kbytes", "bytes", "duration_ms", "req_per_sec", "bytes_per_sec",
        "bytes_per_req", "duration_per_req",
    }  # fmt: skip
    assert data["workers"] == {
        "busy": 1, "idle": 7, "graceful": 0, "processes": 2, "stopping": 0, "limit": 12,
    }  # fmt: skip
    assert data["connections"]["total"] == 3
    assert data["connections"]["async_keep_alive"] == 2
    assert data["totals"]["accesses"] == 24
    assert [p["pid"] for p in data["processes"]] == [4100, 4101]
    worker = data["workers_detail"][0]
    assert worker["slot"] == "0-0"
    assert worker["mode"] == "W"
    assert worker["request"] == 'GET /<x>?"q" HTTP/1.1'
    assert (worker["acc_conn"], worker["acc_child"], worker["acc_slot"]) == (0, 3, 3)
    assert set(worker) >= {
        "pid", "generation", "cpu", "seconds_since", "request_ms", "conn_kb", "child_mb",
        "slot_mb", "client", "protocol", "vhost",
    }  # fmt: skip
    assert len(data["workers_detail"]) == 8


def test_query_words_are_found_anywhere_as_httpd_does() -> None:
    assert parse_query("auto").auto
    assert parse_query("x=1&auto").auto
    assert parse_query("refresh=5").refresh == "5"
    assert parse_query("refresh").refresh == "10"
    assert parse_query("refresh=0").refresh == "10"
    assert parse_query("notable&refresh=2").notable
    assert parse_query("json").json and not parse_query("auto").json


# -- the directive --------------------------------------------------------------------------

LOAD_STATUS = "LoadModule status_module modules/mod_status.so\n"


def test_extended_status_is_on_once_mod_status_is_loaded(tmp_path: Path) -> None:
    assert load(tmp_path, LOAD_STATUS).main.module_conf["status_module"].extended


def test_extended_status_off_turns_it_off(tmp_path: Path) -> None:
    loaded = load(tmp_path, LOAD_STATUS + "ExtendedStatus Off\n")
    assert not loaded.main.module_conf["status_module"].extended


def test_extended_status_belongs_to_the_main_server(tmp_path: Path) -> None:
    error = fail(tmp_path, LOAD_STATUS + "<VirtualHost *:80>\nExtendedStatus Off\n</VirtualHost>\n")
    assert "ExtendedStatus cannot occur within <VirtualHost> section" in str(error)
