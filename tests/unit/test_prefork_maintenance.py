"""Prefork's spare maintenance, on a real scoreboard and a stand-in parent (no processes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mpmd.mpm.base import Child
from mpmd.mpm.prefork import Prefork, PreforkConf
from mpmd.mpm.scoreboard import Scoreboard


@pytest.fixture
def parent(tmp_path: Path) -> Iterator[Any]:
    sb = Scoreboard.create(8, 1, path=str(tmp_path / "scoreboard"))
    conf = PreforkConf(start_servers=1, min_spare_servers=1, max_spare_servers=3)
    spawned: list[int] = []
    children: dict[int, Child] = {}

    def spawn(slot: int) -> None:  # as Parent.spawn, without the fork: the slot stays STARTING
        spawned.append(slot)
        children[9000 + slot] = Child(9000 + slot, slot, 0)

    fake = SimpleNamespace(
        config=SimpleNamespace(main=SimpleNamespace(module_conf={"mpm_prefork_module": conf})),
        scoreboard=sb,
        generation=0,
        children=children,
        idle_spawn_rate=1,
        max_workers_logged=False,
        spawned=spawned,
        spawn=spawn,
        log=lambda *a, **k: None,
    )
    try:
        yield fake
    finally:
        sb.close()
        sb.unlink()


def add_child(parent: Any, pid: int, status: bytes) -> None:
    slot = parent.scoreboard.claim_process_slot()
    parent.scoreboard.set_process(slot, pid, 0)
    parent.scoreboard.worker(slot, 0).status = status
    parent.children[pid] = Child(pid, slot, 0)


def test_a_child_still_starting_counts_as_idle(parent: Any) -> None:
    add_child(parent, 1001, b"S")
    Prefork().perform_idle_server_maintenance(parent)
    assert parent.spawned == []


def test_the_spawn_rate_doubles_while_short_and_resets_when_the_shortage_ends(
    parent: Any,
) -> None:
    add_child(parent, 1001, b"W")
    maintenance = Prefork().perform_idle_server_maintenance
    maintenance(parent)
    assert len(parent.spawned) == 1
    assert parent.idle_spawn_rate == 2
    maintenance(parent)  # the new child is still STARTING: it counts as idle, no more spawned
    assert len(parent.spawned) == 1
    assert parent.idle_spawn_rate == 1
