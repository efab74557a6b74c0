"""status_module's numbers: one reading of the scoreboard, as mod_status computes them.

``gather`` takes one ``Snapshot`` of the scoreboard and works out everything
the three formats show -- the HTML page (``status_page.py``), ``?auto`` and
``?json`` (``status.py``) -- with httpd's rules (``mod_status.c``, 2.4):
which workers count as busy or idle, which slots count in the totals, how
the CPU seconds of a process's threads add up, which slots the Scoreboard
string and the worker table leave out. Every format then renders the same
``StatusReport``, so the page, ``?auto`` and ``?json`` of one request never
disagree.

It also holds the number formats mod_status prints with: ``apr_g`` is APR's
``%g`` (``apr_gcvt``: no leading zero before the point, ``.46255``; no
exponent up to four zeros past the digits, ``9561870``), ``byte_text`` and
``kbyte_text`` are ``format_byte_out`` / ``format_kbyte_out``, ``uptime_text``
is ``show_time``, ``ht_time`` is ``ap_ht_time`` with mod_status's format.

It reads and computes; it never writes the scoreboard and renders nothing.
"""

from __future__ import annotations

import os
import struct
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mpmd.mpm.scoreboard_view import Snapshot, WorkerInfo

KBYTE = 1024
MBYTE = 1048576
GBYTE = 1073741824
TIME_FORMAT = "%A, %d-%b-%Y %H:%M:%S %Z"  # mod_status's DEFAULT_TIME_FORMAT
ASYNC_MPMS = frozenset({"event"})  # AP_MPMQ_IS_ASYNC: the per-process connection table

# Letters mod_status's busy count leaves out, besides ready (_).
_NOT_BUSY = frozenset("_.SI")


@dataclass(slots=True)
class ProcessRow:
    """One live process, as the event MPM's table shows it (and ``?json``'s ``processes``)."""

    slot: int
    pid: int
    generation: int
    stopping: bool  # told to stop (quiescing)
    old_generation: bool
    accepting: bool
    connections: int
    busy: int  # threads serving (not gracefully finishing)
    graceful: int
    idle: int  # ready threads, whatever their generation
    wait_io: int
    writing: int
    keep_alive: int
    closing: int


@dataclass(slots=True)
class WorkerRow:
    """One row of the ExtendedStatus table (a worker slot that is alive or has served)."""

    child: int
    thread: int
    generation: int
    pid: int  # 0 when the slot is dead: shown as "-"
    mode: str  # the state letter
    acc_conn: int
    acc_child: int
    acc_slot: int
    cpu_user: float
    cpu_system: float
    cpu_children_user: float
    cpu_children_system: float
    seconds_since: int  # SS: since the most recent request began (last_used)
    request_ms: int  # Req: the most recent request
    duration_ms: int  # Dur: every request of the slot
    conn_bytes: int
    child_bytes: int
    slot_bytes: int
    client: str
    protocol: str
    vhost: str
    request: str

    @property
    def cpu(self) -> float:
        return self.cpu_user + self.cpu_system + self.cpu_children_user + self.cpu_children_system

    @property
    def in_table(self) -> bool:
        """mod_status's worker table leaves out a slot that never served and is ready or dead."""
        return bool(self.acc_slot) or self.mode not in "_."


@dataclass(slots=True)
class StatusReport:
    """Everything one status request shows, computed once."""

    server_name: str  # ap_get_server_name: the Host the client asked for, or ServerName
    local_ip: str
    version: str
    mpm: str
    built: str
    is_async: bool
    extended: bool  # ExtendedStatus
    now: float
    restart_time: float
    config_generation: int
    mpm_generation: int
    load: tuple[float, float, float]
    # ExtendedStatus totals (mod_status: slots that served, or are neither idle nor dead)
    accesses: int
    bytes: int
    duration_us: int
    cpu_user: float
    cpu_system: float
    cpu_children_user: float
    cpu_children_system: float
    # workers, as mod_status counts them (live processes that are not stopping)
    busy: int
    idle: int  # ready workers of the running generation
    graceful: int
    processes: int  # live processes
    stopping: int
    worker_limit: int  # MaxRequestWorkers: the slots a full server would use
    scoreboard: str  # one letter per slot, disabled slots left out
    process_rows: list[ProcessRow] = field(default_factory=list)
    # every slot that is alive or has served (the table shows the ``in_table`` ones)
    workers: list[WorkerRow] = field(default_factory=list)
    pids: list[int] = field(default_factory=list)  # per process slot (the PID Key)

    # -- derived, as mod_status prints them --------------------------------------
    @property
    def uptime(self) -> int:
        """Whole seconds since the last (re)start (apr_time_sec of the difference)."""
        return max(0, int(self.now - self.restart_time))

    @property
    def kbytes(self) -> int:
        return self.bytes >> 10

    @property
    def duration_ms(self) -> int:
        return self.duration_us // 1000

    @property
    def cpu_total(self) -> float:
        return self.cpu_user + self.cpu_system + self.cpu_children_user + self.cpu_children_system

    @property
    def cpu_load(self) -> float | None:
        """Percent of one CPU used since the restart; None when nothing was measured."""
        if not self.cpu_total or not self.uptime:
            return None
        return self.cpu_total / self.uptime * 100.0

    # The per-second and per-request numbers use C floats, as mod_status's casts do.
    @property
    def req_per_sec(self) -> float | None:
        return _f32(_f32(self.accesses) / _f32(self.uptime)) if self.uptime else None

    @property
    def bytes_per_sec(self) -> float | None:
        return _f32(KBYTE * _f32(self.kbytes) / _f32(self.uptime)) if self.uptime else None

    @property
    def bytes_per_req(self) -> float | None:
        return _f32(KBYTE * _f32(self.kbytes) / _f32(self.accesses)) if self.accesses else None

    @property
    def duration_per_req(self) -> float | None:
        return _f32(_f32(self.duration_ms) / _f32(self.accesses)) if self.accesses else None

    @property
    def connections(self) -> dict[str, int]:
        """The async connection counters summed over live processes (event MPM)."""
        rows = self.process_rows
        return {
            "total": sum(p.connections for p in rows),
            "async_writing": sum(p.writing for p in rows),
            "async_keep_alive": sum(p.keep_alive for p in rows),
            "async_closing": sum(p.closing for p in rows),
            "async_wait_io": sum(p.wait_io for p in rows),
        }


