"""The threaded MPMs' own behaviour: spare threads, event's epoll, -X, switching MPM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import psutil
import pytest

from tests.mpmtools import children, get, mpm_conf, scoreboard, wait_for
from tests.serverproc import Server, recv_all, run_server


def worker_states(server: Server) -> str:
    """The Scoreboard letters of live children's threads."""
    sb = scoreboard(server)
    try:
        letters: str = sb.status_letters()
        return letters
    finally:
        sb.close()


def live_processes(server: Server) -> int:
    sb = scoreboard(server)
    try:
        return sum(1 for child in range(sb.server_limit) if sb.process(child).pid)
    finally:
        sb.close()


def two_children(mpm: str, root: Path, threads: int, extra: str = "") -> str:
    """A configuration of two children of ``threads`` threads each, both kept when idle."""
    return mpm_conf(
        mpm,
        root,
        extra,
        StartServers=2,
        ServerLimit=2,
        ThreadsPerChild=threads,
        MinSpareThreads=threads,
        MaxSpareThreads=2 * threads,
        MaxRequestWorkers=2 * threads,
    )


def wait_for_two_idle_children(server: Server, threads: int) -> None:
    idle = 2 * threads
    wait_for(lambda: live_processes(server) == 2 and worker_states(server).count("_") == idle)


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_spare_threads_grow_the_pool_under_a_burst_and_shrink_it_when_idle(
    tmp_path: Path, mpm: str
) -> None:
    body = mpm_conf(
        mpm,
        tmp_path,
        StartServers=1,
        ThreadsPerChild=4,
        MinSpareThreads=2,
        MaxSpareThreads=6,
        MaxRequestWorkers=16,
    )
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        wait_for(lambda: live_processes(server) == 1)
        # 12 s of sleep: a loaded machine may take seconds to fork and start the children
        threads = [threading.Thread(target=get, args=(server, "/?sleep=12")) for _ in range(10)]
        for t in threads:
            t.start()
        # ten requests hold ten threads (W): with fewer than MinSpareThreads idle threads
        # left, maintenance spawns whole children (4 threads each) until there are enough
        wait_for(lambda: worker_states(server).count("W") >= 10, timeout=25)
        assert live_processes(server) >= 3
        for t in threads:
            t.join(timeout=30)
        # idle: above MaxSpareThreads idle threads, one child a second is stopped
        wait_for(lambda: live_processes(server) == 1 and len(children(server)) == 1, timeout=30)
        get(server)


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_graceful_restart_brings_the_new_generation_back_to_start_servers(
    tmp_path: Path, mpm: str
) -> None:
    # ServerLimit = StartServers: at the restart the old children hold every slot. They
    # finish at different times; the new child started in the first freed slot has
    # idle threads enough for MinSpareThreads, so spare maintenance alone would leave
    # the new generation with one child (one core) for good
    body = two_children(mpm, tmp_path, threads=1)
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        wait_for_two_idle_children(server, threads=1)
        old = children(server)
        threads = []
        for busy, seconds in ((1, 1), (2, 5)):  # one request per child: one thread each
            threads.append(threading.Thread(target=get, args=(server, f"/?sleep={seconds}")))
            threads[-1].start()
            wait_for(lambda n=busy: worker_states(server).count("W") == n, timeout=20)
        os.kill(server.pid, signal.SIGUSR1)
        for t in threads:
            t.join(timeout=30)

        def two_new() -> bool:
            kids = children(server)
            return len(kids) == 2 and not kids & old and live_processes(server) == 2

        wait_for(two_new, timeout=20)
        get(server)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_worker_children_keep_to_a_cpu_each_when_there_are_enough(
    tmp_path: Path,
) -> None:
    body = two_children("worker", tmp_path, threads=4)
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        wait_for_two_idle_children(server, threads=4)
        shares = sorted(psutil.Process(pid).cpu_affinity() for pid in children(server))
        assert len(shares) == 2 and shares[0] != shares[1] and len(shares[0]) == 1, shares
        assert psutil.Process(server.pid).cpu_affinity() == sorted(os.sched_getaffinity(0))
        get(server)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs")
def test_the_winnt_child_keeps_to_one_cpu(tmp_path: Path) -> None:
    body = mpm_conf("winnt", tmp_path, ThreadsPerChild=4)
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        wait_for(lambda: len(children(server)) == 1 and worker_states(server).count("_") == 4)
        (child,) = children(server)
        assert len(psutil.Process(child).cpu_affinity()) == 1
        assert psutil.Process(server.pid).cpu_affinity() == sorted(os.sched_getaffinity(0))
        get(server)


