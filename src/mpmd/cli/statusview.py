"""``mpmctl status`` / ``fullstatus`` on a terminal: mod_status's page, drawn with rich.

apachectl pipes the HTML ``/server-status`` page through ``lynx -dump``;
``status`` keeps the part up to the scoreboard key, ``fullstatus`` all of it.
This file draws the summary, read from ``/server-status?auto`` (httpd's
exact machine-readable format, so this works against Apache httpd as well
as mpmd); workersview draws ``fullstatus``'s per-worker table from mpmd's
``/server-status?json``. The wording and number formats are mod_status's
HTML page's (``format_byte_out``, ``show_time``, APR's ``%g``), from status_report.

Pure functions of their input: no network, no configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.columns import Columns
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from mpmd.modules.status_report import apr_g, byte_text, kbyte_text, uptime_text

# mod_status's scoreboard key, in its order and words
LEGEND = (
    ("_", "Waiting for Connection"),
    ("S", "Starting up"),
    ("R", "Reading Request"),
    ("W", "Sending Reply"),
    ("K", "Keepalive (read)"),
    ("D", "DNS Lookup"),
    ("C", "Closing connection"),
    ("L", "Logging"),
    ("G", "Gracefully finishing"),
    ("I", "Idle cleanup of worker"),
    (".", "Open slot with no current process"),
)
STATE_STYLE = {
    "_": "green",
    "S": "cyan",
    "R": "yellow",
    "W": "bold red",
    "K": "blue",
    "D": "magenta",
    "C": "magenta",
    "L": "yellow",
    "G": "bold magenta",
    "I": "magenta",
    ".": "bright_black",
}
SCOREBOARD_ROW = 64  # mod_status breaks the scoreboard every 64 slots


class FormatError(ValueError):
    """The text is not mod_status's ``?auto`` output."""


@dataclass
class AutoStatus:
    """``/server-status?auto``: the server's name (its first line) and the ``Key: value`` lines."""

    server_name: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, key: str) -> str | None:
        return self.fields.get(key)

    def number(self, key: str) -> float | None:
        value = self.fields.get(key)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError:
            return None

    def integer(self, key: str) -> int | None:
        n = self.number(key)
        return None if n is None else int(n)


def parse_auto(text: str) -> AutoStatus:
    """Read ``?auto`` output; since httpd 2.4.x its first line is the server name alone."""
    status = AutoStatus()
    for i, raw in enumerate(text.splitlines()):
        line = raw.strip()
        if not line:
            continue
        key, sep, value = line.partition(":")
        if not sep:
            if i == 0:
                status.server_name = line
                continue
            raise FormatError(f"line {i + 1} is not 'Key: value': {line[:60]!r}")
        status.fields[key.strip()] = value.strip()
    if not any(k in status.fields for k in ("Scoreboard", "ServerVersion", "BusyWorkers")):
        raise FormatError("no Scoreboard, ServerVersion or BusyWorkers line")
    return status


# -- mod_status's number formats: status_report's, as the HTML page prints them ------------
def show_time(seconds: int) -> str:
    """mod_status's show_time: ``1 day 2 hours 3 minutes 4 seconds`` (zero parts left out)."""
    return uptime_text(max(seconds, 0)).lstrip() or "0 seconds"


