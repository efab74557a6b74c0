"""Reading the scoreboard: the whole table, or the numbers mod_status shows, as plain values.

``scoreboard.py`` owns the shared memory: its layout, creating and attaching
it, and who writes which slot. This module only reads, and only from copies:
each reading asks the ``Scoreboard`` for a copy of the part of the table it
needs (``copy_header``, ``copy_statuses``, ``copy_processes``,
``copy_workers``) and works on that. It never holds the mapping, so it cannot
write a slot, and nothing here runs on the per-request path. Its readers are
mod_status, the metrics module, spare maintenance, the advisor and the
tests, through ``Scoreboard.snapshot()``, ``counts()``, ``totals()``,
``request_counters()`` and ``status_letters()``, which call the functions of
the same names here.

A copy is taken while children write, so a slot may be caught half-way
through an update (the tolerance ``scoreboard.py`` explains), never with a
torn number. Strings come back as str decoded as latin-1; escaping them for
HTML or a log is the renderer's job, as ``ap_escape_logitem`` is mod_status's.

Cost, measured with ``timeit`` (Python 3.11, the 2-core dev machine), for
16 x 64 slots: ``status_letters()`` ≈ 1.5 µs, ``counts()`` ≈ 20 µs,
``totals()`` ≈ 0.11 ms (0.16 ms since a slot is 1152 bytes), ``snapshot()``
≈ 3.2 ms, ``request_counters()`` ≈ 1.2 ms with every slot used (it skips a
slot that never served). Through the ``Scoreboard``
methods each costs ≈ 0.5 µs more: a method imports this module when called,
since importing it at the top of ``scoreboard.py`` would be a cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from mpmd.mpm.scoreboard import (
    BUCKETS,
    DEAD,
    GRACEFUL,
    IDLE_KILL,
    PROCESS_ROW,
    READY,
    REQUESTS_WORD,
    STARTING,
    STATUS_CLASSES,
    WORKER_ROW,
    WORKER_SIZE,
)

if TYPE_CHECKING:
    from mpmd.mpm.scoreboard import Scoreboard


# -- plain values -----------------------------------------------------------------


@dataclass(slots=True)
class WorkerInfo:
    """One worker slot as it was when the snapshot was taken."""

    child: int  # process slot (mod_status's Srv is f"{child}-{generation of the process}")
    thread: int
    status: str  # one of STATES
    pid: int
    tid: int
    generation: int
    access_count: int
    bytes_served: int
    my_access_count: int
    my_bytes_served: int
    conn_count: int
    conn_bytes: int
    start_time: float
    stop_time: float
    last_used: float
    duration_us: int  # of the last request (mod_status's Req is stop - start)
    total_duration_us: int  # all requests of the slot (mod_status's Dur)
    cpu_user: float  # the process's CPU seconds when the slot last recorded them
    cpu_system: float
    cpu_children_user: float  # ... of the process's reaped children
    cpu_children_system: float
    client: str
    protocol: str
    vhost: str
    request: str


@dataclass(slots=True)
class ProcessInfo:
    """One process slot and its workers."""

    slot: int
    pid: int  # 0: no process
    generation: int
    bucket: int
    quiescing: bool
    not_accepting: bool
    connections: int
    write_completion: int
    keep_alive: int
    lingering_close: int
    suspended: int
    wait_io: int
    start_time: float
    workers: tuple[WorkerInfo, ...]


@dataclass(slots=True)
class Snapshot:
    server_limit: int
    thread_limit: int
    max_servers: int
    threads_per_child: int
    running_generation: int
    config_generation: int
    restart_time: float
    parent_pid: int
    processes: tuple[ProcessInfo, ...]


class Counts(NamedTuple):
    """Workers as mod_status and spare maintenance count them."""

    busy: int  # R W K D C L G of live, non-quiescing processes
    idle: int  # _ of live, non-quiescing processes of the running generation
    graceful: int  # G (also counted in busy)
    processes: int  # live processes
    stopping: int  # live processes that are quiescing


class Totals(NamedTuple):
    """mod_status's Total Accesses / Total kBytes / Total Duration."""

    accesses: int
    bytes: int
    duration_us: int

    @property
    def kbytes(self) -> int:
        return self.bytes >> 10

    @property
    def duration_ms(self) -> int:
        return self.duration_us // 1000