def gather(
    snap: Snapshot,
    *,
    server_name: str,
    local_ip: str,
    version: str,
    mpm: str,
    built: str,
    extended: bool,
    now: float | None = None,
) -> StatusReport:
    """Work out a ``StatusReport`` from one snapshot, by mod_status's rules."""
    now = time.time() if now is None else now
    try:
        load = os.getloadavg()
    except OSError:  # no load average on this platform: mod_status prints -1
        load = (-1.0, -1.0, -1.0)
    generation = snap.running_generation
    busy = idle = graceful = processes = stopping = 0
    accesses = served = duration = 0
    tu = ts = tcu = tcs = 0.0
    letters: list[str] = []
    rows: list[ProcessRow] = []
    workers: list[WorkerRow] = []
    pids: list[int] = []
    # threads record their process's CPU times (os.times is per process), so a
    # process's CPU is its largest record, as mod_status does when times are per
    # process, not the sum of its threads'
    for proc in snap.processes:
        live = proc.pid != 0
        counted = live and not proc.quiescing
        p_busy = p_graceful = p_idle = 0
        cpu = (0.0, 0.0, 0.0, 0.0)
        for w in proc.workers:
            status = w.status
            if status == "." and (
                proc.slot >= snap.max_servers or w.thread >= snap.threads_per_child
            ):
                pass  # SERVER_DISABLED: beyond MaxRequestWorkers, not shown
            else:
                letters.append(status)
            if live:
                if status == "_":
                    p_idle += 1
                    if counted and proc.generation == generation:
                        idle += 1
                elif status not in _NOT_BUSY:
                    if status == "G":
                        p_graceful += 1
                    else:
                        p_busy += 1
                    if counted:
                        busy += 1
                        if status == "G":
                            graceful += 1
            if w.access_count or status not in "_.":
                accesses += w.access_count
                served += w.bytes_served
                duration += w.total_duration_us
                mine = (w.cpu_user, w.cpu_system, w.cpu_children_user, w.cpu_children_system)
                if any(a > b for a, b in zip(mine, cpu, strict=True)):
                    cpu = mine
            if w.access_count or status != ".":
                workers.append(_worker_row(proc.pid, proc.generation, w, now))
        tu, ts, tcu, tcs = tu + cpu[0], ts + cpu[1], tcu + cpu[2], tcs + cpu[3]
        pids.append(proc.pid)
        if live:
            processes += 1
            stopping += proc.quiescing
            rows.append(
                ProcessRow(
                    slot=proc.slot,
                    pid=proc.pid,
                    generation=proc.generation,
                    stopping=proc.quiescing,
                    old_generation=proc.generation != generation,
                    accepting=not proc.not_accepting,
                    connections=proc.connections,
                    busy=p_busy if counted else 0,
                    graceful=p_graceful if counted else 0,
                    idle=p_idle if counted else 0,
                    wait_io=proc.wait_io,
                    writing=proc.write_completion,
                    keep_alive=proc.keep_alive,
                    closing=proc.lingering_close,
                )
            )
    return StatusReport(
        server_name=server_name,
        local_ip=local_ip,
        version=version,
        mpm=mpm,
        built=built,
        is_async=mpm in ASYNC_MPMS,
        extended=extended,
        now=now,
        restart_time=snap.restart_time,
        config_generation=snap.config_generation,
        mpm_generation=generation,
        load=(load[0], load[1], load[2]),
        accesses=accesses,
        bytes=served,
        duration_us=duration,
        cpu_user=tu,
        cpu_system=ts,
        cpu_children_user=tcu,
        cpu_children_system=tcs,
        busy=busy,
        idle=idle,
        graceful=graceful,
        processes=processes,
        stopping=stopping,
        worker_limit=snap.max_servers * snap.threads_per_child,
        scoreboard="".join(letters),
        process_rows=rows,
        workers=workers,
        pids=pids,
    )


