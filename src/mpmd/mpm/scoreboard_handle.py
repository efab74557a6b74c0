"""The write side of one worker slot: what a serving thread does to the scoreboard per request.

``WorkerHandle`` is the hot path of ``scoreboard.py``'s table: every request
calls ``begin_request`` and ``end_request``, and the MPM sets the state letter
around them. The layout, the ownership rules (a slot is written by the one
thread that serves in it, so there is no lock) and the table itself are
``scoreboard.py``'s; make a handle with ``Scoreboard.handle``.

This module is compiled with the request path (mypyc, ``setup.py``). Its
module-level names are ``Final`` so that the compiled code holds them in C
statics rather than looking them up per call; the duration buckets are found
by a loop over native ints, not ``bisect``.

Cost, counted by callgrind (``bench/hotpath.py`` and a loop of single calls):
``begin_request`` ≈ 2,000 and ``end_request`` ≈ 4,200 instructions per
request compiled, against 3,400 and 6,500 as plain Python (about 0.3 + 0.5 µs
on the 2-core dev machine before the compile). Each writes the slot through
one ``struct.pack_into`` on the mmap (a prototype setting ctypes fields one
by one, nine counters, measured 0.37 + 0.89 µs); ``end_request`` reads the
counters back from the slot rather than keeping copies in the handle (one
``unpack_from`` more), so a raw ``slot.access_count += 1`` and the handle
never disagree. ``set_state`` writes the letter as one byte of the mmap.
"""

from __future__ import annotations

import mmap
import os
import threading
import time
from typing import TYPE_CHECKING, Final

from mpmd.mpm.scoreboard import (
    BEGIN_VIEW,
    BUCKETS,
    BUSY_KEEPALIVE,
    BUSY_WRITE,
    CLIENT_OFFSET,
    CLIENT_VIEW,
    CONN_BASE_OFFSET,
    COUNTS_VIEW,
    CPU_RECORD_INTERVAL,
    DEFAULT_PROTOCOL,
    DURATION_BOUNDS_US,
    END_VIEW,
    IDLE_VIEW,
    LAST_USED_OFFSET,
    PROTOCOL_OFFSET,
    PROTOCOL_VIEW,
    READY,
    REQUESTS_WORD,
    SERVED_VIEW,
    STATUS_OFFSET,
    VHOST_OFFSET,
    VHOST_VIEW,
    WORKER_SIZE,
    ProcessScore,
    WorkerScore,
)

if TYPE_CHECKING:
    from mpmd.mpm.scoreboard import Scoreboard

# bound once: a method lookup per call is a measurable share of the hot path
_pack_end: Final = END_VIEW.pack_into
_pack_begin: Final = BEGIN_VIEW.pack_into
_unpack_counts: Final = COUNTS_VIEW.unpack_from
_unpack_served: Final = SERVED_VIEW.unpack_from
_pack_served: Final = SERVED_VIEW.pack_into
_pack_idle: Final = IDLE_VIEW.pack_into
_pack_client: Final = CLIENT_VIEW.pack_into
_pack_vhost: Final = VHOST_VIEW.pack_into
_pack_protocol: Final = PROTOCOL_VIEW.pack_into
_now: Final = time.time
# a list, not the tuple: compiled, a Final tuple of literals is rebuilt where it is used
_BOUNDS: Final[list[int]] = list(DURATION_BOUNDS_US)
_REQUESTS_WORD: Final[int] = REQUESTS_WORD
_BUCKETS: Final[int] = BUCKETS
_BUSY_WRITE: Final = BUSY_WRITE
_READY: Final = READY
_CPU_RECORD_INTERVAL: Final[float] = CPU_RECORD_INTERVAL


