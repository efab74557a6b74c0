"""Benchmark mpmd against its peers with wrk: see bench/README.md.

Two tables drive everything: SERVERS (how to start each server and know it is
ready) and SCENARIOS (the wrk arguments of each load). To add a peer or a load,
add a row. Each server runs alone, in its own process group, on its own free
port on 127.0.0.1; every scenario gets a discarded warm-up run, then a measured
one, during which the server's CPU time is read to give CPU µs per request.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import psutil

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
APPS_DIR = BENCH_DIR / "apps"
RESULTS_FILE = BENCH_DIR / "results" / "latest.md"
BIN_DIR = Path(sys.executable).parent  # the venv this script runs in

EXPECTED_BODY = b"Hello, World!"
READY_TRIES = 100
READY_INTERVAL = 0.1  # seconds
STOP_GRACE = 5.0  # seconds between SIGTERM and SIGKILL
BASELINE = "mpmd"  # every server's req/s is quoted as a ratio to this one's
REFERENCE = "uvicorn"  # the peer the targets are stated against


# ---------------------------------------------------------------------------
# Servers


@dataclass(frozen=True)
class Launch:
    """What a server's command line may depend on."""

    port: int
    workdir: Path  # a private temp dir: config files and logs go here


@dataclass(frozen=True)
class Server:
    name: str
    # Builds the command line; may write config files into launch.workdir.
    command: Callable[[Launch], list[str]]
    description: str
    env: dict[str, str] = field(default_factory=dict)
    ready_path: str = "/"


def mpmd_command() -> list[str]:
    """The venv's `mpmd` script, or `python -m mpmd` when there is none."""
    script = BIN_DIR / "mpmd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mpmd"]


def mpmd_conf(launch: Launch, *, access_log: bool) -> list[str]:
    lines = [
        f"Listen 127.0.0.1:{launch.port}",
        "LoadModule wsgi_module modules/mod_wsgi.so",
        f"WSGIPythonPath {APPS_DIR}",
        "WSGIApp / hello:application",
        f"ErrorLog {launch.workdir / 'error_log'}",
        "LogLevel warn",
        "MaxKeepAliveRequests 0",
    ]
    if access_log:
        lines += [
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined',
            f"CustomLog {launch.workdir / 'access_log'} combined",
        ]
    conf = launch.workdir / "mpmd.conf"
    conf.write_text("\n".join(lines) + "\n")
    return [*mpmd_command(), "-X", "-f", str(conf)]


SERVERS: list[Server] = [
    Server(
        name="mpmd",
        description="mpmd -X (one process), no access log",
        command=lambda launch: mpmd_conf(launch, access_log=False),
        env={"PYTHONPATH": str(REPO / "src")},
    ),
    Server(
        name="mpmd+log",
        description="mpmd -X with a combined-format access log",
        command=lambda launch: mpmd_conf(launch, access_log=True),
        env={"PYTHONPATH": str(REPO / "src")},
    ),
    Server(
        name="gunicorn",
        description="gunicorn, 1 sync worker (plus its arbiter)",
        command=lambda launch: [
            str(BIN_DIR / "gunicorn"),
            *("-w", "1", "-k", "sync", "-b", f"127.0.0.1:{launch.port}"),
            *("--chdir", str(APPS_DIR), "hello:application"),
        ],
    ),
    Server(
        name="uvicorn",
        description="uvicorn, 1 process, httptools + uvloop, ASGI",
        command=lambda launch: [
            str(BIN_DIR / "uvicorn"),
            *("--workers", "1", "--http", "httptools", "--loop", "uvloop", "--no-access-log"),
            *("--host", "127.0.0.1", "--port", str(launch.port)),
            *("--app-dir", str(APPS_DIR), "hello:app"),
        ],
    ),
]


# ---------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    wrk_args: tuple[str, ...]  # everything but -d and the URL
    description: str
    target_vs_reference: float | None = None  # BASELINE req/s >= this x REFERENCE req/s