@pytest.mark.parametrize("mpm", ["worker", "event"])
def test_children_share_a_burst_of_keep_alive_connections(tmp_path: Path, mpm: str) -> None:
    # The kernel wakes the first child that waits in epoll, and a child is back waiting
    # microseconds after each accept: left alone, one child takes all 16 and serves them
    # on one core. A child holding two more than its peer stands aside.
    body = two_children(mpm, tmp_path, threads=16, extra="KeepAliveTimeout 60")
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        wait_for_two_idle_children(server, threads=16)
        held: list[socket.socket] = []
        try:
            for _ in range(16):  # one after another: each answered, then kept open
                s = socket.create_connection((server.host, server.port), timeout=10)
                held.append(s)
                s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")

            def per_child() -> list[int]:
                counts = []
                for pid in children(server):
                    sockets = psutil.Process(pid).net_connections("tcp")
                    counts.append(
                        sum(
                            c.status == "ESTABLISHED" and c.laddr.port == server.port
                            for c in sockets
                        )
                    )
                return sorted(counts)

            counts = wait_for(lambda: (c := per_child()) and sum(c) == 16 and c, timeout=10)
            assert len(counts) == 2 and counts[1] - counts[0] <= 2, counts
            sb = scoreboard(server)
            try:  # and each child says so in the scoreboard
                published = [sb.process(c).connections for c in range(sb.server_limit)]
            finally:
                sb.close()
            assert sorted(published) == counts
            for s in held:  # every connection still served
                s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
        finally:
            for s in held:
                s.close()


StartEvent = Callable[..., Server]


@pytest.fixture
def event(tmp_path: Path) -> Iterator[StartEvent]:
    """``event(extra, **directives)``: an event server, 2 children x 4 threads by default."""
    with ExitStack() as stack:

        def start(extra: str = "", **numbers: int) -> Server:
            settings = {
                "StartServers": 2,
                "ThreadsPerChild": 4,
                "MinSpareThreads": 4,
                "MaxSpareThreads": 16,
                **numbers,
            }
            body = mpm_conf("event", tmp_path, extra, **settings)
            return stack.enter_context(run_server(tmp_path, body, mode="-DFOREGROUND"))

        yield start