class WorkerHandle:
    """What one serving thread uses to keep its slot current; make one per thread.

    ``slot`` is the raw ``WorkerScore`` (``handle.slot.status = b"R"`` works);
    ``process`` is its process's ``ProcessScore``. The handle remembers the
    client and vhost it last wrote and skips writing them again (on a
    keep-alive connection they do not change), so it must be the only writer
    of those two fields.
    """

    def __init__(
        self,
        mm: mmap.mmap,
        offset: int,
        slot: WorkerScore,
        process: ProcessScore,
        board: Scoreboard | None = None,
    ) -> None:
        self._mm = mm
        self._offset = offset
        # where the fields written per request or per connection are, found once
        self._status_at = offset + STATUS_OFFSET
        self._last_used_at = offset + LAST_USED_OFFSET
        self._conn_base_at = offset + CONN_BASE_OFFSET
        # the slot as 8-byte words: one counter in a place known only per request
        # (which status class, which duration bucket) is one item increment
        self._words = memoryview(mm)[offset : offset + WORKER_SIZE].cast("Q")
        self.slot = slot
        self.process = process
        # the table the slot is in: what a handler that reads the scoreboard
        # (mod_status, metrics) finds through the connection's handle
        self.board = board
        self._start: float = slot.start_time
        self._client: str | None = None
        self._vhost: str | None = None
        self._cpu_due = 0.0  # end_request records the CPU times when a request ends past this

    def start(self) -> None:
        """The thread is up and about to wait for connections (Apache: STARTING → READY).

        Records pid, thread id and generation, starts this child's counters
        from zero, and sets the protocol to ``http/1.1``.
        """
        slot = self.slot
        slot.pid = os.getpid()
        slot.tid = threading.get_native_id()
        slot.generation = self.process.generation
        slot.child_access_base = slot.conn_access_base = slot.access_count
        slot.child_bytes_base = slot.conn_bytes_base = slot.bytes_served
        slot.cpu_user = slot.cpu_system = 0.0
        slot.cpu_children_user = slot.cpu_children_system = 0.0
        self._cpu_due = 0.0
        self.set_protocol(DEFAULT_PROTOCOL)
        _pack_idle(self._mm, self._last_used_at, _now(), _READY)

    def set_state(self, letter: bytes) -> None:
        """Set the state letter (one of ``STATES``, as bytes: ``b"R"``)."""
        self._mm[self._status_at] = letter[0]

    def set_protocol(self, protocol: str) -> None:
        """The connection's protocol as mod_status shows it (``http/1.1``, ``h2``)."""
        _pack_protocol(
            self._mm,
            self._offset + PROTOCOL_OFFSET,
            protocol.encode("latin-1", "backslashreplace"),
        )

    def begin_request(self, client: str, vhost: str, request_line: str) -> None:
        """A request has been read: state W, start time now, its client, vhost and line."""
        mm = self._mm
        offset = self._offset
        if client != self._client:
            self._client = client
            _pack_client(mm, offset + CLIENT_OFFSET, client.encode("latin-1", "backslashreplace"))
        if vhost != self._vhost:
            self._vhost = vhost
            _pack_vhost(mm, offset + VHOST_OFFSET, vhost.encode("latin-1", "backslashreplace"))
        now: float = _now()
        self._start = now
        _pack_begin(
            mm,
            self._status_at,
            _BUSY_WRITE,
            now,
            request_line[:128].encode("latin-1", "backslashreplace"),
        )

    def end_request(
        self,
        bytes_sent: int,
        duration_us: int,
        next_state: bytes = BUSY_KEEPALIVE,
        status: int = 0,
    ) -> None:
        """The request is done: count it for slot, child and connection, then ``next_state``.

        ``next_state`` is K (the connection stays open, the default), C (it is
        being closed) or _ (call ``idle()`` instead, which also starts the next
        connection's counters). ``status`` is the response's status code,
        counted in its class (0, or a code outside 100-599: "other"); the
        duration is counted in its bucket. The stop time is the start time plus
        ``duration_us``: no second clock read. At most once a second the
        process's CPU times are recorded too (``record_times``), as httpd
        records them at the end of a request.
        """
        mm = self._mm
        offset = self._offset
        accesses, served, total = _unpack_counts(mm, offset)
        stop = self._start + duration_us * 1e-6
        _pack_end(
            mm,
            offset,
            accesses + 1,
            served + bytes_sent,
            total + duration_us,
            duration_us,
            stop,
            stop,
            next_state,
        )
        # status class and duration bucket in one counter: one increment ("le": a
        # duration equal to a bound counts in that bound's bucket)
        bucket = 0
        for bound in _BOUNDS:
            if duration_us <= bound:
                break
            bucket += 1
        row = status // 100 if 100 <= status < 600 else 0
        self._words[_REQUESTS_WORD + row * _BUCKETS + bucket] += 1
        if stop >= self._cpu_due:
            self._cpu_due = stop + _CPU_RECORD_INTERVAL
            self.record_times()

    def idle(self) -> None:
        """The connection is over; waiting for the next one (Apache: READY).

        Resets the connection counters, as Apache does on READY.
        """
        mm = self._mm
        accesses, served = _unpack_served(mm, self._offset)
        _pack_served(mm, self._conn_base_at, accesses, served)
        _pack_idle(mm, self._last_used_at, _now(), _READY)

    def record_times(self) -> None:
        """Store the process's CPU seconds (mod_status's CPU column); ≈ 0.5 µs, not per request."""
        times = os.times()
        slot = self.slot
        slot.cpu_user = times.user
        slot.cpu_system = times.system
        slot.cpu_children_user = times.children_user
        slot.cpu_children_system = times.children_system