SCENARIOS: list[Scenario] = [
    Scenario(
        name="c1-keepalive",
        wrk_args=("-t1", "-c1", "--latency"),
        description="1 connection, keep-alive: the per-request cost",
        target_vs_reference=1.3,
    ),
    Scenario(
        name="c8-close",
        wrk_args=("-t2", "-c8", "--latency", "-H", "Connection: close"),
        description="8 connections, a new connection per request",
        target_vs_reference=1.0,
    ),
]


# ---------------------------------------------------------------------------
# Running a server


class ServerFailed(Exception):
    """The server did not start, or died; the message says why."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def logs_of(workdir: Path) -> str:
    """The tails of every log the server wrote, for a failure message."""
    parts = []
    for path in sorted(workdir.iterdir()):
        if path.suffix != ".conf" and (text := tail(path)):
            parts.append(f"--- {path.name}\n{text}")
    return "\n".join(parts) or "(no output)"


def get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(proc: subprocess.Popen[bytes], port: int, path: str) -> None:
    last_error = "no answer"
    for _ in range(READY_TRIES):
        if proc.poll() is not None:
            raise ServerFailed(f"exited with status {proc.returncode} before it was ready")
        try:
            status, body = get(port, path)
        except (OSError, http.client.HTTPException) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if status == 200 and body == EXPECTED_BODY:
                return
            if status == 200:
                raise ServerFailed(f"GET {path} answered {body[:60]!r}, not {EXPECTED_BODY!r}")
            last_error = f"GET {path} answered {status}"
        time.sleep(READY_INTERVAL)
    raise ServerFailed(f"not ready after {READY_TRIES * READY_INTERVAL:.0f} s ({last_error})")


def group_members(pgid: int) -> list[int]:
    """Live processes of process group `pgid` (a group we created)."""
    pids = []
    for pid in psutil.pids():
        with suppress(OSError):
            if os.getpgid(pid) == pgid:
                pids.append(pid)
    return pids


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server by PID, SIGKILL it after STOP_GRACE; then SIGKILL by
    PID whatever it left behind in its process group (orphaned workers)."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            with suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    # While a member lives, the group's id (the leader's PID) cannot be reused.
    for pid in group_members(proc.pid):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@contextmanager
def running(server: Server, root: Path) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """Start `server`, wait until it serves, yield (process, port); always stop it."""
    workdir = root / server.name
    workdir.mkdir()
    port = free_port()
    try:
        argv = server.command(Launch(port=port, workdir=workdir))
    except OSError as exc:
        raise ServerFailed(f"could not prepare its command: {exc}") from exc
    env = {**os.environ, **server.env}
    with (workdir / "stdout").open("wb") as out, (workdir / "stderr").open("wb") as err:
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=True,
            )
        except OSError as exc:
            raise ServerFailed(f"could not run {argv[0]}: {exc}") from exc
    try:
        try:
            wait_ready(proc, port, server.ready_path)
        except ServerFailed as exc:
            stop(proc)
            raise ServerFailed(f"{exc}\n  command: {' '.join(argv)}\n{logs_of(workdir)}") from None
        yield proc, port
    finally:
        stop(proc)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and all its live descendants."""
    total = 0.0
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return total
    for proc in procs:
        with suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


# ---------------------------------------------------------------------------
# Running wrk


@dataclass
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50: float | None  # seconds
    p99: float | None
    non_2xx_3xx: int
    socket_errors: dict[str, int]

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())

    def error_detail(self) -> str:
        parts = [f"{kind} {n}" for kind, n in self.socket_errors.items() if n]
        if self.non_2xx_3xx:
            parts.append(f"non-2xx/3xx {self.non_2xx_3xx}")
        return ", ".join(parts)


TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_time(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match[1]) * TIME_UNITS[match[2]]


def parse_wrk(output: str) -> WrkResult:
    done = re.search(r"^\s*(\d+) requests in ([\d.]+\w+)", output, re.MULTILINE)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.MULTILINE)
    if not done or not rps:
        raise ValueError("wrk printed no summary")
    percentiles = dict(re.findall(r"^\s+(50|99)(?:\.0+)?%\s+(\S+)", output, re.MULTILINE))
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(done[1]),
        seconds=parse_time(done[2]),
        rps=float(rps[1]),
        p50=parse_time(percentiles["50"]) if "50" in percentiles else None,
        p99=parse_time(percentiles["99"]) if "99" in percentiles else None,
        non_2xx_3xx=int(non_2xx[1]) if non_2xx else 0,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True)
        )
        if sockets
        else {},
    )