# -- the summary (``status``) ---------------------------------------------------------------
def summary_rows(status: AutoStatus) -> list[tuple[str, str]]:
    """The summary as (label, text) pairs, in mod_status's order; absent fields are left out."""
    s = status
    rows: list[tuple[str, str]] = []

    def add(label: str, value: str | None) -> None:
        if value:
            rows.append((label, value))

    add("Server Version", s.get("ServerVersion"))
    add("Server MPM", s.get("ServerMPM"))
    add("Server Built", s.get("Server Built"))
    add("Current Time", s.get("CurrentTime"))
    add("Restart Time", s.get("RestartTime"))
    config_gen, mpm_gen = s.get("ParentServerConfigGeneration"), s.get("ParentServerMPMGeneration")
    if config_gen is not None or mpm_gen is not None:
        # mod_status's "Parent Server Config. Generation" and "... MPM Generation", in one row
        add("Generation", f"config {config_gen or '-'}, MPM {mpm_gen or '-'}")
    uptime = s.get("ServerUptime")
    if uptime is None and s.integer("Uptime") is not None:
        uptime = show_time(s.integer("Uptime") or 0)
    add("Server uptime", uptime)
    loads = [s.get(k) for k in ("Load1", "Load5", "Load15")]
    if all(loads):
        add("Server load", " ".join(v for v in loads if v))

    accesses, kbytes = s.integer("Total Accesses"), s.number("Total kBytes")
    if accesses is not None:
        text = f"{accesses}"
        if kbytes is not None:
            text += f" - Total Traffic: {kbyte_text(int(kbytes))}"
        duration = s.get("Total Duration")
        if duration is not None:
            text += f" - Total Duration: {duration}"
        add("Total accesses", text)

    cpu = [s.number(k) for k in ("CPUUser", "CPUSystem", "CPUChildrenUser", "CPUChildrenSystem")]
    if all(v is not None for v in cpu):
        u, sy, cu, cs = (v or 0.0 for v in cpu)
        text = f"u{apr_g(u)} s{apr_g(sy)} cu{apr_g(cu)} cs{apr_g(cs)}"
        load = s.number("CPULoad")
        if load is not None:
            text += f" - {apr_g(load, 3)}% CPU load"
        add("CPU Usage", text)

    per_sec = s.number("ReqPerSec")
    if per_sec is not None:
        parts = [f"{apr_g(per_sec, 3)} requests/sec"]
        if (bytes_sec := s.number("BytesPerSec")) is not None:
            parts.append(f"{byte_text(bytes_sec)}/second")
        if (bytes_req := s.number("BytesPerReq")) is not None:
            parts.append(f"{byte_text(bytes_req)}/request")
        if (ms_req := s.number("DurationPerReq")) is not None:
            parts.append(f"{apr_g(ms_req)} ms/request")
        add("Traffic", " - ".join(parts))

    busy, idle = s.integer("BusyWorkers"), s.integer("IdleWorkers")
    if busy is not None and idle is not None:
        graceful = s.integer("GracefulWorkers")
        text = f"{busy} requests currently being processed, "
        if graceful is not None:
            text += f"{graceful} workers gracefully restarting, "
        add("Workers", text + f"{idle} idle workers")
    processes = s.integer("Processes")
    if processes is not None:
        stopping = s.integer("Stopping") or 0
        add("Processes", f"{processes} ({stopping} stopping)")
    total = s.integer("ConnsTotal")
    if total is not None:
        async_parts = [
            f"{s.get(key)} {word}"
            for key, word in (
                ("ConnsAsyncWaitIO", "wait-io"),
                ("ConnsAsyncWriting", "writing"),
                ("ConnsAsyncKeepAlive", "keep-alive"),
                ("ConnsAsyncClosing", "closing"),
            )
            if s.get(key) is not None
        ]
        text = f"{total} total" + (f"; async: {', '.join(async_parts)}" if async_parts else "")
        add("Connections", text)
    return rows


def scoreboard_text(board: str) -> Text:
    """The scoreboard, 64 slots a row, each state in its colour."""
    text = Text()
    for start in range(0, len(board), SCOREBOARD_ROW):
        if start:
            text.append("\n")
        for letter in board[start : start + SCOREBOARD_ROW]:
            text.append(letter, style=STATE_STYLE.get(letter, "bold"))
    return text


def scoreboard_counts(board: str) -> Text:
    text = Text()
    for letter, _ in LEGEND:
        n = board.count(letter)
        if n:
            if text:
                text.append("  ")
            text.append(f'"{letter}"', style=STATE_STYLE[letter])
            text.append(f" {n}")
    return text


def legend() -> Columns:
    """The key, flowed into as many columns as the terminal has room for."""
    cells = []
    for letter, words in LEGEND:
        cell = Text()
        cell.append(f'"{letter}"', style=STATE_STYLE[letter])
        cell.append(f" {words}")
        cells.append(cell)
    return Columns(cells, padding=(0, 2))


def render_summary(status: AutoStatus, url: str = "") -> RenderableType:
    """What ``mpmctl status`` shows: the summary, the scoreboard and its key."""
    name = status.server_name or (status.get("ServerVersion") or "").split(" ")[0]
    title = Text(f"Server Status for {name}" if name else "Server Status", style="bold")
    if url:
        title.append(f"  ({url})", style="dim")
    summary = Table.grid(padding=(0, 2))
    summary.add_column(style="bold", no_wrap=True)
    summary.add_column()
    for label, value in summary_rows(status):
        summary.add_row(label, value)
    parts: list[RenderableType] = [title, Text(), summary]
    board = status.get("Scoreboard")
    if board:
        parts += [
            Text(),
            Text(f"Scoreboard ({len(board)} slots):", style="bold"),
            scoreboard_text(board),
            scoreboard_counts(board),
            Text(),
            Text("Scoreboard Key:", style="bold"),
            legend(),
        ]
    return Group(*parts)