def test_event_holds_a_thousand_idle_keep_alive_connections_without_a_thread_each(
    event: StartEvent,
) -> None:
    # 2 children x 4 threads; each child may hold 4 + 4 x 200 connections
    server = event("KeepAliveTimeout 60", AsyncRequestWorkerFactor=200)
    idle: list[socket.socket] = []
    try:
        for _ in range(1000):
            s = socket.create_connection((server.host, server.port), timeout=10)
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            idle.append(s)
        for s in idle:  # every one answered, and still open (keep-alive)
            assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")

        def held() -> bool:
            sb = scoreboard(server)
            try:
                return sum(sb.process(c).keep_alive for c in range(sb.server_limit)) == 1000
            finally:
                sb.close()

        # they wait in the children's epolls: 8 threads, 1,000 connections, all idle
        wait_for(held, timeout=20)
        assert worker_states(server).count("_") == 8
        # meanwhile another client keeps being served, on new and kept connections
        for _ in range(50):
            get(server)
        with socket.create_connection((server.host, server.port), timeout=10) as s:
            for _ in range(20):
                s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
                assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
        # and the idle ones are still alive: one more request on each of a few
        for s in idle[:: len(idle) // 10]:
            s.sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            assert s.recv(4096).startswith(b"HTTP/1.1 200 OK")
    finally:
        for s in idle:
            s.close()


def test_event_slowloris_holds_no_thread_and_is_cut_off_by_the_header_timeout(
    event: StartEvent,
) -> None:
    server = event(
        "LoadModule reqtimeout_module modules/mod_reqtimeout.so\nRequestReadTimeout header=3",
        StartServers=1,
    )
    with socket.create_connection((server.host, server.port), timeout=20) as slow:
        slow.sendall(b"GET / HTTP/1.1\r\n")
        states = []
        for i in range(8):  # a header line every 0.25 s
            slow.sendall(f"X-Trickle-{i}: y\r\n".encode())
            get(server)  # the one child keeps serving others meanwhile
            time.sleep(0.15)  # the line has long been read: look between two lines
            states.append(worker_states(server))
            time.sleep(0.1)
        # No thread is left reading the slow head: a thread that held it would show R in
        # every sample. (A loaded machine may still catch a thread reading a line.)
        assert sum("R" in s for s in states) <= 2, states
        assert all("W" not in s and "_" in s for s in states), states
        reply = recv_all(slow, timeout=20)
    assert reply.startswith(b"HTTP/1.1 408 Request Timeout")


def test_event_times_out_many_slow_heads_at_once_and_lingers_in_its_epoll(
    event: StartEvent,
) -> None:
    server = event(
        "LoadModule reqtimeout_module modules/mod_reqtimeout.so\nRequestReadTimeout header=2",
        StartServers=1,
        AsyncRequestWorkerFactor=10,  # room for 4 + 4 x 10 connections in the one child
    )
    slow = [socket.create_connection((server.host, server.port), timeout=20) for _ in range(20)]
    try:
        for s in slow:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # and then nothing: never the blank line

        def lingering() -> int:
            sb = scoreboard(server)
            try:
                return sum(sb.process(c).lingering_close for c in range(sb.server_limit))
            finally:
                sb.close()

        # each gets its 408, then the server reads what the client may still send (httpd's
        # lingering close) -- all of them together in the child's epoll, none in a thread
        wait_for(lambda: lingering() >= 15, timeout=20, step=0.05)
        for s in slow:
            assert recv_all(s, timeout=20).startswith(b"HTTP/1.1 408 Request Timeout")
    finally:
        for s in slow:
            s.close()
    wait_for(lambda: lingering() == 0, timeout=20)
    get(server)


def test_event_keeps_serving_others_while_a_slow_request_holds_the_leader(
    event: StartEvent,
) -> None:
    server = event(StartServers=1, MinSpareThreads=1)
    slow: list[str] = []
    t = threading.Thread(target=lambda: slow.append(get(server, "/?sleep=6")))
    t.start()
    try:
        wait_for(lambda: "W" in worker_states(server))
        # the thread serving the slow request led the epoll; another takes over
        for _ in range(20):
            get(server)
        assert slow == []  # all twenty answered while the slow one still ran
    finally:
        t.join(timeout=30)
    assert slow and slow[0].isdigit()


def test_event_answers_a_request_sent_while_its_connection_is_being_served(
    event: StartEvent,
) -> None:
    """The next request arrives while a thread still serves the first on the same
    connection: its epoll edge goes to another thread, and the input must not be left
    unseen (an edge-triggered epoll reports it once)."""
    server = event(StartServers=1, MinSpareThreads=1)
    with server.connect(timeout=30) as s:
        # a first request, so that the connection waits in epoll (a new connection's first
        # request is served before it is registered, and registering reports what is there)
        s.sendall(b"GET /?first HTTP/1.1\r\nHost: t\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        s.sendall(b"GET /?sleep=1 HTTP/1.1\r\nHost: t\r\n\r\n")
        wait_for(lambda: "W" in worker_states(server))
        s.sendall(b"GET /?second HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        data = recv_all(s, timeout=30)
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 2


def test_event_answers_a_pipelined_batch_larger_than_one_read(event: StartEvent) -> None:
    """3,000 requests in one send (about 100 KiB, more than one 64 KiB read) on a connection
    already waiting in epoll: every one is answered, the input taking several reads and
    arriving over several edges, some while a thread holds the connection."""
    server = event("MaxKeepAliveRequests 0")
    batch = b"GET / HTTP/1.1\r\nHost: t\r\n\r\n" * 2999
    batch += b"GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    with server.connect(timeout=30) as s:
        s.sendall(b"GET /?first HTTP/1.1\r\nHost: t\r\n\r\n")
        assert s.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
        # sent from a thread: the answers may fill the socket buffers before the batch is out
        sender = threading.Thread(target=s.sendall, args=(batch,))
        sender.start()
        data = recv_all(s, timeout=30, limit=1 << 26)
        sender.join(timeout=30)
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 3000


def test_dash_x_runs_one_event_child_in_the_foreground(tmp_path: Path) -> None:
    body = mpm_conf("event", tmp_path, ThreadsPerChild=6)
    with run_server(tmp_path, body, mode="-X") as server:
        proc = psutil.Process(server.pid)
        pids = {get(server) for _ in range(20)}
        assert pids == {str(server.pid)}  # no parent and children: this process serves
        assert proc.children() == []
        wait_for(lambda: proc.num_threads() >= 6)  # the threads start while it serves
        os.kill(server.pid, signal.SIGTERM)
        assert server.proc.wait(timeout=20) == 0


@pytest.mark.parametrize("mpm", ["worker", "event", "winnt"])
def test_thread_stack_size_sets_the_serving_threads_stacks(tmp_path: Path, mpm: str) -> None:
    body = mpm_conf(mpm, tmp_path, ThreadsPerChild=4, ThreadStackSize=512 * 1024)
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        assert {get(server, "/?stack") for _ in range(8)} == {str(512 * 1024)}


@pytest.mark.parametrize("size", [1000, 2**50])  # under Python's floor; more than maps
def test_a_thread_stack_size_the_system_refuses_leaves_the_default(
    tmp_path: Path, size: int
) -> None:
    body = mpm_conf("event", tmp_path, ThreadsPerChild=4, ThreadStackSize=size)
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        assert 1000 < int(get(server, "/?stack")) < 2**50
        wait_for(lambda: "AH02436" in server.log_text())
        assert (
            "[mpm_event:warn] [pid" in server.log_text()
            and f"AH02436: WARNING: ThreadStackSize of {size} is inappropriate, using default"
            in server.log_text()
        )


def test_full_restart_switches_mpm_and_graceful_restart_refuses(tmp_path: Path) -> None:
    body = mpm_conf("prefork", tmp_path, StartServers=2, MinSpareServers=1, MaxSpareServers=3)
    with run_server(tmp_path, body, mode="-DFOREGROUND") as server:
        # the same file, asking for event: its own LoadModule and numbers instead of prefork's
        conf = server.root / "mpmd.conf"
        prefork_part = mpm_conf(
            "prefork", tmp_path, StartServers=2, MinSpareServers=1, MaxSpareServers=3
        )
        event_part = mpm_conf("event", tmp_path, StartServers=2, ThreadsPerChild=4)
        conf.write_text(conf.read_text().replace(prefork_part, event_part))
        assert "mpm_event_module" in conf.read_text()
        os.kill(server.pid, signal.SIGUSR1)
        wait_for(lambda: "MP00042: a graceful restart cannot change the MPM" in server.log_text())
        get(server)
        os.kill(server.pid, signal.SIGHUP)
        wait_for(lambda: "MP00044: switching MPM: prefork -> event" in server.log_text())
        wait_for(lambda: "(event)" in server.log_text())
        kids = wait_for(lambda: children(server) if len(children(server)) == 2 else None)
        wait_for(lambda: all(psutil.Process(pid).num_threads() >= 4 for pid in kids))
        for _ in range(10):
            assert int(get(server)) in kids


@pytest.mark.parametrize("mpm", ["prefork", "worker", "event", "winnt"])
def test_dash_v_names_the_loaded_mpm(tmp_path: Path, mpm: str) -> None:
    conf = tmp_path / "mpmd.conf"
    conf.write_text(f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so\n")
    out = subprocess.run(
        [sys.executable, "-m", "mpmd", "-f", str(conf), "-V"],
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    assert f"Server MPM:     {mpm}\n" in out
    threaded = "no" if mpm == "prefork" else "yes (fixed thread count)"
    assert f"  threaded:     {threaded}\n" in out


def connections_held(server: Server) -> int:
    sb = scoreboard(server)
    try:
        return sum(sb.process(c).connections for c in range(sb.server_limit))
    finally:
        sb.close()


@pytest.mark.parametrize("accept_filter", ["", "AcceptFilter http none"])
def test_a_connection_that_sends_nothing_is_not_accepted_by_default(
    event: StartEvent, accept_filter: str
) -> None:
    # httpd's AcceptFilter http data (TCP_DEFER_ACCEPT): the kernel keeps a silent
    # connection to itself; with "none" the child accepts it and holds it in its epoll
    server = event(accept_filter)
    silent = [socket.create_connection((server.host, server.port), timeout=10) for _ in range(3)]
    try:
        if accept_filter:
            wait_for(lambda: connections_held(server) == 3, timeout=10)
        else:
            time.sleep(1.5)  # several housekeeping scans: the count would show them
            assert connections_held(server) == 0
        silent[0].sendall(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
        assert silent[0].recv(4096).startswith(b"HTTP/1.1 200 OK")
        wait_for(lambda: connections_held(server) == (3 if accept_filter else 1), timeout=10)
    finally:
        for s in silent:
            s.close()