def run_wrk(scenario: Scenario, url: str, seconds: int) -> WrkResult:
    argv = ["wrk", *scenario.wrk_args, f"-d{seconds}s", url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited {done.returncode}: {done.stderr.strip() or done.stdout}")
    try:
        return parse_wrk(done.stdout)
    except ValueError as exc:
        raise RuntimeError(f"{exc}:\n{done.stdout}") from None


# ---------------------------------------------------------------------------
# The benchmark


@dataclass(frozen=True)
class Live:
    """A started, ready server."""

    server: Server
    proc: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


@dataclass
class Run:
    """One measured wrk run of one server in one scenario."""

    wrk: WrkResult | None = None
    cpu: float = 0.0  # server CPU seconds during the measured run
    failure: str = ""

    @property
    def cpu_us_per_request(self) -> float | None:
        if not self.wrk or not self.wrk.requests:
            return None
        return self.cpu * 1e6 / self.wrk.requests


@dataclass
class Result:
    """Every round's run of one server in one scenario; the median speaks for them."""

    scenario: Scenario
    server: Server
    runs: list[Run] = field(default_factory=list)

    @property
    def median(self) -> Run | None:
        rated = sorted(((run.wrk.rps, run) for run in self.runs if run.wrk), key=lambda x: x[0])
        return rated[(len(rated) - 1) // 2][1] if rated else None

    @property
    def rps(self) -> float | None:
        median = self.median
        return median.wrk.rps if median and median.wrk else None

    @property
    def spread(self) -> float | None:
        """Half the range of req/s over the rounds, as a fraction of the median."""
        rates = [run.wrk.rps for run in self.runs if run.wrk]
        median = self.rps
        return (max(rates) - min(rates)) / 2 / median if len(rates) > 1 and median else None

    @property
    def errors(self) -> int:
        return sum(run.wrk.errors for run in self.runs if run.wrk)

    @property
    def trouble(self) -> str:
        """Errors and failures of every round, or ''."""
        parts = [run.wrk.error_detail() for run in self.runs if run.wrk and run.wrk.errors]
        parts += [one_line(run.failure) for run in self.runs if run.failure]
        return "; ".join(parts)


def start_all(
    servers: list[Server], root: Path, stack: ExitStack
) -> tuple[list[Live], dict[str, str]]:
    """Start every server (each stopped when `stack` closes); skip those that fail."""
    live, skipped = [], {}
    for server in servers:
        try:
            proc, port = stack.enter_context(running(server, root))
        except ServerFailed as exc:
            first, _, rest = str(exc).partition("\n")
            skipped[server.name] = first
            print(f"== {server.name}: SKIPPED, {first}\n{rest}", flush=True)
            continue
        live.append(Live(server, proc, port))
        print(f"== {server.name}: pid {proc.pid}, {live[-1].url}", flush=True)
    return live, skipped


def measure(live: Live, scenario: Scenario, duration: int, warmup: int) -> Run:
    run = Run()
    if live.proc.poll() is not None:
        run.failure = f"server had exited with status {live.proc.returncode}"
        return run
    try:
        if warmup:
            run_wrk(scenario, live.url, warmup)
        before = cpu_seconds(live.proc.pid)
        run.wrk = run_wrk(scenario, live.url, duration)
        run.cpu = cpu_seconds(live.proc.pid) - before
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        run.failure = str(exc)
    if live.proc.poll() is not None:
        run.failure = run.failure or f"server died during the run ({live.proc.returncode})"
    return run


def describe(run: Run) -> str:
    if not run.wrk:
        return f"FAILED: {run.failure}"
    text = f"{run.wrk.rps:>9,.0f} req/s, p99 {fmt_latency(run.wrk.p99)}, {fmt_cpu(run)} CPU µs/req"
    if run.wrk.errors:
        text += f", ERRORS: {run.wrk.error_detail()}"
    return text + (f" ({run.failure})" if run.failure else "")


def bench(
    live: list[Live], scenarios: list[Scenario], duration: int, warmup: int, repeat: int
) -> list[Result]:
    """Round after round, each scenario on each server in turn, so that drift in
    the machine's speed touches every server alike."""
    results = {(sc.name, lv.server.name): Result(sc, lv.server) for sc in scenarios for lv in live}
    for round_ in range(1, repeat + 1):
        for scenario in scenarios:
            for server in live:
                run = measure(server, scenario, duration, warmup)
                results[scenario.name, server.server.name].runs.append(run)
                where = f"[{round_}/{repeat}] {scenario.name:<14} {server.server.name:<10}"
                print(f"   {where} {describe(run)}", flush=True)
    return list(results.values())


# ---------------------------------------------------------------------------
# Reporting


def fmt_latency(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def fmt_cpu(run: Run) -> str:
    value = run.cpu_us_per_request
    return "—" if value is None else f"{value:.1f}"


def one_line(text: str, width: int = 80) -> str:
    first = text.strip().split("\n")[0].replace("|", "/")
    return first if len(first) <= width else first[: width - 1] + "…"


def find(results: list[Result], scenario: Scenario, name: str) -> Result | None:
    return next((r for r in results if r.scenario is scenario and r.server.name == name), None)


def ratio_text(result: Result, base: Result | None) -> str:
    if result.rps is None or base is None or not base.rps:
        return "—"
    return f"{result.rps / base.rps:.2f}x"


TEXT_COLUMNS = {"scenario", "server", "errors"}  # the others are numbers: right-aligned


def header(repeat: int) -> list[str]:
    spread = ["±"] if repeat > 1 else []
    return [
        "scenario",
        "server",
        "req/s",
        *spread,
        f"vs {BASELINE}",
        "p50",
        "p99",
        "CPU µs/req",
        "CPU %",
        "errors",
    ]


def table_rows(results: list[Result], scenarios: list[Scenario], repeat: int) -> list[list[str]]:
    rows = []
    for scenario in scenarios:
        base = find(results, scenario, BASELINE)
        for result in (r for r in results if r.scenario is scenario):
            spread = [] if repeat == 1 else ["—"]
            run = result.median
            if not run or not run.wrk:
                rows.append(
                    [
                        scenario.name,
                        result.server.name,
                        "FAILED",
                        *spread,
                        *(["—"] * 5),
                        result.trouble,
                    ]
                )
                continue
            if result.spread is not None:
                spread = [f"{100 * result.spread:.0f}%"]
            errors = str(result.errors)
            if result.trouble:
                errors = f"⚠ {errors} ({result.trouble})"
            rows.append(
                [
                    scenario.name,
                    result.server.name,
                    f"{run.wrk.rps:,.0f}",
                    *spread,
                    ratio_text(result, base),
                    fmt_latency(run.wrk.p50),
                    fmt_latency(run.wrk.p99),
                    fmt_cpu(run),
                    f"{100 * run.cpu / run.wrk.seconds:.0f}%",
                    errors,
                ]
            )
    return rows


def versus_reference(results: list[Result], scenarios: list[Scenario]) -> list[str]:
    """'mpmd vs uvicorn' lines: the targets are stated against REFERENCE."""
    lines = []
    for scenario in scenarios:
        ref = find(results, scenario, REFERENCE)
        if not ref or not ref.rps:
            continue
        for result in results:
            if result.scenario is not scenario or not result.server.name.startswith(BASELINE):
                continue
            if result.rps is None:
                continue
            value = result.rps / ref.rps
            line = f"{result.server.name} vs {REFERENCE}, {scenario.name}: {value:.2f}x"
            if result.server.name == BASELINE and scenario.target_vs_reference is not None:
                target = scenario.target_vs_reference
                verdict = "met" if value >= target else "NOT met"
                line += f"  (target ≥ {target:.1f}x: {verdict})"
            if result.trouble or ref.trouble:
                line += "  ⚠ a run had errors"
            lines.append(line)
    return lines


def text_table(head: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.ljust(width) if name in TEXT_COLUMNS else cell.rjust(width)
            for name, cell, width in zip(head, cells, widths, strict=True)
        ).rstrip()

    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    align = ["---" if name in TEXT_COLUMNS else "---:" for name in head]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [head, align, *rows])


def machine() -> dict[str, str]:
    cpu = "?"
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[0]
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{os.cpu_count()} CPUs, {cpu}; {platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "wrk": wrk.split(" Copyright")[0].strip() or "?",
        "mpmd commit": commit or "none yet",
        "load average before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def report(
    results: list[Result],
    scenarios: list[Scenario],
    servers: list[Server],
    skipped: dict[str, str],
    info: dict[str, str],
    args: argparse.Namespace,
) -> tuple[str, str]:
    """The report as (plain text for the terminal, Markdown for the file)."""
    head = header(args.repeat)
    rows = table_rows(results, scenarios, args.repeat)
    versus = versus_reference(results, scenarios) or [f"(needs both {BASELINE} and {REFERENCE})"]
    troubled = [result for result in results if result.trouble]
    notes = [f"{name} did not run: {why}" for name, why in skipped.items()]
    if troubled:
        notes.append(f"⚠ {len(troubled)} row(s) had errors or failed runs: do not trust them.")
    rounds = (
        f"{args.repeat} interleaved rounds, the median round shown, ± = half its req/s range"
        if args.repeat > 1
        else "one round"
    )

    text = "\n".join(["", text_table(head, rows), "", *versus, *(["", *notes] if notes else [])])
    md = [
        "# mpmd benchmark",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        f"- each run: {args.duration} s of wrk after a discarded {args.warmup} s warm-up; {rounds}",
        "",
        "Numbers compare only within this run on this machine.",
        "",
        "## Results",
        "",
        markdown_table(head, rows),
        "",
        f"## {BASELINE} vs {REFERENCE} (req/s ratio)",
        "",
        *[f"- {line}" for line in versus],
        "",
        "## Servers",
        "",
        *[f"- `{server.name}`: {server.description}" for server in servers],
        "",
        "## Scenarios",
        "",
        *[
            f"- `{s.name}`: `wrk {shlex.join(s.wrk_args)} -d{args.duration}s URL` — {s.description}"
            for s in scenarios
        ],
    ]
    if notes:
        md += ["", "## Notes", "", *[f"- {note}" for note in notes]]
    return text, "\n".join(md) + "\n"


Named = TypeVar("Named", Server, Scenario)


def pick(table: list[Named], names: str | None, what: str) -> list[Named]:
    if not names:
        return table
    known = {item.name: item for item in table}
    wanted = [name.strip() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return [known[name] for name in wanted]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run (5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of discarded warm-up (1)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds; the median is shown (3)"
    )
    parser.add_argument("--only", metavar="NAME[,NAME]", help="servers to run (default: all)")
    parser.add_argument("--scenario", metavar="NAME[,NAME]", help="scenarios (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown report path")
    parser.add_argument("--list", action="store_true", help="list servers and scenarios, and exit")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.repeat < 1:
        parser.error("--duration and --repeat must be ≥ 1, --warmup ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for server in SERVERS:
            print(f"server    {server.name:<14} {server.description}")
        for scenario in SCENARIOS:
            print(f"scenario  {scenario.name:<14} wrk {shlex.join(scenario.wrk_args)}")
        return 0
    servers = pick(SERVERS, args.only, "server")
    scenarios = pick(SCENARIOS, args.scenario, "scenario")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not on PATH: run bench/run, or apt-get install -y wrk")

    # A SIGTERM unwinds like Ctrl-C does, so every server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    info = machine()
    try:
        with tempfile.TemporaryDirectory(prefix="mpmd-bench-") as tmp, ExitStack() as stack:
            live, skipped = start_all(servers, Path(tmp), stack)
            results = bench(live, scenarios, args.duration, args.warmup, args.repeat)
    except KeyboardInterrupt:
        print("\ninterrupted: every server started has been stopped", file=sys.stderr)
        return 130

    text, markdown = report(results, scenarios, servers, skipped, info, args)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    print(f"\nwritten to {args.output}")
    clean = results and not skipped and all(r.median and not r.trouble for r in results)
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