def _worker_row(process_pid: int, process_generation: int, w: WorkerInfo, now: float) -> WorkerRow:
    if w.pid:  # the MPM recorded the worker's own pid and generation
        pid, generation = w.pid, w.generation
    else:
        pid, generation = process_pid, process_generation
    if w.status == ".":
        pid = 0
    # Req: stop - start of the most recent request; 0 while one is in progress
    request_ms = w.duration_us // 1000 if w.start_time and w.stop_time >= w.start_time else 0
    return WorkerRow(
        child=w.child,
        thread=w.thread,
        generation=generation,
        pid=pid,
        mode=w.status,
        acc_conn=w.conn_count,
        acc_child=w.my_access_count,
        acc_slot=w.access_count,
        cpu_user=w.cpu_user,
        cpu_system=w.cpu_system,
        cpu_children_user=w.cpu_children_user,
        cpu_children_system=w.cpu_children_system,
        seconds_since=int(now - w.last_used) if w.last_used else 0,
        request_ms=request_ms,
        duration_ms=w.total_duration_us // 1000,
        conn_bytes=w.conn_bytes,
        child_bytes=w.my_bytes_served,
        slot_bytes=w.bytes_served,
        client=w.client,
        protocol=w.protocol,
        vhost=w.vhost,
        request=w.request,
    )


# -- mod_status's number formats ------------------------------------------------------


def _f32(x: float) -> float:
    """``x`` as a C float: mod_status computes its rates in single precision."""
    value: float = struct.unpack("f", struct.pack("f", x))[0]
    return value


def apr_g(x: float, ndigit: int = 6) -> str:
    """APR's ``%g`` (``apr_gcvt``): ``.462581``, ``9561870``, ``32010.4``, ``1.5e+11``."""
    if x != x:
        return "nan"
    if x in (float("inf"), float("-inf")):
        return "inf" if x > 0 else "-inf"
    sign = "-" if x < 0 else ""
    mantissa, exponent = f"{abs(x):.{ndigit - 1}e}".split("e")
    digits = mantissa.replace(".", "")
    decpt = int(exponent) + 1 if abs(x) else 0
    digits = digits.rstrip("0") or "0"
    n = len(digits)
    if (decpt >= 0 and decpt - n > 4) or decpt < -3:  # E-style, apr's way
        e = decpt - 1
        out = digits[0] + "." + digits[1:] + "e" + ("-" if e < 0 else "+") + str(abs(e))
        return sign + out
    out = ""
    if decpt <= 0:
        if digits[0] != "0":
            out += "."
        out += "0" * -decpt
    for i, d in enumerate(digits, 1):
        out += d
        if i == decpt:
            out += "."
    if n < decpt:
        out += "0" * (decpt - n) + "."
    return sign + (out[:-1] if out.endswith(".") else out)


def byte_text(count: float) -> str:
    """``format_byte_out``: ``298 B``, ``27.3 kB``, ``9.1 MB``, ``1.2 GB``."""
    if count < 5 * KBYTE:
        return f"{int(count)} B"
    if count < MBYTE / 2:
        return f"{count / KBYTE:.1f} kB"
    if count < GBYTE / 2:
        return f"{count / MBYTE:.1f} MB"
    return f"{count / GBYTE:.1f} GB"


def kbyte_text(kbytes: int) -> str:
    """``format_kbyte_out``: ``312 kB``, ``510.7 MB``, ``57.5 GB``."""
    if kbytes < KBYTE:
        return f"{kbytes} kB"
    if kbytes < MBYTE:
        return f"{kbytes / KBYTE:.1f} MB"
    return f"{kbytes / MBYTE:.1f} GB"


def uptime_text(seconds: int) -> str:
    """``show_time``: `` 6 days 8 hours 27 minutes 13 seconds`` (each part led by a space)."""
    secs, minutes = seconds % 60, seconds // 60
    mins, hours = minutes % 60, minutes // 60
    hrs, days = hours % 24, hours // 24
    out = ""
    for n, unit in ((days, "day"), (hrs, "hour"), (mins, "minute"), (secs, "second")):
        if n:
            out += f" {n} {unit}{'' if n == 1 else 's'}"
    return out


def ht_time(t: float) -> str:
    """mod_status's times: ``Thursday, 26-Nov-2026 14:34:28 UTC`` (local time, as ap_ht_time)."""
    return time.strftime(TIME_FORMAT, time.localtime(t))


def escape_html(text: str) -> str:
    """``ap_escape_html``: & < > and the double quote."""
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


_LOGITEM = {
    "\b": "\\b",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
}


def escape_logitem(text: str) -> str:
    """``ap_escape_logitem``: what a request line may hold that a log (or page) must not."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    out = []
    for ch in text:
        if ch in _LOGITEM:
            out.append(_LOGITEM[ch])
        elif " " <= ch < "\x7f":
            out.append(ch)
        else:
            out.append(f"\\x{ord(ch) & 0xFF:02x}")
    return "".join(out)
