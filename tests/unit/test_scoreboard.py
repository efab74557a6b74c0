"""The scoreboard: shared between processes, forked or spawned, read as Apache's mod_status reads it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from mpmd.mpm.scoreboard import (
    HEADER_SIZE,
    Scoreboard,
    ScoreboardError,
    default_directory,
)

SRC = str(Path(__file__).resolve().parents[2] / "src")


@pytest.fixture
def board(tmp_path: Path) -> Iterator[Scoreboard]:
    """A 3 x 4 scoreboard in the test's own directory, always closed and removed."""
    sb = Scoreboard.create(3, 4, path=str(tmp_path / "scoreboard"))
    try:
        yield sb
    finally:
        sb.close()
        sb.unlink()


def start_child(sb: Scoreboard, pid: int) -> int:
    """What the parent does around a fork: claim a slot, then record the child's pid."""
    slot = sb.claim_process_slot()
    assert slot is not None
    sb.set_process(slot, pid)
    return slot


def set_states(sb: Scoreboard, child: int, letters: str) -> None:
    for thread, letter in enumerate(letters):
        sb.worker(child, thread).status = letter.encode()


# -- creating and sharing ---------------------------------------------------------


def test_create_makes_an_anonymous_file_with_every_slot_dead() -> None:
    # no name in any directory: a parent killed by SIGKILL leaves nothing behind
    sb = Scoreboard.create(2, 3)
    try:
        assert sb.path.startswith(f"/proc/{os.getpid()}/fd/")
        assert os.readlink(sb.path).startswith("/memfd:mpmd-scoreboard")
        assert sb.status_letters() == "......"
        attached = Scoreboard.attach(sb.path)  # as a spawned (winnt) child does
        assert attached.status_letters() == "......"
        attached.close()
    finally:
        sb.close()
        sb.unlink()
    assert not os.path.exists(sb.path)


def test_without_memfd_create_makes_a_named_file_in_the_shared_memory_directory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(os, "memfd_create")
    sb = Scoreboard.create(2, 3)
    try:
        assert os.path.dirname(sb.path) == default_directory()
        assert os.path.exists(sb.path)
        assert sb.status_letters() == "......"
    finally:
        sb.close()
        sb.unlink()
    assert not os.path.exists(sb.path)


def test_a_spawned_interpreter_attaches_and_the_parent_sees_its_writes(
    board: Scoreboard,
) -> None:
    board.set_generation(7)
    slot = start_child(board, 4242)
    code = textwrap.dedent(
        f"""
        from mpmd.mpm.scoreboard import Scoreboard
        sb = Scoreboard.attach({board.path!r})
        handle = sb.handle({slot}, 2)
        handle.start()
        handle.begin_request("192.0.2.7", "example.org:80", "GET /spawned HTTP/1.1")
        handle.end_request(512, 1500)
        sb.process({slot}).not_accepting = 1
        sb.close()
        """
    )
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr.decode()
    process = board.snapshot().processes[slot]
    worker = process.workers[2]
    assert process.not_accepting
    assert (worker.status, worker.request, worker.client) == (
        "K",
        "GET /spawned HTTP/1.1",
        "192.0.2.7",
    )
    assert (worker.access_count, worker.bytes_served, worker.duration_us) == (1, 512, 1500)
    assert worker.generation == 7
    assert worker.pid not in (0, os.getpid())


def test_a_forked_child_writes_are_seen_by_the_parent(board: Scoreboard) -> None:
    slot = board.claim_process_slot()
    assert slot is not None
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            handle = board.handle(slot, 0)
            handle.start()
            handle.begin_request("198.51.100.1", "forked:80", "POST /form HTTP/1.0")
            handle.end_request(99, 10, b"C")
            code = 0
        finally:
            os._exit(code)
    board.set_process(slot, pid)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    worker = board.snapshot().processes[slot].workers[0]
    assert (worker.status, worker.pid, worker.request, worker.bytes_served) == (
        "C",
        pid,
        "POST /form HTTP/1.0",
        99,
    )


def test_create_at_a_given_path_replaces_a_stale_file(tmp_path: Path) -> None:
    path = tmp_path / "stale"
    path.write_bytes(b"left over from a crashed run")
    sb = Scoreboard.create(1, 1, path=str(path))
    attached = Scoreboard.attach(str(path))
    try:
        assert attached.status_letters() == "."
    finally:
        attached.close()
        sb.close()
        sb.unlink()


def test_attach_rejects_a_file_that_is_not_a_scoreboard(tmp_path: Path) -> None:
    path = tmp_path / "other"
    path.write_bytes(b"\x7fELF" + bytes(HEADER_SIZE * 4))
    with pytest.raises(ScoreboardError, match="not an mpmd scoreboard"):
        Scoreboard.attach(str(path))


def test_attach_rejects_a_file_shorter_than_a_header(tmp_path: Path) -> None:
    path = tmp_path / "short"
    path.write_bytes(b"MPMD")
    with pytest.raises(ScoreboardError, match="shorter than its header"):
        Scoreboard.attach(str(path))


