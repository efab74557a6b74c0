"""The scoreboard's request counters: status class x duration, per slot, summed over every child."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpmd.mpm.scoreboard import (
    BUCKETS,
    DURATION_BOUNDS_US,
    STATUS_CLASSES,
    WORKER_SIZE,
    Scoreboard,
    ScoreboardError,
)


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Scoreboard]:
    sb = Scoreboard.create(3, 2, path=str(tmp_path / "scoreboard"))
    try:
        yield sb
    finally:
        sb.close()
        sb.unlink()


def serve(board: Scoreboard, child: int, thread: int, *requests: tuple[int, int]) -> None:
    """Requests of (status, duration in µs) through the slot's handle."""
    handle = board.handle(child, thread)
    for status, duration in requests:
        handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
        handle.end_request(10, duration, status=status)


def test_a_worker_slot_stays_a_multiple_of_64_bytes() -> None:
    assert WORKER_SIZE % 64 == 0
    assert 384 + 8 * len(STATUS_CLASSES) * BUCKETS == WORKER_SIZE


def test_requests_are_counted_by_status_class(board: Scoreboard) -> None:
    serve(board, 0, 0, (200, 5), (204, 5), (301, 5), (404, 5), (500, 5), (503, 5), (101, 5))
    assert board.request_counters().by_class == {
        "other": 0, "1xx": 1, "2xx": 2, "3xx": 1, "4xx": 1, "5xx": 2,
    }  # fmt: skip


def test_no_status_or_one_outside_100_to_599_counts_as_other(board: Scoreboard) -> None:
    serve(board, 0, 0, (0, 5), (99, 5), (600, 5), (999, 5), (1234, 5), (-1, 5))
    counters = board.request_counters()
    assert counters.by_class["other"] == 6
    assert counters.accesses == 6


def test_a_duration_equal_to_a_bound_counts_in_that_bucket(board: Scoreboard) -> None:
    first, second = DURATION_BOUNDS_US[0], DURATION_BOUNDS_US[1]
    longest = DURATION_BOUNDS_US[-1]
    serve(board, 0, 0, (200, 0), (200, first), (200, first + 1), (200, second), (200, longest + 1))
    buckets = board.request_counters().buckets
    assert len(buckets) == len(DURATION_BOUNDS_US) + 1
    assert (buckets[0], buckets[1], buckets[-1]) == (2, 2, 1)
    assert sum(buckets) == 5


def test_counters_are_summed_over_every_slot_with_bytes_and_duration(board: Scoreboard) -> None:
    serve(board, 0, 0, (200, 100))
    serve(board, 1, 1, (404, 300), (200, 50))
    serve(board, 2, 0, (500, 2_000_000))
    counters = board.request_counters()
    assert (counters.accesses, counters.bytes, counters.duration_us) == (4, 40, 2_000_450)
    assert counters.by_class["2xx"] == 2
    assert sum(map(sum, counters.requests)) == 4


def test_a_freed_slot_and_the_next_child_in_it_keep_counting_up(board: Scoreboard) -> None:
    slot = board.claim_process_slot()
    assert slot is not None
    board.set_process(slot, 100)
    serve(board, slot, 0, (200, 10), (404, 10))
    board.free_process_slot(slot)
    assert board.request_counters().by_class["4xx"] == 1  # a dead child's requests still count
    assert board.claim_process_slot() == slot
    board.set_process(slot, 101)
    board.handle(slot, 0).start()
    serve(board, slot, 0, (404, 10))
    assert board.request_counters().by_class == {
        "other": 0, "1xx": 0, "2xx": 1, "3xx": 0, "4xx": 2, "5xx": 0,
    }  # fmt: skip


def test_forked_children_counters_add_up_in_the_parent(board: Scoreboard) -> None:
    pids = []
    for child in range(3):
        slot = board.claim_process_slot()
        assert slot == child
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                for thread in range(2):
                    serve(board, slot, thread, *[(200 + 100 * child, 50)] * (child + 1))
                code = 0
            finally:
                os._exit(code)
        board.set_process(slot, pid)
        pids.append(pid)
    for pid in pids:
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    by_class = board.request_counters().by_class
    assert (by_class["2xx"], by_class["3xx"], by_class["4xx"]) == (2, 4, 6)


def test_end_request_records_the_cpu_times_at_most_once_a_second(board: Scoreboard) -> None:
    handle = board.handle(0, 0)
    handle.start()
    handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
    handle.end_request(10, 10, status=200)
    assert handle.slot.cpu_user > 0  # this test process has used CPU
    handle.slot.cpu_user = -1.0
    handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
    handle.end_request(10, 10, status=200)
    assert handle.slot.cpu_user == -1.0  # not again within the second
    handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
    handle.end_request(10, 1_100_000, status=200)  # a request that ends 1.1 s later
    assert handle.slot.cpu_user > 0


def test_a_scoreboard_of_the_previous_layout_is_refused(board: Scoreboard) -> None:
    board.header.version = 1
    with pytest.raises(ScoreboardError, match="scoreboard version 1, this mpmd reads version 2"):
        Scoreboard.attach(board.path)


def test_config_generation_follows_the_running_generation(board: Scoreboard) -> None:
    assert board.snapshot().config_generation == 1
    board.set_generation(3)
    assert board.snapshot().config_generation == 4
