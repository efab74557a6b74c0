"""status_module: httpd's mod_status -- what the server is doing, from the scoreboard.

``<Location /server-status> SetHandler server-status </Location>`` serves:

- the HTML page (``status_page.py``): mod_status's page, field for field, and
  above it a live view of our own (``status_live.py``) that polls ``?json``;
- ``?auto``: mod_status's machine-readable text, httpd 2.4's field names in
  httpd's order (the ``Processes``/``Conns*`` lines only for the event MPM,
  the totals only with ``ExtendedStatus On``), which monitoring tools parse;
- ``?json`` (ours): the same numbers, every worker slot, for ``mpmctl`` and
  the live view.

``?refresh=N`` adds httpd's ``Refresh`` header, ``?notable`` the table-less
worker list; as in httpd, options are found anywhere in the query string.
``ExtendedStatus`` (On once this module is loaded, as httpd 2.4) adds the
totals and the per-worker table.

The numbers come from one snapshot of the scoreboard, read through the
connection's scoreboard handle (``WorkerHandle.board``), and are computed
once per request by ``status_report.gather``; this file owns the directive,
the handler and the two machine formats. Access is the Require rules' job
(the embedded default allows ``Require local``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import MIDDLE, SERVER_ONLY, Module, Syntax, directive, parse_flag
from mpmd.http.errors import HttpError
from mpmd.http.response import server_banner
from mpmd.log.levels import ERROR
from mpmd.modules.core import self_name_and_port
from mpmd.modules.status_page import render_page
from mpmd.modules.status_report import (
    StatusReport,
    apr_g,
    gather,
    ht_time,
    uptime_text,
)

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.http.request import Request
    from mpmd.mpm.scoreboard import Scoreboard

HANDLERS = ("server-status", "application/x-httpd-status")  # SetHandler / AddHandler names
TEXT = "text/plain; charset=ISO-8859-1"
HTML = "text/html; charset=ISO-8859-1"
JSON = "application/json"


@dataclass
class StatusConf:
    extended: bool = True  # httpd 2.4: loading mod_status turns ExtendedStatus on


@directive(
    "ExtendedStatus",
    Syntax.FLAG,
    SERVER_ONLY,
    '"On" to track extended status information, "Off" to disable',
    "On",
)
def _extended_status(cmd: Cmd, value: str) -> None:
    conf: StatusConf = cmd.server_conf("status_module")
    conf.extended = parse_flag(value)


@dataclass
class Options:
    """What the query string asks for (httpd finds each word anywhere in it)."""

    auto: bool = False
    notable: bool = False
    json: bool = False
    refresh: str | None = None


def parse_query(query: str) -> Options:
    options = Options()
    at = query.find("refresh")
    if at >= 0:
        seconds = _atol(query[at + 8 :]) if query[at + 7 : at + 8] == "=" else 0
        options.refresh = str(seconds if seconds >= 1 else 10)
    options.notable = "notable" in query
    options.auto = "auto" in query
    options.json = "json" in query
    return options


def _atol(text: str) -> int:
    """C's atol: leading blanks, a sign, digits; 0 when there are none."""
    text = text.lstrip(" \t")
    sign = -1 if text[:1] == "-" else 1
    if text[:1] in "+-":
        text = text[1:]
    digits = ""
    for ch in text:
        if not ch.isdigit():
            break
        digits += ch
    return sign * int(digits) if digits else 0


class StatusModule(Module):
    name = "status_module"
    source = "mod_status.c"
    directives = (_extended_status,)
    hook_order = {"handler": MIDDLE}

    def create_server_config(self) -> StatusConf:
        return StatusConf()

    def handler(self, req: Request) -> bool | None:
        if req.handler not in HANDLERS:
            return None
        if req.method not in ("GET", "HEAD"):
            raise HttpError(405, headers=[("Allow", "GET,HEAD")], log=False)
        slot = req.conn.slot
        board: Scoreboard | None = getattr(slot, "board", None)
        if board is None or board.closed:
            req.log(
                ERROR,
                "MP00701: server status unavailable: this process has no scoreboard "
                "(mpmd -X with the prefork MPM serves without one)",
                "status",
            )
            raise HttpError(500, log=False)
        options = parse_query(req.query)
        report = self.report(req, board)
        headers: list[tuple[str, str]] = []
        if options.refresh is not None:
            headers.append(("Refresh", options.refresh))
        if options.json:
            body = json.dumps(json_data(report), separators=(",", ":")).encode("utf-8")
            headers += [("Content-Type", JSON), ("Cache-Control", "no-store")]
        elif options.auto:
            body = auto_text(report).encode("latin-1", "backslashreplace")
            headers.append(("Content-Type", TEXT))
        else:
            core = req.dir["core_module"]
            signature = req.conn.site.signature(req, core.server_signature)
            page = render_page(report, notable=options.notable, signature=signature)
            body = page.encode("latin-1", "xmlcharrefreplace")
            headers.append(("Content-Type", HTML))
        req.respond(200, headers, body)
        return True

    def report(self, req: Request, board: Scoreboard) -> StatusReport:
        from mpmd.cli.mpmd import BUILT  # the build stamp lives with `mpmd -V`

        site = req.conn.site
        conf: StatusConf = site.main.module_conf[self.name]
        return gather(
            board.snapshot(),
            server_name=self_name_and_port(req, for_url=False)[0],
            local_ip=req.conn.local_ip,
            version=server_banner("Full"),  # ap_get_server_description: whatever ServerTokens says
            mpm=site.config.mpm_name or "prefork",
            built=BUILT,
            extended=conf.extended,
        )


# -- ?auto ------------------------------------------------------------------------------


