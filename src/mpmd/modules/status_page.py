"""status_module's HTML page: mod_status's page, line for line, plus the live view.

The Apache part follows ``mod_status.c`` (httpd 2.4) to the character where
tools scrape it: the ``<dt>`` lines, the Scoreboard ``<pre>`` (64 letters a
line), the key, the event MPM's process table, the ExtendedStatus worker
table (or, with ``?notable``, its list form; without ExtendedStatus, the PID
key). Two differences, both ours: the server calls itself mpmd in the title
and heading, and the page carries a style sheet and, under the heading, the
live view (``status_live.py``), which draws itself from ``?json`` in the
browser and is hidden where scripts do not run.

Strings that come from clients (client, vhost, request line) are escaped as
mod_status escapes them: ``ap_escape_logitem`` then ``ap_escape_html``.
"""

from __future__ import annotations

from mpmd.modules.status_live import LIVE_PANEL, LIVE_SCRIPT, STYLE
from mpmd.modules.status_report import (
    KBYTE,
    MBYTE,
    StatusReport,
    WorkerRow,
    apr_g,
    byte_text,
    escape_html,
    escape_logitem,
    ht_time,
    kbyte_text,
    uptime_text,
)

DOCTYPE = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n'
)
LINE = 64  # STATUS_MAXLINE: Scoreboard letters per line of the <pre>

KEY = (
    "<p>Scoreboard Key:<br />\n"
    '"<b><code>_</code></b>" Waiting for Connection, \n'
    '"<b><code>S</code></b>" Starting up, \n'
    '"<b><code>R</code></b>" Reading Request,<br />\n'
    '"<b><code>W</code></b>" Sending Reply, \n'
    '"<b><code>K</code></b>" Keepalive (read), \n'
    '"<b><code>D</code></b>" DNS Lookup,<br />\n'
    '"<b><code>C</code></b>" Closing connection, \n'
    '"<b><code>L</code></b>" Logging, \n'
    '"<b><code>G</code></b>" Gracefully finishing,<br /> \n'
    '"<b><code>I</code></b>" Idle cleanup of worker, \n'
    '"<b><code>.</code></b>" Open slot with no current process<br />\n'
    "</p>\n"
)

PROCESS_TABLE_HEAD = (
    '\n\n<table rules="all" cellpadding="1%">\n'
    '<tr><th rowspan="2">Slot</th><th rowspan="2">PID</th><th rowspan="2">Stopping</th>'
    '<th colspan="2">Connections</th>\n'
    '<th colspan="3">Threads</th><th colspan="4">Async connections</th></tr>\n'
    "<tr><th>total</th><th>accepting</th><th>busy</th><th>graceful</th><th>idle</th>"
    "<th>wait-io</th><th>writing</th><th>keep-alive</th><th>closing</th></tr>\n"
)

WORKER_TABLE_HEAD = (
    '\n\n<table border="0"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th><th>CPU\n</th>'
    "<th>SS</th><th>Req</th><th>Dur</th><th>Conn</th><th>Child</th><th>Slot</th>"
    "<th>Client</th><th>Protocol</th><th>VHost</th><th>Request</th></tr>\n\n"
)

WORKER_TABLE_KEY = (
    "</table>\n <hr /> <table>\n"
    " <tr><th>Srv</th><td>Child Server number - generation</td></tr>\n"
    " <tr><th>PID</th><td>OS process ID</td></tr>\n"
    " <tr><th>Acc</th><td>Number of accesses this connection / this child / this slot</td></tr>\n"
    " <tr><th>M</th><td>Mode of operation</td></tr>\n"
    "<tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>\n"
    "<tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n"
    " <tr><th>Req</th><td>Milliseconds required to process most recent request</td></tr>\n"
    " <tr><th>Dur</th><td>Sum of milliseconds required to process all requests</td></tr>\n"
    " <tr><th>Conn</th><td>Kilobytes transferred this connection</td></tr>\n"
    " <tr><th>Child</th><td>Megabytes transferred this child</td></tr>\n"
    " <tr><th>Slot</th><td>Total megabytes transferred this slot</td></tr>\n"
    " </table>\n"
)

