"""metrics_module: the scoreboard as Prometheus metrics (ours; httpd has no such module).

``<Location /metrics> SetHandler metrics </Location>`` answers a scrape with
the Prometheus text exposition format (version 0.0.4), written here line by
line: one ``# HELP`` and one ``# TYPE`` per family, label values escaped,
floats as Go prints them, the histogram's buckets cumulative and ending in
``+Inf``.

Every number comes from the scoreboard, so a scrape that lands on any child
sees the whole server, not that child: requests by status class, body bytes
and the request-duration histogram are the sums of every worker slot's
counters (``Scoreboard.request_counters``), kept for the
scoreboard's life and so only ever growing; workers by state, processes,
generations and the event MPM's connections are read from the same table as
mod_status reads them (``status_report.gather``). Access is the Require
rules' job, as for server-status.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from mpmd.config.registry import MIDDLE, Module
from mpmd.http.errors import HttpError
from mpmd.log.levels import ERROR
from mpmd.modules.status_report import StatusReport, gather
from mpmd.mpm.scoreboard import DURATION_BOUNDS_US, STATUS_CLASSES

if TYPE_CHECKING:
    from mpmd.http.request import Request
    from mpmd.mpm.scoreboard import Scoreboard
    from mpmd.mpm.scoreboard_view import RequestCounters

HANDLER = "metrics"
DURATION_BOUNDS_SECONDS = (*(b / 1_000_000 for b in DURATION_BOUNDS_US), math.inf)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PREFIX = "mpmd_"

# scoreboard letters -> the state label of mpmd_scoreboard_workers
STATE_NAMES = {
    "_": "ready",
    "S": "starting",
    "R": "reading",
    "W": "sending",
    "K": "keepalive",
    "D": "dns",
    "C": "closing",
    "L": "logging",
    "G": "graceful",
    "I": "idle_cleanup",
    ".": "open",
}


class MetricsModule(Module):
    name = "metrics_module"
    source = "mod_metrics.c"
    hook_order = {"handler": MIDDLE}

    def handler(self, req: Request) -> bool | None:
        if req.handler != HANDLER:
            return None
        if req.method not in ("GET", "HEAD"):
            raise HttpError(405, headers=[("Allow", "GET,HEAD")], log=False)
        board: Scoreboard | None = getattr(req.conn.slot, "board", None)
        if board is None or board.closed:
            req.log(
                ERROR,
                "MP00702: metrics unavailable: this process has no scoreboard "
                "(mpmd -X with the prefork MPM serves without one)",
                "metrics",
            )
            raise HttpError(500, log=False)
        import mpmd
        from mpmd.http.response import server_banner

        site = req.conn.site
        report = gather(
            board.snapshot(),
            server_name=req.server.server_name,
            local_ip=req.conn.local_ip,
            version=server_banner("Full"),
            mpm=site.config.mpm_name or "prefork",
            built="",
            extended=True,
        )
        text = exposition(report, board.request_counters(), mpmd.__version__)
        req.respond(200, [("Content-Type", CONTENT_TYPE)], text.encode("utf-8"))
        return True


# -- the text format -----------------------------------------------------------------------

Sample = tuple[str, dict[str, str], float]  # name suffix ("_bucket", ...), labels, value


def exposition(report: StatusReport, counters: RequestCounters, version: str) -> str:
    """The scrape: every family, in the Prometheus text format."""
    out: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[Sample]) -> None:
        name = PREFIX + name
        out.append(f"# HELP {name} {_escape_help(help_text)}")
        out.append(f"# TYPE {name} {kind}")
        for suffix, labels, value in samples:
            text = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
            braced = "{" + text + "}" if text else ""
            out.append(f"{name}{suffix}{braced} {number(value)}")

    def one(value: float) -> list[Sample]:
        return [("", {}, value)]

    def by(label: str, values: dict[str, float]) -> list[Sample]:
        return [("", {label: key}, value) for key, value in values.items()]

    family(
        "info",
        "gauge",
        "mpmd's version and the MPM it runs; always 1.",
        [("", {"version": version, "mpm": report.mpm, "server": report.version}, 1)],
    )
    family(
        "restart_time_seconds",
        "gauge",
        "When the server last started or restarted (Unix time).",
        one(round(report.restart_time, 3)),
    )
    family(
        "uptime_seconds",
        "gauge",
        "Seconds since the server last started or restarted.",
        one(report.uptime),
    )
    family(
        "mpm_generation",
        "gauge",
        "Restarts since the parent started (mod_status's ParentServerMPMGeneration).",
        one(report.mpm_generation),
    )
    family(
        "config_generation",
        "gauge",
        "Configurations read by the parent (mod_status's ParentServerConfigGeneration).",
        one(report.config_generation),
    )
    by_class = counters.by_class
    family(
        "http_requests_total",
        "counter",
        "HTTP requests served by every child, by status class (other: no status sent).",
        by("code", {name: by_class[name] for name in (*STATUS_CLASSES[1:], STATUS_CLASSES[0])}),
    )
    family(
        "http_response_body_bytes_total",
        "counter",
        "Bytes of response bodies sent.",
        one(counters.bytes),
    )
    cumulative = 0
    histogram: list[Sample] = []
    for bound, n in zip(DURATION_BOUNDS_SECONDS, counters.buckets, strict=True):
        cumulative += n
        histogram.append(("_bucket", {"le": number(bound)}, cumulative))
    histogram.append(("_sum", {}, counters.duration_us / 1_000_000))
    histogram.append(("_count", {}, cumulative))
    family(
        "http_request_duration_seconds",
        "histogram",
        "Time from a request's head being read to its response being sent.",
        histogram,
    )
    family(
        "workers",
        "gauge",
        "Worker slots of running children, as mod_status counts them.",
        by("state", {"busy": report.busy, "idle": report.idle, "graceful": report.graceful}),
    )
    family(
        "workers_limit",
        "gauge",
        "MaxRequestWorkers: the worker slots in use when full.",
        one(report.worker_limit),
    )
    family(
        "scoreboard_slots",
        "gauge",
        "Scoreboard slots by state letter (mod_status's Scoreboard).",
        by("state", {name: report.scoreboard.count(ch) for ch, name in STATE_NAMES.items()}),
    )
    family(
        "processes",
        "gauge",
        "Child processes, running or told to stop.",
        by("state", {"running": report.processes - report.stopping, "stopping": report.stopping}),
    )
    conns = report.connections
    family(
        "connections",
        "gauge",
        "Connections held by the children (event MPM; 0 for the others), by state.",
        by(
            "state",
            {
                "total": conns["total"],
                "writing": conns["async_writing"],
                "keepalive": conns["async_keep_alive"],
                "closing": conns["async_closing"],
                "wait_io": conns["async_wait_io"],
            },
        ),
    )
    family(
        "children_cpu_seconds",
        "gauge",
        "CPU seconds of the running children, as mod_status's CPU Usage (a child's are "
        "gone with it, so this can fall).",
        by("mode", {"user": round(report.cpu_user, 2), "system": round(report.cpu_system, 2)}),
    )
    return "\n".join(out) + "\n"


def number(value: float) -> str:
    """A sample value as Prometheus (and Go) print it: ints plain, ``+Inf``, ``1e-05``."""
    if isinstance(value, int):
        return str(value)
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    return repr(float(value))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")