def auto_text(r: StatusReport) -> str:
    """mod_status's ``?auto``: ``Name: value`` lines after the server's name, httpd's order."""
    lines = [
        r.server_name,
        f"ServerVersion: {r.version}",
        f"ServerMPM: {r.mpm}",
        f"Server Built: {r.built}",
        f"CurrentTime: {ht_time(r.now)}",
        f"RestartTime: {ht_time(r.restart_time)}",
        f"ParentServerConfigGeneration: {r.config_generation}",
        f"ParentServerMPMGeneration: {r.mpm_generation}",
        f"ServerUptimeSeconds: {r.uptime}",
        f"ServerUptime:{uptime_text(r.uptime)}",
        f"Load1: {r.load[0]:.2f}",
        f"Load5: {r.load[1]:.2f}",
        f"Load15: {r.load[2]:.2f}",
    ]
    if r.extended:
        lines += [
            f"Total Accesses: {r.accesses}",
            f"Total kBytes: {r.kbytes}",
            f"Total Duration: {r.duration_ms}",
            f"CPUUser: {apr_g(r.cpu_user)}",
            f"CPUSystem: {apr_g(r.cpu_system)}",
            f"CPUChildrenUser: {apr_g(r.cpu_children_user)}",
            f"CPUChildrenSystem: {apr_g(r.cpu_children_system)}",
        ]
        if r.cpu_load is not None:
            lines.append(f"CPULoad: {apr_g(r.cpu_load)}")
        lines.append(f"Uptime: {r.uptime}")
        if r.req_per_sec is not None and r.bytes_per_sec is not None:
            lines += [
                f"ReqPerSec: {apr_g(r.req_per_sec)}",
                f"BytesPerSec: {apr_g(r.bytes_per_sec)}",
            ]
        if r.bytes_per_req is not None and r.duration_per_req is not None:
            lines += [
                f"BytesPerReq: {apr_g(r.bytes_per_req)}",
                f"DurationPerReq: {apr_g(r.duration_per_req)}",
            ]
    lines += [
        f"BusyWorkers: {r.busy}",
        f"GracefulWorkers: {r.graceful}",
        f"IdleWorkers: {r.idle}",
    ]
    if r.is_async:
        conns = r.connections
        lines += [
            f"Processes: {r.processes}",
            f"Stopping: {r.stopping}",
            f"ConnsTotal: {conns['total']}",
            f"ConnsAsyncWaitIO: {conns['async_wait_io']}",
            f"ConnsAsyncWriting: {conns['async_writing']}",
            f"ConnsAsyncKeepAlive: {conns['async_keep_alive']}",
            f"ConnsAsyncClosing: {conns['async_closing']}",
        ]
    lines.append(f"Scoreboard: {r.scoreboard}")
    return "\n".join(lines) + "\n"


# -- ?json ------------------------------------------------------------------------------


def json_data(r: StatusReport) -> dict[str, Any]:
    """Everything of the report as JSON values (times as Unix seconds, sizes in bytes)."""
    return {
        "server": {
            "server_name": r.server_name,
            "version": r.version,
            "mpm": r.mpm,
            "built": r.built,
            "current_time": round(r.now, 3),
            "restart_time": round(r.restart_time, 3),
            "uptime": r.uptime,
            "config_generation": r.config_generation,
            "mpm_generation": r.mpm_generation,
            "load": [round(x, 2) for x in r.load],
            "extended_status": r.extended,
            "async": r.is_async,
        },
        "totals": {
            "accesses": r.accesses,
            "kbytes": r.kbytes,
            "bytes": r.bytes,
            "duration_ms": r.duration_ms,
            "req_per_sec": _rounded(r.req_per_sec),
            "bytes_per_sec": _rounded(r.bytes_per_sec),
            "bytes_per_req": _rounded(r.bytes_per_req),
            "duration_per_req": _rounded(r.duration_per_req),
        },
        "cpu": {
            "user": round(r.cpu_user, 2),
            "system": round(r.cpu_system, 2),
            "children_user": round(r.cpu_children_user, 2),
            "children_system": round(r.cpu_children_system, 2),
            "load": _rounded(r.cpu_load),
        },
        "workers": {
            "busy": r.busy,
            "idle": r.idle,
            "graceful": r.graceful,
            "processes": r.processes,
            "stopping": r.stopping,
            "limit": r.worker_limit,
        },
        "connections": r.connections,
        "scoreboard": r.scoreboard,
        "processes": [
            {
                "slot": p.slot,
                "pid": p.pid,
                "generation": p.generation,
                "stopping": p.stopping,
                "old_generation": p.old_generation,
                "accepting": p.accepting,
                "busy": p.busy,
                "graceful": p.graceful,
                "idle": p.idle,
                "connections": p.connections,
                "async_wait_io": p.wait_io,
                "async_writing": p.writing,
                "async_keep_alive": p.keep_alive,
                "async_closing": p.closing,
            }
            for p in r.process_rows
        ],
        "workers_detail": [
            {
                "slot": f"{w.child}-{w.thread}",
                "pid": w.pid or None,
                "generation": w.generation,
                "acc_conn": w.acc_conn,
                "acc_child": w.acc_child,
                "acc_slot": w.acc_slot,
                "mode": w.mode,
                "cpu": round(w.cpu, 2),
                "seconds_since": w.seconds_since,
                "request_ms": w.request_ms,
                "duration_ms": w.duration_ms,
                "conn_kb": round(w.conn_bytes / 1024, 1),
                "child_mb": round(w.child_bytes / 1048576, 2),
                "slot_mb": round(w.slot_bytes / 1048576, 2),
                "client": w.client,
                "protocol": w.protocol,
                "vhost": w.vhost,
                "request": w.request,
            }
            for w in (r.workers if r.extended else ())
        ],
    }


def _rounded(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
