"""worker/event/winnt numbers (httpd's clamping and warnings) and spare-thread maintenance."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mpmd.mpm import mpm_for
from mpmd.mpm.base import Child
from mpmd.mpm.placement import cpu_for
from mpmd.mpm.scoreboard import Scoreboard
from mpmd.mpm.threaded import ThreadedConf, busier_than_a_peer, check_config
from mpmd.mpm.winnt import check_config as winnt_check_config
from tests.unit.confkit import fail, load


def clamp(**numbers: Any) -> tuple[ThreadedConf, list[str]]:
    conf = ThreadedConf(**numbers)
    warnings: list[str] = []
    check_config(conf, warnings.append)
    return conf, warnings


def test_max_request_workers_defaults_to_server_limit_times_threads_per_child() -> None:
    conf, warnings = clamp()
    assert (conf.max_request_workers, conf.active_daemons_limit, warnings) == (400, 16, [])


def test_max_request_workers_is_rounded_down_to_a_multiple_of_threads_per_child() -> None:
    conf, warnings = clamp(max_request_workers=150, threads_per_child=40)
    assert conf.max_request_workers == 120
    assert warnings == [
        "WARNING: MaxRequestWorkers of 150 is not an integer multiple of ThreadsPerChild of "
        "40, decreasing to nearest multiple 120, for a maximum of 3 servers."
    ]


def test_threads_per_child_above_thread_limit_is_lowered_with_httpds_warning() -> None:
    conf, warnings = clamp(threads_per_child=100, thread_limit=64)
    assert conf.threads_per_child == 64
    assert warnings[0] == (
        "WARNING: ThreadsPerChild of 100 exceeds ThreadLimit of 64 threads, decreasing to 64. "
        "To increase, please see the ThreadLimit directive."
    )


def test_max_request_workers_beyond_server_limit_is_capped() -> None:
    conf, warnings = clamp(max_request_workers=1000, server_limit=4)
    assert conf.max_request_workers == 100
    assert warnings == [
        "WARNING: MaxRequestWorkers of 1000 would require 40 servers and would exceed "
        "ServerLimit of 4, decreasing to 100. To increase, please see the ServerLimit directive."
    ]


def test_max_request_workers_below_threads_per_child_is_raised() -> None:
    conf, warnings = clamp(max_request_workers=10)
    assert conf.max_request_workers == 25
    assert warnings[0].startswith("WARNING: MaxRequestWorkers of 10 is less than ThreadsPerChild")


def test_max_spare_threads_leaves_room_for_a_whole_child_above_min_spare() -> None:
    conf, warnings = clamp(min_spare_threads=75, max_spare_threads=80)
    assert (conf.max_spare_threads, warnings) == (100, [])


def test_winnt_runs_one_child_of_threads_per_child_threads() -> None:
    conf = ThreadedConf(threads_per_child=3000, thread_limit=1920)
    warnings: list[str] = []
    winnt_check_config(conf, warnings.append)
    assert (conf.threads_per_child, conf.start_servers, conf.max_request_workers) == (1920, 1, 1920)
    assert len(warnings) == 1


def test_async_request_worker_factor_must_be_positive(tmp_path: Path) -> None:
    error = fail(tmp_path, "LoadModule mpm_event_module x\nAsyncRequestWorkerFactor 0")
    assert (error.message, error.line) == (
        "AsyncRequestWorkerFactor argument must be a positive number",
        2,
    )


def test_each_mpm_reads_its_own_copy_of_the_shared_directives(tmp_path: Path) -> None:
    config = load(
        tmp_path, "LoadModule mpm_worker_module x\nThreadsPerChild 7\nStartServers 1"
    ).config
    conf = config.main.module_conf["mpm_worker_module"]
    assert (conf.threads_per_child, conf.start_servers) == (7, 1)
    assert config.modules.directives["threadsperchild"].module == "mpm_worker_module"


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ("262144", 262144),
        ("0x40000", 262144),
        ("01000000", 262144),
        ("512k", 512),
        ("0", 0),
        ("k512", 0),
    ],
)
def test_thread_stack_size_is_read_as_httpd_reads_it(tmp_path: Path, value: str, size: int) -> None:
    for mpm in ("worker", "event", "winnt"):
        config = load(tmp_path, f"LoadModule mpm_{mpm}_module x\nThreadStackSize {value}").config
        assert config.main.module_conf[f"mpm_{mpm}_module"].thread_stack_size == size


@pytest.mark.parametrize("value", ["-1", "-0x10", "99999999999999999999"])
def test_thread_stack_size_must_be_a_non_negative_number(tmp_path: Path, value: str) -> None:
    error = fail(tmp_path, f"LoadModule mpm_worker_module x\nThreadStackSize {value}")
    assert (error.message, error.line) == (f"Invalid ThreadStackSize value: {value}", 2)


def test_threaded_directives_are_unknown_to_prefork(tmp_path: Path) -> None:
    error = fail(tmp_path, "LoadModule mpm_prefork_module x\nThreadsPerChild 7")
    assert error.message.startswith("Invalid command 'ThreadsPerChild'")


# -- spare-thread maintenance on a real scoreboard, with a stand-in parent (no processes) --------


@pytest.fixture
def parent(tmp_path: Path) -> Iterator[Any]:
    sb = Scoreboard.create(4, 4, path=str(tmp_path / "scoreboard"))
    conf = ThreadedConf(
        start_servers=1,
        threads_per_child=4,
        min_spare_threads=2,
        max_spare_threads=6,
        server_limit=4,
        max_request_workers=16,
    )
    sb.set_limits(4, 4)
    children: dict[int, Child] = {}
    spawned: list[int] = []

    def spawn(slot: int) -> None:
        spawned.append(slot)
        children[9000 + slot] = Child(9000 + slot, slot, 0)

    config = load(tmp_path, "LoadModule mpm_event_module modules/mod_mpm_event.so").config
    config.main.module_conf["mpm_event_module"] = conf  # a real Config: the MPMs are compiled
    fake = SimpleNamespace(
        config=config,
        scoreboard=sb,
        generation=0,
        children=children,
        idle_spawn_rate=1,
        max_workers_logged=False,
        spawned=spawned,
        spawn=spawn,
        logged=[],
    )
    fake.log = lambda level, message, *a, **k: fake.logged.append(message)
    try:
        yield fake
    finally:
        sb.close()
        sb.unlink()


def add_child(parent: Any, pid: int, statuses: bytes) -> None:
    slot = parent.scoreboard.claim_process_slot()
    parent.scoreboard.set_process(slot, pid, 0)
    for thread, status in enumerate(statuses):
        parent.scoreboard.worker(slot, thread).status = bytes([status])
    parent.children[pid] = Child(pid, slot, 0)


def test_too_few_idle_threads_spawn_whole_children_at_a_doubling_rate(parent: Any) -> None:
    event = mpm_for("event")
    add_child(parent, os.getpid(), b"WWWW")
    event.perform_idle_server_maintenance(parent)
    assert parent.spawned == [1]
    assert parent.idle_spawn_rate == 2


def test_enough_idle_threads_spawn_nothing_and_reset_the_rate(parent: Any) -> None:
    event = mpm_for("event")
    add_child(parent, os.getpid(), b"WW__")
    parent.idle_spawn_rate = 4
    event.perform_idle_server_maintenance(parent)
    assert (parent.spawned, parent.idle_spawn_rate) == ([], 1)


def test_too_many_idle_threads_stop_the_idlest_child_gracefully(parent: Any) -> None:
    event = mpm_for("event")
    add_child(parent, 2**22 + 1, b"W___")  # pids no process has: os.kill finds nobody
    add_child(parent, 2**22 + 2, b"____")
    event.perform_idle_server_maintenance(parent)
    assert parent.children[2**22 + 2].quiescing
    assert not parent.children[2**22 + 1].quiescing


def test_reaching_max_request_workers_is_logged_once(parent: Any) -> None:
    event = mpm_for("event")
    for pid in range(4):
        add_child(parent, 2**22 + 10 + pid, b"WWWW")
    event.perform_idle_server_maintenance(parent)
    event.perform_idle_server_maintenance(parent)
    assert parent.spawned == []
    assert parent.logged == [
        "AH00484: server reached MaxRequestWorkers setting, consider raising the "
        "MaxRequestWorkers setting"
    ]


def test_threaded_children_keep_to_a_cpu_each_when_there_are_enough() -> None:
    assert [cpu_for(slot, 2, [0, 1]) for slot in (0, 1)] == [0, 1]
    assert [cpu_for(slot, 2, [0, 1, 2, 3]) for slot in (0, 1)] == [0, 1]
    assert [cpu_for(slot, 1, [4, 6]) for slot in (0, 1)] == [4, 6]  # winnt's two slots
    assert cpu_for(2, 2, [0, 1]) == 0  # a graceful restart's child shares slot 0's CPU
    assert cpu_for(0, 3, [0, 1]) is None  # more children than CPUs: the kernel's choice
    assert cpu_for(0, 1, [3]) is None  # one CPU: nothing to choose


def test_a_child_steps_aside_only_for_a_peer_that_has_started_accepting(tmp_path: Path) -> None:
    sb = Scoreboard.create(3, 2, path=str(tmp_path / "scoreboard"))
    try:
        generation = sb.header.running_generation
        mine, started, claimed = (sb.claim_process_slot() for _ in range(3))
        assert (mine, started, claimed) == (0, 1, 2)
        for child in (mine, started, claimed):
            sb.set_process(child, 1000 + child)
        sb.handle(started, 0).start()  # its first thread is up: READY
        sb.handle(started, 0).idle()
        peers = [(sb.process(c), sb.worker(c, 0)) for c in (started, claimed)]
        sb.process(started).connections = 3
        # the claimed child (0 connections, still STARTING) is no reason to step aside...
        assert not busier_than_a_peer(4, generation, peers)
        # ...the started one is, once two fewer than this child's
        assert busier_than_a_peer(5, generation, peers)
        assert not busier_than_a_peer(5, generation + 1, peers)  # another generation's
        sb.process(started).not_accepting = 1
        assert not busier_than_a_peer(5, generation, peers)
        sb.process(started).not_accepting = 0
        sb.set_quiescing(started)
        assert not busier_than_a_peer(5, generation, peers)
    finally:
        sb.close()
