"""The metrics module's Prometheus text, read back with Prometheus's own Python parser."""

from __future__ import annotations

import math
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mpmd.modules.metrics import exposition, number
from mpmd.modules.status_report import gather
from mpmd.mpm.scoreboard import DURATION_BOUNDS_US, Scoreboard


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Scoreboard]:
    sb = Scoreboard.create(3, 2, path=str(tmp_path / "scoreboard"))
    try:
        yield sb
    finally:
        sb.close()
        sb.unlink()


def scrape(board: Scoreboard, mpm: str = "worker") -> dict[str, dict[tuple[str, ...], float]]:
    """name -> {label values (sorted by label name) -> value}, from the parsed exposition."""
    report = gather(
        board.snapshot(),
        server_name="localhost",
        local_ip="127.0.0.1",
        version='mpmd/0.1.0 (Linux) "quoted"\\',
        mpm=mpm,
        built="",
        extended=True,
    )
    text = exposition(report, board.request_counters(), "0.1.0")
    samples: dict[str, dict[tuple[str, ...], float]] = {}
    types = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            key = tuple(v for _, v in sorted(s.labels.items()))
            samples.setdefault(s.name, {})[key] = s.value
    assert types["mpmd_http_requests"] == "counter"  # the parser drops the _total
    assert types["mpmd_http_request_duration_seconds"] == "histogram"
    return samples


def load(board: Scoreboard) -> None:
    for child, pid in ((0, 500), (1, 501)):
        slot = board.claim_process_slot()
        assert slot == child
        board.set_process(slot, pid)
        for thread in range(2):
            handle = board.handle(slot, thread)
            handle.start()
            for status, duration in ((200, 80), (200, 300), (404, 2000), (500, 20_000_000)):
                handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
                handle.end_request(100, duration, status=status)
            handle.idle()
    board.handle(1, 1).begin_request("127.0.0.1", "localhost:80", "GET /busy HTTP/1.1")


def test_requests_by_status_class_sum_every_child(board: Scoreboard) -> None:
    load(board)
    m = scrape(board)["mpmd_http_requests_total"]
    assert m == {("1xx",): 0, ("2xx",): 8, ("3xx",): 0, ("4xx",): 4, ("5xx",): 4, ("other",): 0}
    assert scrape(board)["mpmd_http_response_body_bytes_total"] == {(): 1600}


def test_the_histogram_is_cumulative_and_ends_with_the_count(board: Scoreboard) -> None:
    load(board)
    m = scrape(board)
    buckets = m["mpmd_http_request_duration_seconds_bucket"]
    bounds = sorted(float(le) for (le,) in buckets)
    assert bounds == [*(b / 1e6 for b in DURATION_BOUNDS_US), math.inf]
    counts = [buckets[(number(b),)] for b in bounds]
    assert counts == sorted(counts)
    assert buckets[("0.0001",)] == 4  # 80 µs
    assert buckets[("0.0025",)] == 12  # and 300 µs, 2 ms
    assert buckets[("10.0",)] == 12  # 20 s is longer than every bound
    assert buckets[("+Inf",)] == m["mpmd_http_request_duration_seconds_count"][()] == 16
    assert m["mpmd_http_request_duration_seconds_sum"][()] == pytest.approx(4 * 20.00238)


def test_workers_processes_and_scoreboard_states_are_the_scoreboards(board: Scoreboard) -> None:
    load(board)
    m = scrape(board)
    assert m["mpmd_workers"] == {("busy",): 1, ("graceful",): 0, ("idle",): 3}
    assert m["mpmd_processes"] == {("running",): 2, ("stopping",): 0}
    states = m["mpmd_scoreboard_slots"]
    assert (states[("sending",)], states[("ready",)], states[("open",)]) == (1, 3, 2)
    assert sum(states.values()) == 6


def test_the_info_metric_names_the_mpm_and_version_with_escaped_labels(board: Scoreboard) -> None:
    info = scrape(board, mpm="event")["mpmd_info"]
    ((labels, value),) = info.items()
    assert value == 1
    assert labels == ("event", 'mpmd/0.1.0 (Linux) "quoted"\\', "0.1.0")


def test_event_connections_are_reported_by_state(board: Scoreboard) -> None:
    load(board)
    board.process(0).connections = 7
    board.process(1).keep_alive = 3
    conns = scrape(board, mpm="event")["mpmd_connections"]
    assert (conns[("total",)], conns[("keepalive",)]) == (7, 3)