# The M column: busy states bold, as mod_status marks them.
MODE_CELL = {
    "_": "_",
    "S": "<b>S</b>",
    "R": "<b>R</b>",
    "W": "<b>W</b>",
    "K": "<b>K</b>",
    "L": "<b>L</b>",
    "D": "<b>D</b>",
    "C": "<b>C</b>",
    ".": ".",
    "G": "G",
    "I": "I",
}
# ... and in the ?notable list
MODE_WORDS = {
    "_": "Ready",
    "S": "Starting",
    "R": "<b>Read</b>",
    "W": "<b>Write</b>",
    "K": "<b>Keepalive</b>",
    "L": "<b>Logging</b>",
    "D": "<b>DNS lookup</b>",
    "C": "<b>Closing</b>",
    ".": "Dead",
    "G": "Graceful",
    "I": "Dying",
}


def render_page(r: StatusReport, *, notable: bool = False, signature: str = "") -> str:
    """The whole page for ``/server-status`` (``signature``: ServerSignature's line, or "")."""
    out = [
        DOCTYPE,
        "<html><head>\n<title>mpmd Status</title>\n",
        STYLE,
        "</head><body>\n",
        f"<h1>mpmd Server Status for {escape_html(r.server_name)} (via {r.local_ip})</h1>\n\n",
        LIVE_PANEL,
        f"<dl><dt>Server Version: {escape_html(r.version)}</dt>\n",
        f"<dt>Server MPM: {r.mpm}</dt>\n",
        f"<dt>Server Built: {r.built}\n</dt></dl><hr /><dl>\n",
        f"<dt>Current Time: {ht_time(r.now)}</dt>\n",
        f"<dt>Restart Time: {ht_time(r.restart_time)}</dt>\n",
        f"<dt>Parent Server Config. Generation: {r.config_generation}</dt>\n",
        f"<dt>Parent Server MPM Generation: {r.mpm_generation}</dt>\n",
        f"<dt>Server uptime: {uptime_text(r.uptime)}</dt>\n",
        f"<dt>Server load: {r.load[0]:.2f} {r.load[1]:.2f} {r.load[2]:.2f}</dt>\n",
    ]
    if r.extended:
        out += _totals(r)
    out.append(
        f"<dt>{r.busy} requests currently being processed, {r.graceful} workers gracefully "
        f"restarting, {r.idle} idle workers</dt>\n</dl>"
    )
    if r.is_async:
        out.append(_process_table(r))
    out += ["<pre>", _grid(r.scoreboard), "</pre>\n", KEY]
    if r.extended:
        workers = [w for w in r.workers if w.in_table]
        if notable:
            out.append("<hr /><h2>Server Details</h2>\n\n")
            out += [_worker_item(w) for w in workers]
        else:
            out.append(WORKER_TABLE_HEAD)
            out += [_worker_row(w) for w in workers]
            out.append(WORKER_TABLE_KEY)
    else:
        out.append(_pid_key(r))
        out.append(
            "<hr />To obtain a full report with current status information you need to use "
            "the <code>ExtendedStatus On</code> directive.\n"
        )
    if signature:
        out += ["<hr />\n", signature]
    out += [LIVE_SCRIPT, "</body></html>\n"]
    return "".join(out)


def _totals(r: StatusReport) -> list[str]:
    lines = [
        f"<dt>Total accesses: {r.accesses} - Total Traffic: {kbyte_text(r.kbytes)}"
        f" - Total Duration: {r.duration_ms}</dt>\n",
        f"<dt>CPU Usage: u{apr_g(r.cpu_user)} s{apr_g(r.cpu_system)}"
        f" cu{apr_g(r.cpu_children_user)} cs{apr_g(r.cpu_children_system)}",
    ]
    load = r.cpu_load
    lines.append(f" - {apr_g(load, 3)}% CPU load</dt>\n" if load is not None else "</dt>\n")
    rates = "<dt>"
    if r.req_per_sec is not None and r.bytes_per_sec is not None:
        rates += (
            f"{apr_g(r.req_per_sec, 3)} requests/sec - {byte_text(int(r.bytes_per_sec))}/second"
        )
    if r.bytes_per_req is not None and r.duration_per_req is not None:
        if r.uptime:
            rates += " - "
        rates += (
            f"{byte_text(int(r.bytes_per_req))}/request - {apr_g(r.duration_per_req)} ms/request"
        )
    lines.append(rates + "</dt>\n")
    return lines