def test_attach_rejects_a_scoreboard_file_of_the_wrong_size(board: Scoreboard) -> None:
    with open(board.path, "ab") as f:
        f.write(bytes(64))
    with pytest.raises(ScoreboardError, match="a 3 x 4 scoreboard is"):
        Scoreboard.attach(board.path)


def test_attach_names_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ScoreboardError, match=r"cannot open scoreboard .*missing"):
        Scoreboard.attach(str(tmp_path / "missing"))


def test_unlink_removes_the_file(tmp_path: Path) -> None:
    sb = Scoreboard.create(1, 1, path=str(tmp_path / "gone"))
    sb.close()
    sb.unlink()
    assert not os.path.exists(sb.path)


def test_only_the_creator_may_unlink(board: Scoreboard) -> None:
    attached = Scoreboard.attach(board.path)
    try:
        with pytest.raises(ScoreboardError, match="only the process that created it"):
            attached.unlink()
        assert os.path.exists(board.path)
    finally:
        attached.close()


def test_close_while_a_handle_is_held_leaves_the_handle_working(board: Scoreboard) -> None:
    handle = board.handle(0, 0)
    board.close()
    handle.end_request(10, 10)
    assert handle.slot.access_count == 1
    with pytest.raises(ScoreboardError, match="closed"):
        board.status_letters()


# -- the parent's side --------------------------------------------------------------


def test_claim_process_slot_marks_the_slot_starting(board: Scoreboard) -> None:
    board.set_limits(3, 2)
    assert board.claim_process_slot() == 0
    assert board.snapshot().processes[0].workers[0].status == "S"
    assert board.status_letters() == "SS" + "." * 4


def test_claim_process_slot_returns_none_when_every_slot_is_taken(board: Scoreboard) -> None:
    assert [board.claim_process_slot() for _ in range(4)] == [0, 1, 2, None]


def test_claim_process_slot_skips_a_slot_whose_workers_are_still_alive(
    board: Scoreboard,
) -> None:
    board.worker(0, 2).status = b"G"  # no pid, but a thread still finishing
    assert board.claim_process_slot() == 1


def test_free_process_slot_makes_the_slot_free_again(board: Scoreboard) -> None:
    slot = start_child(board, 100)
    set_states(board, slot, "_WK_")
    board.free_process_slot(slot)
    process = board.snapshot().processes[slot]
    assert process.pid == 0
    assert [w.status for w in process.workers] == ["."] * 4
    assert board.claim_process_slot() == slot


def test_set_generation_records_the_restart_time(board: Scoreboard) -> None:
    board.set_generation(3, restart_time=1234.5)
    snap = board.snapshot()
    assert (snap.running_generation, snap.restart_time) == (3, 1234.5)


# -- the hot path ---------------------------------------------------------------------


def test_begin_request_stores_client_vhost_and_request_line_and_state_w(
    board: Scoreboard,
) -> None:
    handle = board.handle(0, 0)
    handle.start()
    handle.begin_request("2001:db8::1", "www.example.org:443", "GET /a?b=c HTTP/1.1")
    worker = board.snapshot().processes[0].workers[0]
    assert (worker.status, worker.client, worker.vhost, worker.request, worker.protocol) == (
        "W",
        "2001:db8::1",
        "www.example.org:443",
        "GET /a?b=c HTTP/1.1",
        "http/1.1",
    )
    assert worker.start_time > 0


def test_end_request_counts_for_slot_child_and_connection(board: Scoreboard) -> None:
    handle = board.handle(0, 1)
    handle.start()
    for size in (100, 200):
        handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
        handle.end_request(size, 2000)
    worker = board.snapshot().processes[0].workers[1]
    assert worker.status == "K"
    assert (worker.conn_count, worker.my_access_count, worker.access_count) == (2, 2, 2)
    assert (worker.conn_bytes, worker.my_bytes_served, worker.bytes_served) == (300, 300, 300)
    assert (worker.duration_us, worker.total_duration_us) == (2000, 4000)
    assert worker.stop_time == pytest.approx(worker.start_time + 0.002)
    assert worker.last_used == worker.stop_time


def test_idle_starts_the_next_connections_counters(board: Scoreboard) -> None:
    handle = board.handle(0, 0)
    handle.start()
    handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
    handle.end_request(100, 10)
    handle.idle()
    handle.begin_request("127.0.0.2", "localhost:80", "GET /next HTTP/1.1")
    handle.end_request(50, 10)
    worker = board.snapshot().processes[0].workers[0]
    assert (worker.conn_count, worker.conn_bytes) == (1, 50)
    assert (worker.my_access_count, worker.access_count) == (2, 2)
    assert worker.client == "127.0.0.2"


def test_a_freed_slot_keeps_its_totals_but_not_its_childs_counters(board: Scoreboard) -> None:
    slot = start_child(board, 100)
    handle = board.handle(slot, 0)
    handle.start()
    handle.begin_request("127.0.0.1", "localhost:80", "GET / HTTP/1.1")
    handle.end_request(1000, 10)
    board.free_process_slot(slot)
    worker = board.snapshot().processes[slot].workers[0]
    # mod_status shows a dead slot's Acc as 0/0/N
    assert (worker.conn_count, worker.my_access_count, worker.access_count) == (0, 0, 1)
    assert (worker.my_bytes_served, worker.bytes_served) == (0, 1000)
    assert worker.request == "GET / HTTP/1.1"


