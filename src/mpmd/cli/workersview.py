"""``mpmctl fullstatus``'s tables: mod_status's per-worker table (and, for MPMs with threads,
its process table), from mpmd's ``/server-status?json``.

Apache's column names and key; on a terminal too narrow for all fifteen
columns the numbers and the requests become two tables rather than columns
squeezed to nothing. Fields are read with defaults, so a field the server
does not send shows as ``-``, and process fields this file does not know are
shown under their own names. Pure functions of the JSON: no network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from mpmd.cli.statusview import STATE_STYLE

# the per-worker table: mod_status's columns and the key it prints under them
WORKER_COLUMNS = (
    ("Srv", "Child Server number - generation"),
    ("PID", "OS process ID"),
    ("Acc", "Number of accesses this connection / this child / this slot"),
    ("M", "Mode of operation"),
    ("CPU", "CPU usage, number of seconds"),
    ("SS", "Seconds since beginning of most recent request"),
    ("Req", "Milliseconds required to process most recent request"),
    ("Dur", "Sum of milliseconds required to process all requests"),
    ("Conn", "Kilobytes transferred this connection"),
    ("Child", "Megabytes transferred this child"),
    ("Slot", "Total megabytes transferred this slot"),
    ("Client", ""),
    ("Protocol", ""),
    ("VHost", ""),
    ("Request", ""),
)


NUMERIC_COLUMNS = ("PID", "CPU", "SS", "Req", "Dur", "Conn", "Child", "Slot")
FOLDED_COLUMNS = ("Client", "VHost", "Request")  # what gives way on a narrow terminal


def _num(value: Any, fmt: str) -> str:
    if value is None or value == "":
        return "-"
    try:
        return format(float(value), fmt)
    except (TypeError, ValueError):
        return str(value)


def wide_table(title: str) -> Table:
    """Many columns on a terminal: rules under the heading only, one space between columns."""
    return Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
    )


def shown_workers(workers: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """mod_status leaves out slots that never served and are idle or empty."""
    return [
        w
        for w in workers
        if not (str(w.get("acc_slot", "0")) in ("0", "0.0") and w.get("mode") in ("_", "."))
    ]


def worker_row(w: Mapping[str, Any]) -> list[Text | str]:
    mode = str(w.get("mode", "?"))
    # Srv is "child-generation" (mpmd's slot is "child-thread"; threads of a child share it)
    child = str(w.get("slot", "?")).partition("-")[0]
    return [
        f"{child}-{w.get('generation', '?')}",
        str(w.get("pid", "-")),
        f"{w.get('acc_conn', 0)}/{w.get('acc_child', 0)}/{w.get('acc_slot', 0)}",
        Text(mode, style=STATE_STYLE.get(mode, "bold")),
        _num(w.get("cpu"), ".2f"),
        str(w.get("seconds_since", "-")),
        str(w.get("request_ms", "-")),
        str(w.get("duration_ms", "-")),
        _num(w.get("conn_kb"), ".1f"),
        _num(w.get("child_mb"), ".2f"),
        _num(w.get("slot_mb"), ".2f"),
        str(w.get("client", "")),
        str(w.get("protocol", "")),
        str(w.get("vhost", "")),
        str(w.get("request", "")),
    ]


# mpmd's ?json process fields, as the columns of mod_status's process table (event MPM)
PROCESS_COLUMNS = (
    ("slot", "Slot"),
    ("pid", "PID"),
    ("generation", "Gen"),
    ("stopping", "Stopping"),
    ("old_generation", "Old gen"),
    ("connections", "Conns"),
    ("accepting", "Accepting"),
    ("busy", "Busy"),
    ("graceful", "Graceful"),
    ("idle", "Idle"),
    ("async_wait_io", "Wait-io"),
    ("async_writing", "Writing"),
    ("async_keep_alive", "Keep-alive"),
    ("async_closing", "Closing"),
)


def _flatten(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def render_processes(processes: list[Mapping[str, Any]]) -> Table | None:
    """mod_status's process table, for MPMs with threads (one row per worker says it all
    for prefork). Known fields get mod_status's headings; others are shown by their names."""
    rows = [_flatten(p) for p in processes if isinstance(p, Mapping)]
    threaded = any(
        _int(r.get("busy")) + _int(r.get("graceful")) + _int(r.get("idle")) > 1 for r in rows
    )
    if not rows or not threaded:
        return None
    known = dict(PROCESS_COLUMNS)
    columns = [key for key, _ in PROCESS_COLUMNS if any(key in r for r in rows)]
    for row in rows:
        columns += [k for k in row if k not in columns]
    table = wide_table("Processes")
    for column in columns:
        heading = known.get(column, column)
        justify: Literal["left", "right"] = "left" if column == "stopping" else "right"
        table.add_column(heading, justify=justify, no_wrap=True, min_width=len(heading))
    for row in rows:
        table.add_row(*[_cell(row.get(c)) for c in columns])
    return table


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class WorkerTable:
    """mod_status's per-worker table: one table when the terminal is wide enough, else two
    (the numbers, then who asked what) so that no column is squeezed to nothing."""

    SPLIT_AT = "Client"  # the columns from here on go to the second table

    def __init__(self, names: list[str], rows: list[list[Text | str]]) -> None:
        self.names = names
        self.rows = rows

    def table(self, title: str, indexes: list[int]) -> Table:
        table = wide_table(title)
        for i in indexes:
            name = self.names[i]
            justify: Literal["left", "right"] = "right" if name in NUMERIC_COLUMNS else "left"
            if name in FOLDED_COLUMNS:
                table.add_column(name, justify=justify, overflow="fold")
            else:
                table.add_column(name, justify=justify, no_wrap=True, min_width=len(name))
        for row in self.rows:
            table.add_row(*[row[i] for i in indexes])
        return table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        whole = self.table("Workers", list(range(len(self.names))))
        # measured without the terminal's limit: the width the table wants unsqueezed
        natural = Measurement.get(console, options.update(max_width=10_000), whole).maximum
        if natural <= options.max_width:
            yield whole
            return
        split = self.names.index(self.SPLIT_AT)
        keys = [self.names.index(n) for n in ("Srv", "PID", "M")]
        yield self.table("Workers", list(range(split)))
        yield Text()
        yield self.table("Requests", [*keys, *range(split, len(self.names))])


def render_workers(data: Mapping[str, Any]) -> RenderableType:
    """What ``mpmctl fullstatus`` adds: the process table (threaded MPMs) and one row per worker."""
    parts: list[RenderableType] = []
    processes = data.get("processes") or []
    if isinstance(processes, list):
        table = render_processes(processes)
        if table is not None:
            parts += [table, Text()]
    workers = data.get("workers_detail") or []
    shown = shown_workers([w for w in workers if isinstance(w, Mapping)])
    if not shown:
        parts.append(Text("No per-worker details (the server sends them with ExtendedStatus On)."))
        return Group(*parts)
    with_duration = any("duration_ms" in w for w in shown)
    columns = [c for c in WORKER_COLUMNS if with_duration or c[0] != "Dur"]
    names = [name for name, _ in columns]
    rows = []
    for w in shown:
        row = worker_row(w)
        if not with_duration:
            del row[7]
        rows.append(row)
    parts.append(WorkerTable(names, rows))
    parts.append(Text())
    key = Table.grid(padding=(0, 2))
    key.add_column(style="bold", no_wrap=True)
    key.add_column()
    for name, words in columns:
        if words:
            key.add_row(name, words)
    parts.append(key)
    return Group(*parts)
