"""The prefork MPM's own rules: spare *servers* (processes) grow and shrink with the load.

What every MPM shares (children, signals, graceful restart, -k) is tested on
each MPM in test_mpm.py.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from tests.mpmtools import children, get, mpm_conf, scoreboard, wait_for
from tests.serverproc import run_server


def test_spare_maintenance_grows_under_a_burst_and_shrinks_when_idle(tmp_path: Path) -> None:
    body = mpm_conf(
        "prefork",
        tmp_path,
        StartServers=1,
        MinSpareServers=1,
        MaxSpareServers=2,
        MaxRequestWorkers=10,
    )
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        wait_for(lambda: len(children(server)) == 1)
        sb = scoreboard(server)
        try:
            threads = [threading.Thread(target=get, args=(server, "/?sleep=8")) for _ in range(6)]
            for t in threads:
                t.start()
            # the pool grows (1, 2, 4 children a second) until each slow request holds a
            # child (W); 8 s of sleep leaves room for a slow machine before the first ends
            wait_for(lambda: sb.status_letters().count("W") >= 6, timeout=20)
            for t in threads:
                t.join(timeout=30)
            # idle again: maintenance stops one extra child a second, down to MaxSpareServers
            wait_for(lambda: sb.counts()[1] <= 2 and len(children(server)) <= 3, timeout=30)
        finally:
            sb.close()


@pytest.mark.skipif(not hasattr(os, "SCHED_BATCH"), reason="Linux scheduling policies")
def test_children_run_as_sched_batch_and_the_parent_as_started(tmp_path: Path) -> None:
    body = mpm_conf("prefork", tmp_path, StartServers=1, MinSpareServers=1, MaxSpareServers=2)
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        # a child woken for a connection does not preempt one in the middle of a request
        assert int(get(server, "/?policy")) == os.SCHED_BATCH
        assert os.sched_getscheduler(server.pid) == os.sched_getscheduler(0)