class RequestCounters(NamedTuple):
    """Every slot's request counters summed: what the metrics module exposes.

    Unlike ``Totals`` (mod_status's rule), every slot counts, so each number
    only ever grows while the scoreboard lives.
    """

    accesses: int
    bytes: int
    duration_us: int
    # requests[c][b]: status class STATUS_CLASSES[c], duration bucket b
    # (DURATION_BOUNDS_US[b], the last bucket longer than every bound)
    requests: tuple[tuple[int, ...], ...]

    @property
    def by_class(self) -> dict[str, int]:
        """Requests per status class name ("2xx", ..., "other")."""
        return {name: sum(row) for name, row in zip(STATUS_CLASSES, self.requests, strict=True)}

    @property
    def buckets(self) -> tuple[int, ...]:
        """Requests per duration bucket, whatever their status (not cumulative)."""
        return tuple(map(sum, zip(*self.requests, strict=True)))


# -- the readings -----------------------------------------------------------------


def status_letters(board: Scoreboard) -> str:
    """Apache's ``Scoreboard:`` string: a letter per slot, dead slots beyond the limits left out."""
    header = board.header
    statuses = board.copy_statuses().replace(b"\0", DEAD)
    max_servers, per_child = header.max_servers, header.threads_per_child
    thread_limit = board.thread_limit
    if max_servers >= board.server_limit and per_child >= thread_limit:
        return statuses.decode("latin-1")
    rows = []
    for i in range(board.server_limit):
        row = statuses[i * thread_limit : (i + 1) * thread_limit]
        if i >= max_servers:
            rows.append(row.replace(DEAD, b""))
        else:
            rows.append(row[:per_child] + row[per_child:].replace(DEAD, b""))
    return b"".join(rows).decode("latin-1")


def counts(board: Scoreboard) -> Counts:
    """Busy and idle workers, as mod_status (and spare maintenance) count them."""
    statuses = board.copy_statuses()
    generation = board.header.running_generation
    thread_limit = board.thread_limit
    busy = idle = graceful = live = stopping = 0
    for i, (pid, process_generation, _, quiescing, *_rest) in enumerate(_process_rows(board)):
        if not pid:
            continue
        live += 1
        if quiescing:
            stopping += 1
            continue
        row = statuses[i * thread_limit : (i + 1) * thread_limit]
        ready = row.count(READY)
        if process_generation == generation:
            idle += ready
        # mod_status: busy is anything but ready, dead, starting, idle-kill
        not_busy = (
            ready + row.count(DEAD) + row.count(b"\0") + row.count(STARTING) + row.count(IDLE_KILL)
        )
        busy += thread_limit - not_busy
        graceful += row.count(GRACEFUL)
    return Counts(busy, idle, graceful, live, stopping)


def totals(board: Scoreboard) -> Totals:
    """Accesses, bytes and duration over every slot that has served (mod_status's totals)."""
    words = memoryview(board.copy_workers()).cast("Q")
    stride = WORKER_SIZE // 8
    statuses = board.copy_statuses()
    accesses = served = duration = 0
    for access_count, bytes_served, total_duration, status in zip(
        words[0::stride], words[1::stride], words[2::stride], statuses, strict=True
    ):
        # mod_status: a slot counts if it has served, or is neither idle nor dead
        if access_count or status not in _NOT_COUNTED:
            accesses += access_count
            served += bytes_served
            duration += total_duration
    return Totals(accesses, served, duration)