def _process_table(r: StatusReport) -> str:
    out = [PROCESS_TABLE_HEAD]
    for p in r.process_rows:
        stopping = ("yes" if p.stopping else "no") + (" (old gen)" if p.old_generation else "")
        out.append(
            f"<tr><td>{p.slot}</td><td>{p.pid}</td><td>{stopping}</td>"
            f"<td>{p.connections}</td><td>{'yes' if p.accepting else 'no'}</td>"
            f"<td>{p.busy}</td><td>{p.graceful}</td><td>{p.idle}</td>"
            f"<td>{p.wait_io}</td><td>{p.writing}</td><td>{p.keep_alive}</td><td>{p.closing}</td>"
            "</tr>\n"
        )
    rows = r.process_rows
    conns = r.connections
    out.append(
        f"<tr><td>Sum</td><td>{r.processes}</td><td>{r.stopping}</td>"
        f"<td>{conns['total']}</td><td>&nbsp;</td>"
        f"<td>{sum(p.busy for p in rows)}</td><td>{sum(p.graceful for p in rows)}</td>"
        f"<td>{sum(p.idle for p in rows)}</td><td>{conns['async_wait_io']}</td>"
        f"<td>{conns['async_writing']}</td><td>{conns['async_keep_alive']}</td>"
        f"<td>{conns['async_closing']}</td></tr>\n</table>\n"
    )
    return "".join(out)


def _grid(letters: str) -> str:
    """The Scoreboard letters, a newline after every 64th (as mod_status writes them)."""
    return "".join(
        letters[i : i + LINE] + ("\n" if len(letters[i : i + LINE]) == LINE else "")
        for i in range(0, len(letters), LINE)
    )


def _pid_key(r: StatusReport) -> str:
    """Without ExtendedStatus: each live slot's pid and state, three to a line."""
    out = ["PID Key: <br />\n<pre>\n"]
    k = 0
    for w in r.workers:
        if w.mode == ".":
            continue
        out.append(f"   {r.pids[w.child]} in state: {w.mode} ")
        k += 1
        if k >= 3:
            out.append("\n")
            k = 0
        else:
            out.append(",")
    out.append("\n</pre>\n")
    return "".join(out)


def _worker_row(w: WorkerRow) -> str:
    pid = "-" if w.mode == "." else str(w.pid)
    return (
        f"<tr><td><b>{w.child}-{w.generation}</b></td><td>{pid}</td>"
        f"<td>{w.acc_conn}/{w.acc_child}/{w.acc_slot}"
        f"</td><td>{MODE_CELL.get(w.mode, '?')}"
        f"\n</td><td>{w.cpu:.2f}</td><td>{w.seconds_since}</td><td>{w.request_ms}</td>"
        f"<td>{w.duration_ms}"
        f"</td><td>{w.conn_bytes / KBYTE:.1f}</td><td>{w.child_bytes / MBYTE:.2f}"
        f"</td><td>{w.slot_bytes / MBYTE:.2f}\n"
        f"</td><td>{escape_html(w.client)}</td><td>{escape_html(w.protocol)}</td>"
        f"<td nowrap>{escape_html(w.vhost)}</td>"
        f"<td nowrap>{escape_html(escape_logitem(w.request))}</td></tr>\n\n"
    )


def _worker_item(w: WorkerRow) -> str:
    pid = "-" if w.mode == "." else str(w.pid)
    return (
        f"<b>Server {w.child}-{w.generation}</b> ({pid}): "
        f"{w.acc_conn}|{w.acc_child}|{w.acc_slot} [{MODE_WORDS.get(w.mode, '?STATE?')}] "
        f"u{apr_g(w.cpu_user)} s{apr_g(w.cpu_system)} "
        f"cu{apr_g(w.cpu_children_user)} cs{apr_g(w.cpu_children_system)}\n"
        f" {w.seconds_since} {w.request_ms} {w.duration_ms} ("
        f"{byte_text(w.conn_bytes)}|{byte_text(w.child_bytes)}|{byte_text(w.slot_bytes)})\n"
        f" <i>{escape_html(w.client)} {{{escape_html(escape_logitem(w.request))}}}</i>"
        f" <i>({escape_html(w.protocol)})</i> <b>[{escape_html(w.vhost)}]</b><br />\n\n"
    )