def test_a_new_child_starts_its_own_counters_in_a_used_slot(board: Scoreboard) -> None:
    slot = start_child(board, 100)
    board.handle(slot, 0).end_request(1000, 10)
    board.free_process_slot(slot)
    assert start_child(board, 101) == slot
    handle = board.handle(slot, 0)
    handle.start()
    handle.end_request(5, 10)
    worker = board.snapshot().processes[slot].workers[0]
    assert (worker.my_access_count, worker.access_count) == (1, 2)
    assert (worker.my_bytes_served, worker.bytes_served) == (5, 1005)


def test_raw_slot_fields_write_the_shared_memory(board: Scoreboard) -> None:
    slot = board.worker(1, 3)
    slot.status = b"R"
    slot.access_count += 1
    worker = board.snapshot().processes[1].workers[3]
    assert (worker.status, worker.access_count) == ("R", 1)


def test_set_state_writes_the_letter(board: Scoreboard) -> None:
    handle = board.handle(2, 0)
    handle.set_state(b"L")
    assert board.worker(2, 0).status == b"L"


def test_long_strings_are_cut_at_the_field_size(board: Scoreboard) -> None:
    handle = board.handle(0, 0)
    line = "GET /" + "x" * 300 + " HTTP/1.1"
    handle.begin_request("c" * 60, "v" * 60, line)
    worker = board.snapshot().processes[0].workers[0]
    assert worker.request == line[:128]
    assert (worker.client, worker.vhost) == ("c" * 48, "v" * 48)


def test_strings_are_latin_1_and_wider_characters_are_escaped(board: Scoreboard) -> None:
    handle = board.handle(0, 0)
    handle.begin_request("127.0.0.1", "caf\xe9.example", "GET /\u20ac HTTP/1.1")
    worker = board.snapshot().processes[0].workers[0]
    assert worker.vhost == "caf\xe9.example"
    assert worker.request == "GET /\\u20ac HTTP/1.1"


def test_a_shorter_string_replaces_a_longer_one_whole(board: Scoreboard) -> None:
    handle = board.handle(0, 0)
    handle.begin_request("127.0.0.1", "localhost", "GET /a-long-path HTTP/1.1")
    handle.begin_request("127.0.0.1", "localhost", "GET / HTTP/1.1")
    assert board.snapshot().processes[0].workers[0].request == "GET / HTTP/1.1"


# -- the read side --------------------------------------------------------------------


def test_status_letters_shows_each_workers_state(board: Scoreboard) -> None:
    slot = start_child(board, 100)
    set_states(board, slot, "_RWK")
    other = start_child(board, 101)
    set_states(board, other, "DCLG")
    assert board.status_letters() == "_RWKDCLG...."


def test_status_letters_leaves_out_dead_slots_beyond_the_configured_limits(
    board: Scoreboard,
) -> None:
    board.set_limits(2, 2)
    slot = start_child(board, 100)
    set_states(board, slot, "_W")
    board.worker(2, 1).status = b"G"  # beyond max_servers, but not dead: shown
    assert board.status_letters() == "_W" + ".." + "G"


def test_counts_busy_and_idle_as_mod_status_does(board: Scoreboard) -> None:
    board.set_generation(2)
    current = start_child(board, 100)
    set_states(board, current, "__WG")
    old = start_child(board, 101)
    board.set_process(old, 101, generation=1)
    set_states(board, old, "_KSI")  # idle of an old generation is not spare
    stopping = start_child(board, 102)
    set_states(board, stopping, "_W__")
    board.set_quiescing(stopping)
    counts = board.counts()
    assert (counts.busy, counts.idle, counts.graceful) == (3, 2, 1)
    assert (counts.processes, counts.stopping) == (3, 1)


def test_counts_ignore_a_slot_claimed_before_its_pid_is_known(board: Scoreboard) -> None:
    slot = board.claim_process_slot()
    assert slot is not None
    set_states(board, slot, "_W__")
    assert board.counts() == (0, 0, 0, 0, 0)


def test_totals_sum_every_slot_that_has_served(board: Scoreboard) -> None:
    for child, thread, size in ((0, 0, 1024), (1, 3, 2048)):
        handle = board.handle(child, thread)
        handle.end_request(size, 1500)
    board.free_process_slot(1)  # a dead slot's past requests still count
    totals = board.totals()
    assert (totals.accesses, totals.bytes, totals.duration_us) == (2, 3072, 3000)
    assert (totals.kbytes, totals.duration_ms) == (3, 3)


def test_snapshot_reports_the_process_slots(board: Scoreboard) -> None:
    board.set_generation(5)
    slot = start_child(board, 4321)
    board.set_quiescing(slot)
    board.process(slot).connections = 12
    process = board.snapshot().processes[slot]
    assert (process.pid, process.generation, process.quiescing, process.connections) == (
        4321,
        5,
        True,
        12,
    )
    assert len(process.workers) == 4