def request_counters(board: Scoreboard) -> RequestCounters:
    """Every slot's requests, bytes, duration and request counters, summed."""
    words = memoryview(board.copy_workers()).cast("Q")
    stride = WORKER_SIZE // 8
    cells = len(STATUS_CLASSES) * BUCKETS
    # a slot that never served has counted nothing (end_request increments
    # access_count first): only the others' rows are summed, column by column
    rows = [
        words[base + REQUESTS_WORD : base + REQUESTS_WORD + cells]
        for base in range(0, len(words), stride)
        if words[base]
    ]
    table = list(map(sum, zip(*rows, strict=True))) if rows else [0] * cells
    requests = tuple(tuple(table[i : i + BUCKETS]) for i in range(0, cells, BUCKETS))
    return RequestCounters(
        sum(words[0::stride]), sum(words[1::stride]), sum(words[2::stride]), requests
    )


def snapshot(board: Scoreboard) -> Snapshot:
    """A copy of the whole table as plain values (for mod_status and the advisor)."""
    header = board.copy_header()
    thread_limit = board.thread_limit
    workers = list(WORKER_ROW.iter_unpack(board.copy_workers()))
    processes = []
    for i, row in enumerate(_process_rows(board)):
        first = i * thread_limit
        infos = tuple(_worker_info(i, j, workers[first + j]) for j in range(thread_limit))
        processes.append(_process_info(i, row, infos))
    return Snapshot(
        server_limit=board.server_limit,
        thread_limit=thread_limit,
        max_servers=header.max_servers,
        threads_per_child=header.threads_per_child,
        running_generation=header.running_generation,
        config_generation=header.config_generation,
        restart_time=header.restart_time,
        parent_pid=header.parent_pid,
        processes=tuple(processes),
    )


# -- helpers ----------------------------------------------------------------------

_NOT_COUNTED = frozenset(b"_.\0")


def _process_rows(board: Scoreboard) -> list[tuple[Any, ...]]:
    return list(PROCESS_ROW.iter_unpack(board.copy_processes()))


def _cstring(raw: bytes) -> str:
    """A NUL-terminated (or full-width) field as str, latin-1: never fails."""
    return raw.partition(b"\0")[0].decode("latin-1")


def _process_info(slot: int, row: tuple[Any, ...], workers: tuple[WorkerInfo, ...]) -> ProcessInfo:
    pid, generation, bucket, quiescing, not_accepting, *counters, start_time = row
    connections, write_completion, keep_alive, lingering_close, suspended, wait_io = counters
    return ProcessInfo(
        slot,
        pid,
        generation,
        bucket,
        bool(quiescing),
        bool(not_accepting),
        connections,
        write_completion,
        keep_alive,
        lingering_close,
        suspended,
        wait_io,
        start_time,
        workers,
    )


def _worker_info(child: int, thread: int, row: tuple[Any, ...]) -> WorkerInfo:
    (
        access_count,
        bytes_served,
        total_duration_us,
        duration_us,
        stop_time,
        last_used,
        status,
        start_time,
        request,
        client,
        vhost,
        protocol,
        child_access_base,
        child_bytes_base,
        conn_access_base,
        conn_bytes_base,
        cpu_user,
        cpu_system,
        tid,
        pid,
        generation,
        cpu_children_user,
        cpu_children_system,
    ) = row
    return WorkerInfo(
        child=child,
        thread=thread,
        status="." if status == b"\0" else status.decode("latin-1"),
        pid=pid,
        tid=tid,
        generation=generation,
        access_count=access_count,
        bytes_served=bytes_served,
        my_access_count=access_count - child_access_base,
        my_bytes_served=bytes_served - child_bytes_base,
        conn_count=access_count - conn_access_base,
        conn_bytes=bytes_served - conn_bytes_base,
        start_time=start_time,
        stop_time=stop_time,
        last_used=last_used,
        duration_us=duration_us,
        total_duration_us=total_duration_us,
        cpu_user=cpu_user,
        cpu_system=cpu_system,
        cpu_children_user=cpu_children_user,
        cpu_children_system=cpu_children_system,
        client=_cstring(client),
        protocol=_cstring(protocol),
        vhost=_cstring(vhost),
        request=_cstring(request),
    )
