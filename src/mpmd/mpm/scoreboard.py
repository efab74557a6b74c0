"""The scoreboard: Apache's shared-memory table of processes and worker slots.

One table per server, sized ``ServerLimit x ThreadLimit`` once, by the parent,
before any child exists. The parent reads it for spare maintenance, mod_status
renders it, the advisor measures it. It owns the layout of that memory,
creating and attaching it, the parent's slot management and the rules for who
writes what; it knows nothing of HTTP or of any MPM. Each serving thread's
hot path, the ``WorkerHandle`` that ``Scoreboard.handle`` makes, is
``scoreboard_handle.py`` (compiled with the request path). Reading the table
as plain values (a snapshot, the counts, the totals, the ``Scoreboard:``
letters) belongs to ``scoreboard_view.py``: the ``Scoreboard`` methods of
those names call it.

Mechanism: a file mapped with ``mmap`` (``MAP_SHARED``). Unless ScoreBoardFile
names one, it is a file with no name (``memfd_create``, memory, never disk), as
httpd's default is anonymous shared memory: a parent killed with SIGKILL leaves
nothing behind. Its ``path`` is then the parent's descriptor in ``/proc``.
Without memfd, it is a named file in ``/dev/shm`` when that exists, else the
temp dir. A forked child keeps using the parent's ``Scoreboard`` object: the
mapping is inherited and shared. A child started as a fresh interpreter
(winnt, no fork) calls ``Scoreboard.attach(path)`` and maps the same file;
nothing here depends on fork. The file is allocated up front
(``posix_fallocate``), so a full ``/dev/shm`` fails at ``create`` rather than
with SIGBUS under load.

Layout, native byte order, every size fixed (``ctypes.Structure`` views):

    GlobalScore      128 bytes  magic, version, sizes (checked by ``attach``),
                                running_generation, config_generation,
                                restart_time, max_servers, threads_per_child
    ProcessScore     64 bytes   one per process slot (ServerLimit)
    WorkerScore    1152 bytes   one per worker slot (ServerLimit * ThreadLimit),
                                a multiple of 64: two threads never write
                                the same cache line; Apache's fields in the
                                first 384, then the request counters

Ownership, which is why there is no lock:

- a worker slot is written by the one thread that serves in it (through its
  ``WorkerHandle``, or the raw ``WorkerScore``); the parent writes a worker
  slot only while no process owns it (``claim_process_slot`` before the child
  exists, ``free_process_slot``/``reset_worker`` after it is reaped);
- a process slot's ``pid``, ``generation``, ``bucket``, ``start_time`` are the
  parent's; ``quiescing`` only ever goes 0 → 1 while the child lives (the
  parent when it tells the child to stop, or the child itself);
  ``not_accepting`` and the connection counters (``connections``,
  ``keep_alive``, ...) are the child's;
- the global header is the parent's.

Readers (the parent, mod_status in any child) may see a slot half-way through
an update (one counter already incremented, the next not yet): the same
tolerance Apache's scoreboard has. Each 8-byte field is aligned, so a number
is never torn.

Counters, as mod_status shows them (``Acc`` = conn/child/slot): a slot keeps
``access_count``, ``bytes_served`` and ``total_duration_us`` for its whole
life, across the children that used it. "This child" and "this connection"
are differences from bases the slot records when a child starts in it and
when a thread goes back to waiting for a connection
(``my_access_count = access_count - child_access_base``), so a request
increments three numbers, not nine. As in Apache, freeing a slot zeroes its
child and connection counters (a dead slot reads ``0/0/N``).

Request counters, for the metrics module (Apache has none): ``requests`` is a
table of status class (``STATUS_CLASSES``) x duration bucket
(``DURATION_BOUNDS_US``, then "longer"), kept for the slot's whole life as
``access_count`` is, never reset, so a sum over every slot only ever grows
(what a Prometheus counter must do). Its row sums are the requests by status
class, its column sums the duration histogram, and a request is one increment
of one cell. The table is most of a slot (768 of 1152 bytes, 1.2 MB for 1024
slots); a counter per class and one per bucket would take 184 bytes but two
increments, measured 0.08 µs more per request.

Strings (client, vhost, protocol, request line) are stored as latin-1 bytes,
NUL-padded, cut at the field's size (48, 48, 16, 128). latin-1 is one byte per
character, so a cut never splits a character, and a WSGI-style str (raw bytes
decoded as latin-1) round-trips to the bytes on the wire; a character above
U+00FF is stored as a ``\\uXXXX`` escape (which a cut may shorten). Readers get
str decoded as latin-1: escaping for HTML or for a log is the renderer's job,
as ``ap_escape_logitem`` is mod_status's.

The hot path's cost is ``scoreboard_handle.py``'s to say; the read side's
is ``scoreboard_view``'s.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import struct
import tempfile
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mpmd.mpm.scoreboard_handle import WorkerHandle
    from mpmd.mpm.scoreboard_view import Counts, RequestCounters, Snapshot, Totals

# Apache's worker states (SERVER_* in scoreboard.h), one byte each in the slot.
DEAD = b"."  # open slot with no current process
READY = b"_"  # waiting for a connection
STARTING = b"S"
BUSY_READ = b"R"  # reading the request
BUSY_WRITE = b"W"  # sending the reply (serving the request)
BUSY_KEEPALIVE = b"K"  # waiting for the next request on a keep-alive connection
BUSY_DNS = b"D"
CLOSING = b"C"
BUSY_LOG = b"L"
GRACEFUL = b"G"  # finishing its connection before a graceful stop
IDLE_KILL = b"I"
STATES = "_SRWKDCLGI."

MAGIC = b"MPMDSCBD"
VERSION = 2  # 2: WorkerScore grew the status-class x duration counters (1152 bytes)
HEADER_SIZE = 128
DEFAULT_PROTOCOL = "http/1.1"  # what Apache's Protocol column shows for HTTP/1.x

# What each worker slot counts besides Apache's counters, for the metrics
# module: requests by status class and duration. The duration bounds are
# Prometheus histogram buckets ("le", in µs here): a request of exactly 1000 µs
# counts in the 1000 µs bucket. Sub-millisecond bounds, because most requests
# a Python server answers take well under a millisecond. "other" is a request
# that ended with no status (the client left first) or one outside 100-599.
STATUS_CLASSES = ("other", "1xx", "2xx", "3xx", "4xx", "5xx")
DURATION_BOUNDS_US = (
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000,
    100_000, 250_000, 500_000, 1_000_000, 2_500_000, 10_000_000,
)  # fmt: skip
BUCKETS = len(DURATION_BOUNDS_US) + 1  # the last: longer than every bound
CPU_RECORD_INTERVAL = 1.0  # seconds between two os.times() of one thread (end_request)


class ScoreboardError(Exception):
    """The scoreboard cannot be created, attached or used as asked; the message says why."""


class GlobalScore(ctypes.Structure):
    """The header: what ``attach`` validates, and the server-wide values."""

    _fields_ = [
        ("magic", ctypes.c_char * 8),
        ("version", ctypes.c_uint32),
        ("header_size", ctypes.c_uint32),
        ("process_size", ctypes.c_uint32),
        ("worker_size", ctypes.c_uint32),
        ("server_limit", ctypes.c_int32),
        ("thread_limit", ctypes.c_int32),
        ("total_size", ctypes.c_uint64),
        ("running_generation", ctypes.c_int32),  # mod_status's ParentServerMPMGeneration
        ("config_generation", ctypes.c_int32),  # ParentServerConfigGeneration
        # Slots beyond these that are DEAD are left out of the Scoreboard string,
        # as mod_status's SERVER_DISABLED (MaxRequestWorkers below ServerLimit).
        ("max_servers", ctypes.c_int32),
        ("threads_per_child", ctypes.c_int32),
        ("parent_pid", ctypes.c_int32),
        ("restart_time", ctypes.c_double),  # time.time() of the last (re)start
    ]
    magic: bytes
    version: int
    header_size: int
    process_size: int
    worker_size: int
    server_limit: int
    thread_limit: int
    total_size: int
    running_generation: int
    config_generation: int
    max_servers: int
    threads_per_child: int
    parent_pid: int
    restart_time: float


class ProcessScore(ctypes.Structure):
    """One child process (Apache's ``process_score``)."""

    _fields_ = [
        ("pid", ctypes.c_int32),  # 0: no process in this slot
        ("generation", ctypes.c_int32),
        ("bucket", ctypes.c_int32),  # which listener bucket the child accepts from
        ("quiescing", ctypes.c_uint8),  # told to stop: not counted as spare any more
        ("not_accepting", ctypes.c_uint8),
        ("connections", ctypes.c_uint32),  # event MPM: connections the child holds
        ("write_completion", ctypes.c_uint32),
        ("keep_alive", ctypes.c_uint32),
        ("lingering_close", ctypes.c_uint32),
        ("suspended", ctypes.c_uint32),
        ("wait_io", ctypes.c_uint32),
        ("start_time", ctypes.c_double),
        ("_reserved", ctypes.c_char * 16),
    ]
    pid: int
    generation: int
    bucket: int
    quiescing: int
    not_accepting: int
    connections: int
    write_completion: int
    keep_alive: int
    lingering_close: int
    suspended: int
    wait_io: int
    start_time: float


class WorkerScore(ctypes.Structure):
    """One worker slot (Apache's ``worker_score``), written by its thread only.

    The first fields are ordered for the hot path: ``end_request`` writes
    offsets 0-48 in one call, ``begin_request`` writes 48-191 in one call.
    """

    _fields_ = [
        ("access_count", ctypes.c_uint64),  # 0   requests served in this slot, ever
        ("bytes_served", ctypes.c_uint64),  # 8
        ("total_duration_us", ctypes.c_uint64),  # 16  mod_status's Dur, Total Duration
        ("duration_us", ctypes.c_uint64),  # 24  of the last request
        ("stop_time", ctypes.c_double),  # 32  end of the last request
        ("last_used", ctypes.c_double),  # 40  mod_status's SS counts from here
        ("status", ctypes.c_char),  # 48  the Apache letter
        ("start_time", ctypes.c_double),  # 56  start of the last (or current) request
        ("request", ctypes.c_char * 128),  # 64
        ("client", ctypes.c_char * 48),  # 192
        ("vhost", ctypes.c_char * 48),  # 240
        ("protocol", ctypes.c_char * 16),  # 288
        ("child_access_base", ctypes.c_uint64),  # 304 access_count when the child started
        ("child_bytes_base", ctypes.c_uint64),  # 312
        ("conn_access_base", ctypes.c_uint64),  # 320 access_count when the connection began
        ("conn_bytes_base", ctypes.c_uint64),  # 328
        ("cpu_user", ctypes.c_double),  # 336 the process's CPU seconds (record_times)
        ("cpu_system", ctypes.c_double),  # 344
        ("tid", ctypes.c_uint64),  # 352 native thread id
        ("pid", ctypes.c_int32),  # 360
        ("generation", ctypes.c_int32),  # 364
        ("cpu_children_user", ctypes.c_double),  # 368 CPU seconds of the process's reaped children
        ("cpu_children_system", ctypes.c_double),  # 376
        # 384: requests by status class x duration, row-major: row c is
        # STATUS_CLASSES[c], column b counts durations <= DURATION_BOUNDS_US[b],
        # the last column longer ones (one counter per request: see end_request)
        ("requests", ctypes.c_uint64 * (len(STATUS_CLASSES) * BUCKETS)),
    ]
    access_count: int
    bytes_served: int
    total_duration_us: int
    duration_us: int
    stop_time: float
    last_used: float
    status: bytes
    start_time: float
    request: bytes
    client: bytes
    vhost: bytes
    protocol: bytes
    child_access_base: int
    child_bytes_base: int
    conn_access_base: int
    conn_bytes_base: int
    cpu_user: float
    cpu_system: float
    tid: int
    pid: int
    generation: int
    cpu_children_user: float
    cpu_children_system: float
    requests: ctypes.Array[ctypes.c_uint64]

    @property
    def my_access_count(self) -> int:
        """Requests served by the current (or last) child in this slot."""
        return self.access_count - self.child_access_base

    @property
    def my_bytes_served(self) -> int:
        return self.bytes_served - self.child_bytes_base

    @property
    def conn_count(self) -> int:
        """Requests served on the current (or last) connection."""
        return self.access_count - self.conn_access_base

    @property
    def conn_bytes(self) -> int:
        return self.bytes_served - self.conn_bytes_base


WORKER_SIZE = ctypes.sizeof(WorkerScore)
PROCESS_SIZE = ctypes.sizeof(ProcessScore)

# The hot path's views of WorkerScore: one pack_into per call instead of a
# ctypes attribute per field (checked against the ctypes offsets below).
END_VIEW = struct.Struct("@4Q2dc")  # access_count .. status
BEGIN_VIEW = struct.Struct("@c7xd128s")  # status, (padding), start_time, request
COUNTS_VIEW = struct.Struct("@3Q")  # access_count, bytes_served, total_duration_us
SERVED_VIEW = struct.Struct("@2Q")  # access_count, bytes_served
IDLE_VIEW = struct.Struct("@dc")  # last_used, status
CLIENT_VIEW = struct.Struct("48s")
VHOST_VIEW = struct.Struct("48s")
PROTOCOL_VIEW = struct.Struct("16s")


def _offset(name: str) -> int:
    offset: int = getattr(WorkerScore, name).offset
    return offset


STATUS_OFFSET = _offset("status")
LAST_USED_OFFSET = _offset("last_used")
CLIENT_OFFSET = _offset("client")
VHOST_OFFSET = _offset("vhost")
PROTOCOL_OFFSET = _offset("protocol")
CONN_BASE_OFFSET = _offset("conn_access_base")
# the request counters, as an index into a slot's 8-byte words (the handle's word view)
REQUESTS_WORD = _offset("requests") // 8
# Whole slots as scoreboard_view reads them (iter_unpack over a copy), in
# ctypes field order; "@" aligns as ctypes does (checked below).
# The request counters (status classes, duration buckets) are left out (pad
# bytes): ``scoreboard_view.request_counters`` sums them over a word view.
WORKER_ROW = struct.Struct(f"@4Q2dcd128s48s48s16s4Q2dQ2i2d{8 * len(STATUS_CLASSES) * BUCKETS}x")
PROCESS_ROW = struct.Struct("@3i2B6Id16x")


def _check_layout() -> None:
    expected = {
        "access_count": 0,
        "bytes_served": 8,
        "total_duration_us": 16,
        "duration_us": 24,
        "stop_time": 32,
        "last_used": 40,
        "status": END_VIEW.size - 1,
        "start_time": STATUS_OFFSET + 8,
        "request": STATUS_OFFSET + BEGIN_VIEW.size - 128,
        "conn_bytes_base": CONN_BASE_OFFSET + 8,
        "requests": 384,
    }
    for name, offset in expected.items():
        if _offset(name) != offset:
            raise RuntimeError(f"scoreboard layout: WorkerScore.{name} is not at offset {offset}")
    if (
        WORKER_SIZE % 64
        or PROCESS_SIZE != 64
        or ctypes.sizeof(GlobalScore) > HEADER_SIZE
        or WORKER_ROW.size != WORKER_SIZE
        or _offset("requests") + 8 * len(STATUS_CLASSES) * BUCKETS != WORKER_SIZE
        or PROCESS_ROW.size != PROCESS_SIZE
    ):
        raise RuntimeError("scoreboard layout: a structure has the wrong size")


_check_layout()


def layout_size(server_limit: int, thread_limit: int) -> int:
    """Bytes of a scoreboard of ``server_limit`` processes x ``thread_limit`` threads."""
    return HEADER_SIZE + server_limit * PROCESS_SIZE + server_limit * thread_limit * WORKER_SIZE


def default_directory() -> str:
    """Where ``create`` puts a named file: ``/dev/shm`` (memory) when usable, else the temp dir."""
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def new_file() -> tuple[int, str, bool]:
    """A fresh scoreboard file: its descriptor, a path that opens it, and whether it is
    anonymous (a memfd, opened by its path in ``/proc`` while this process keeps it)."""
    fds = f"/proc/{os.getpid()}/fd"
    if hasattr(os, "memfd_create") and os.path.isdir(fds):
        fd = os.memfd_create("mpmd-scoreboard", os.MFD_CLOEXEC)
        return fd, f"{fds}/{fd}", True
    fd, path = tempfile.mkstemp(prefix="mpmd-scoreboard-", dir=default_directory())
    return fd, path, False


# -- the table ------------------------------------------------------------------


class Scoreboard:
    """The mapped table; ``create`` in the parent, ``attach`` in a spawned child."""

    def __init__(self, mm: mmap.mmap, path: str, creator_pid: int, fd: int = -1) -> None:
        self._mm: mmap.mmap | None = mm
        self.path = path
        self._creator_pid = creator_pid
        self._fd = fd  # an anonymous file's only name: kept open by its creator until unlink
        self._header: GlobalScore | None = GlobalScore.from_buffer(mm, 0)
        self.server_limit: int = self._header.server_limit
        self.thread_limit: int = self._header.thread_limit
        self.size = len(mm)
        self._worker_base = HEADER_SIZE + self.server_limit * PROCESS_SIZE
        self._processes = [
            ProcessScore.from_buffer(mm, HEADER_SIZE + i * PROCESS_SIZE)
            for i in range(self.server_limit)
        ]
        self._workers: dict[int, WorkerScore] = {}

    # -- life ---------------------------------------------------------------------
    @classmethod
    def create(cls, server_limit: int, thread_limit: int, path: str | None = None) -> Scoreboard:
        """Make a new scoreboard file and map it; every worker slot starts DEAD.

        ``path`` None: an anonymous file (``new_file``). A given path is
        replaced if it exists (a stale file from a crashed run must not be
        shared with a process that still maps it).
        """
        if server_limit < 1 or thread_limit < 1:
            raise ScoreboardError(
                f"scoreboard of {server_limit} x {thread_limit} slots: both must be at least 1"
            )
        size = layout_size(server_limit, thread_limit)
        anonymous = False
        try:
            if path is None:
                fd, path, anonymous = new_file()
            else:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            where = path or default_directory()
            raise ScoreboardError(f"cannot create scoreboard in {where}: {e}") from e
        try:
            try:
                if hasattr(os, "posix_fallocate"):
                    os.posix_fallocate(fd, 0, size)
                else:
                    os.ftruncate(fd, size)
                mm = mmap.mmap(fd, size)
            finally:
                if not anonymous:
                    os.close(fd)
        except OSError as e:
            if anonymous:
                os.close(fd)
            else:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise ScoreboardError(f"cannot create scoreboard {path} ({size} bytes): {e}") from e
        header = GlobalScore.from_buffer(mm, 0)
        header.version = VERSION
        header.header_size = HEADER_SIZE
        header.process_size = PROCESS_SIZE
        header.worker_size = WORKER_SIZE
        header.server_limit = server_limit
        header.thread_limit = thread_limit
        header.total_size = size
        header.max_servers = server_limit
        header.threads_per_child = thread_limit
        header.parent_pid = os.getpid()
        header.restart_time = time.time()
        header.config_generation = 1  # the configuration the parent started with
        base = HEADER_SIZE + server_limit * PROCESS_SIZE
        mm[base + STATUS_OFFSET : size : WORKER_SIZE] = DEAD * (server_limit * thread_limit)
        header.magic = MAGIC  # last: a half-made file never validates
        del header
        return cls(mm, path, os.getpid(), fd if anonymous else -1)

    @classmethod
    def attach(cls, path: str) -> Scoreboard:
        """Map the scoreboard a parent created at ``path`` (in a child that was not forked)."""
        try:
            fd = os.open(path, os.O_RDWR)
        except OSError as e:
            raise ScoreboardError(f"cannot open scoreboard {path}: {e.strerror}") from e
        try:
            size = os.fstat(fd).st_size
            if size < HEADER_SIZE:
                raise ScoreboardError(
                    f"{path} is not an mpmd scoreboard: {size} bytes, shorter than its header"
                )
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        header = GlobalScore.from_buffer_copy(mm, 0)
        problem = ""
        if header.magic != MAGIC:
            problem = "not an mpmd scoreboard (bad magic)"
        elif header.version != VERSION:
            problem = f"scoreboard version {header.version}, this mpmd reads version {VERSION}"
        elif (header.header_size, header.process_size, header.worker_size) != (
            HEADER_SIZE,
            PROCESS_SIZE,
            WORKER_SIZE,
        ):
            problem = "made by an mpmd with a different slot layout"
        elif header.server_limit < 1 or header.thread_limit < 1:
            problem = f"bad limits {header.server_limit} x {header.thread_limit}"
        else:
            expected = layout_size(header.server_limit, header.thread_limit)
            if size != expected or header.total_size != expected:
                problem = (
                    f"file is {size} bytes, a {header.server_limit} x {header.thread_limit} "
                    f"scoreboard is {expected}"
                )
        if problem:
            mm.close()
            raise ScoreboardError(f"cannot attach scoreboard {path}: {problem}")
        return cls(mm, path, 0)

    def close(self) -> None:
        """Unmap (now, or when the last ``WorkerScore``/``WorkerHandle`` a caller holds goes)."""
        mm = self._mm
        if mm is None:
            return
        self._mm = None
        self._header = None
        self._processes = []
        self._workers = {}
        # ctypes views still held by callers keep the mapping alive (and valid)
        # until they are dropped; the mmap closes itself then.
        with contextlib.suppress(BufferError):
            mm.close()

    def unlink(self) -> None:
        """Remove the file (the creating process only; mappings stay valid until closed).
        An anonymous file's name is its creator's descriptor: closing it removes the name."""
        if os.getpid() != self._creator_pid:
            raise ScoreboardError(
                f"scoreboard {self.path}: only the process that created it may unlink it"
            )
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
            return
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    @property
    def closed(self) -> bool:
        return self._mm is None

    @property
    def header(self) -> GlobalScore:
        """The raw global header (the parent may set ``config_generation`` here)."""
        if self._header is None:
            raise ScoreboardError(f"scoreboard {self.path} is closed")
        return self._header

    def _map(self) -> mmap.mmap:
        if self._mm is None:
            raise ScoreboardError(f"scoreboard {self.path} is closed")
        return self._mm

    # -- slots ----------------------------------------------------------------------
    def _check(self, child: int, thread: int = 0) -> None:
        if not (0 <= child < self.server_limit and 0 <= thread < self.thread_limit):
            raise IndexError(
                f"no worker slot {child}-{thread} in a "
                f"{self.server_limit} x {self.thread_limit} scoreboard"
            )

    def _worker_offset(self, child: int, thread: int) -> int:
        return self._worker_base + (child * self.thread_limit + thread) * WORKER_SIZE

    def process(self, child: int) -> ProcessScore:
        """The raw process slot ``child``."""
        self._check(child)
        self._map()
        return self._processes[child]

    def worker(self, child: int, thread: int) -> WorkerScore:
        """The raw worker slot: its fields read and write the shared memory directly."""
        self._check(child, thread)
        index = child * self.thread_limit + thread
        slot = self._workers.get(index)
        if slot is None:
            slot = WorkerScore.from_buffer(self._map(), self._worker_offset(child, thread))
            self._workers[index] = slot
        return slot

    def handle(self, child: int, thread: int) -> WorkerHandle:
        """A new ``WorkerHandle`` for the thread that serves in slot ``child``-``thread``."""
        from mpmd.mpm.scoreboard_handle import WorkerHandle  # it imports this module

        slot = self.worker(child, thread)
        return WorkerHandle(
            self._map(), self._worker_offset(child, thread), slot, self._processes[child], self
        )

    # -- the parent's side -------------------------------------------------------
    def set_generation(self, generation: int, restart_time: float | None = None) -> None:
        """A (graceful) restart: the running generation, and the restart time (default now).

        The configuration generation (mod_status's ParentServerConfigGeneration)
        becomes ``generation + 1``: each generation runs the configuration read
        for it, and the first one was read before generation 0.
        """
        header = self.header
        header.running_generation = generation
        header.config_generation = generation + 1
        header.restart_time = time.time() if restart_time is None else restart_time

    def set_limits(self, max_servers: int, threads_per_child: int) -> None:
        """The configured processes and threads (≤ the limits): dead slots beyond are not shown."""
        self.header.max_servers = max(1, min(max_servers, self.server_limit))
        self.header.threads_per_child = max(1, min(threads_per_child, self.thread_limit))

    def claim_process_slot(self, limit: int | None = None, bucket: int = 0) -> int | None:
        """Take the first free process slot below ``limit`` (default max_servers), or None.

        Free: no pid and every worker DEAD. The slot gets the running
        generation and its first ``threads_per_child`` workers turn STARTING,
        so it stays taken between here and ``set_process`` (after the fork or
        spawn, when the pid is known).
        """
        mm = self._map()
        header = self.header
        end = min(header.max_servers if limit is None else limit, self.server_limit)
        thread_limit = self.thread_limit
        statuses = self.copy_statuses()
        for i in range(end):
            process = self._processes[i]
            row = statuses[i * thread_limit : (i + 1) * thread_limit]
            if process.pid == 0 and not row.strip(b".\0"):
                process.generation = header.running_generation
                process.bucket = bucket
                process.quiescing = process.not_accepting = 0
                process.connections = process.write_completion = process.keep_alive = 0
                process.lingering_close = process.suspended = process.wait_io = 0
                process.start_time = time.time()
                first = self._worker_offset(i, 0) + STATUS_OFFSET
                starting = min(header.threads_per_child, thread_limit)
                mm[first : first + starting * WORKER_SIZE : WORKER_SIZE] = STARTING * starting
                return i
        return None

    def set_process(self, child: int, pid: int, generation: int | None = None) -> None:
        """The child in slot ``child`` now exists as ``pid``."""
        process = self.process(child)
        if generation is not None:
            process.generation = generation
        process.pid = pid

    def set_quiescing(self, child: int, quiescing: bool = True) -> None:
        """The child has been told to stop: it no longer counts as spare."""
        self.process(child).quiescing = int(quiescing)

    def free_process_slot(self, child: int) -> None:
        """The child of slot ``child`` is gone (reaped): its workers DEAD, the slot free."""
        process = self.process(child)
        for thread in range(self.thread_limit):
            self.reset_worker(child, thread)
        process.connections = process.write_completion = process.keep_alive = 0
        process.lingering_close = process.suspended = process.wait_io = 0
        process.quiescing = process.not_accepting = 0
        process.pid = 0

    free_process = free_process_slot

    def reset_worker(self, child: int, thread: int, status: bytes = DEAD) -> None:
        """Worker slot with no thread: ``status``, child and connection counters zeroed.

        The slot's own totals (access_count, bytes_served, total_duration_us)
        and its last request stay, as Apache keeps them for mod_status.
        """
        slot = self.worker(child, thread)
        slot.child_access_base = slot.conn_access_base = slot.access_count
        slot.child_bytes_base = slot.conn_bytes_base = slot.bytes_served
        slot.cpu_user = slot.cpu_system = 0.0
        slot.cpu_children_user = slot.cpu_children_system = 0.0
        slot.status = status

    # -- the read side: copies for scoreboard_view ----------------------------------
    def copy_header(self) -> GlobalScore:
        """A copy of the global header (the live one is ``header``)."""
        return GlobalScore.from_buffer_copy(self._map(), 0)

    def copy_statuses(self) -> bytes:
        """Every worker's state byte, slot order (one strided copy)."""
        return self._map()[self._worker_base + STATUS_OFFSET : self.size : WORKER_SIZE]

    def copy_processes(self) -> bytes:
        """Every process slot, as bytes (``PROCESS_ROW`` each)."""
        return self._map()[HEADER_SIZE : self._worker_base]

    def copy_workers(self) -> bytes:
        """Every worker slot, as bytes (``WORKER_ROW`` each)."""
        return self._map()[self._worker_base : self.size]

    # The readings themselves are scoreboard_view's. It imports this module's
    # layout, so it is imported here when called, not at the top (a cycle).
    def status_letters(self) -> str:
        """Apache's ``Scoreboard:`` string: a letter per slot, dead slots beyond the limits left out."""
        from mpmd.mpm import scoreboard_view

        return scoreboard_view.status_letters(self)

    def counts(self) -> Counts:
        """Busy and idle workers, as mod_status (and spare maintenance) count them."""
        from mpmd.mpm import scoreboard_view

        return scoreboard_view.counts(self)

    def totals(self) -> Totals:
        """Accesses, bytes and duration over every slot that has served (mod_status's totals)."""
        from mpmd.mpm import scoreboard_view

        return scoreboard_view.totals(self)

    def request_counters(self) -> RequestCounters:
        """Requests by status class and duration, bytes and duration, over every slot (metrics)."""
        from mpmd.mpm import scoreboard_view

        return scoreboard_view.request_counters(self)

    def snapshot(self) -> Snapshot:
        """A copy of the whole table as plain values (for mod_status and the advisor)."""
        from mpmd.mpm import scoreboard_view

        return scoreboard_view.snapshot(self)
