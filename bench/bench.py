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
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

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
    target_vs_reference: float | None = None  # BASELINE req/s >= this × REFERENCE req/s


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


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM by PID; SIGKILL its whole process group if it lingers."""
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE)
            return
        except subprocess.TimeoutExpired:
            pass
    # The leader is not reaped yet, so its PID still names our group.
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


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
                argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, start_new_session=True
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


@dataclass
class Run:
    scenario: Scenario
    server: Server
    wrk: WrkResult | None = None
    cpu: float = 0.0  # server CPU seconds during the measured run
    failure: str = ""

    @property
    def cpu_us_per_request(self) -> float | None:
        if not self.wrk or not self.wrk.requests:
            return None
        return self.cpu * 1e6 / self.wrk.requests


def bench_server(
    server: Server, scenarios: list[Scenario], root: Path, duration: int, warmup: int
) -> list[Run]:
    runs = []
    with running(server, root) as (proc, port):
        url = f"http://127.0.0.1:{port}/"
        print(f"== {server.name}: pid {proc.pid}, {url}", flush=True)
        for scenario in scenarios:
            run = Run(scenario, server)
            runs.append(run)
            if proc.poll() is not None:
                run.failure = f"server exited with status {proc.returncode}"
            else:
                try:
                    if warmup:
                        run_wrk(scenario, url, warmup)
                    before = cpu_seconds(proc.pid)
                    run.wrk = run_wrk(scenario, url, duration)
                    run.cpu = cpu_seconds(proc.pid) - before
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    run.failure = str(exc)
                if proc.poll() is not None:
                    run.failure = run.failure or f"server died during the run ({proc.returncode})"
            print(f"   {scenario.name:<14} {describe(run)}", flush=True)
    return runs


def describe(run: Run) -> str:
    if not run.wrk:
        return f"FAILED: {run.failure}"
    text = f"{run.wrk.rps:,.0f} req/s, p99 {fmt_latency(run.wrk.p99)}, {fmt_cpu(run)} CPU µs/req"
    if run.wrk.errors:
        text += f", ERRORS: {run.wrk.error_detail()}"
    return text + (f" ({run.failure})" if run.failure else "")


# ---------------------------------------------------------------------------
# Reporting


def fmt_latency(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1e6:.0f} µs" if seconds < 1e-3 else f"{seconds * 1e3:.2f} ms"


def fmt_cpu(run: Run) -> str:
    value = run.cpu_us_per_request
    return "—" if value is None else f"{value:.1f}"


def ratio(run: Run, base: Run | None) -> str:
    if not run.wrk or not base or not base.wrk or not base.wrk.rps:
        return "—"
    return f"{run.wrk.rps / base.wrk.rps:.2f}×"


HEADER = ["scenario", "server", "req/s", f"vs {BASELINE}", "p50", "p99", "CPU µs/req", "CPU %", "errors"]


def table_rows(runs: list[Run], scenarios: list[Scenario]) -> list[list[str]]:
    rows = []
    for scenario in scenarios:
        mine = [run for run in runs if run.scenario is scenario]
        base = next((run for run in mine if run.server.name == BASELINE), None)
        for run in mine:
            if not run.wrk:
                rows.append([scenario.name, run.server.name, "FAILED", *["—"] * 5, run.failure])
                continue
            errors = str(run.wrk.errors)
            if run.wrk.errors:
                errors = f"⚠ {errors} ({run.wrk.error_detail()})"
            if run.failure:
                errors += f" ⚠ {run.failure}"
            rows.append(
                [
                    scenario.name,
                    run.server.name,
                    f"{run.wrk.rps:,.0f}",
                    ratio(run, base),
                    fmt_latency(run.wrk.p50),
                    fmt_latency(run.wrk.p99),
                    fmt_cpu(run),
                    f"{100 * run.cpu / run.wrk.seconds:.0f}%",
                    errors,
                ]
            )
    return rows


def versus_reference(runs: list[Run], scenarios: list[Scenario]) -> list[str]:
    """'mpmd vs uvicorn' lines: the targets are stated against REFERENCE."""
    lines = []
    for scenario in scenarios:
        mine = [run for run in runs if run.scenario is scenario]
        ref = next((run for run in mine if run.server.name == REFERENCE), None)
        for run in mine:
            if not run.server.name.startswith(BASELINE) or not ref or not ref.wrk or not run.wrk:
                continue
            value = run.wrk.rps / ref.wrk.rps
            line = f"{run.server.name} vs {REFERENCE}, {scenario.name}: {value:.2f}×"
            if run.server.name == BASELINE and scenario.target_vs_reference is not None:
                target = scenario.target_vs_reference
                verdict = "met" if value >= target else "NOT met"
                line += f"  (target ≥ {target:.1f}×: {verdict})"
            if run.wrk.errors or ref.wrk.errors:
                line += "  ⚠ a run had errors"
            lines.append(line)
    return lines


def text_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    right = {2, 3, 4, 5, 6, 7}  # numeric columns

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    align = ["---" if i < 2 or i == 8 else "---:" for i in range(len(header))]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in [header, align, *rows])


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
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),  # noqa: UP017
        "machine": f"{os.cpu_count()} CPUs, {cpu}; {platform.system()} {platform.release()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "wrk": wrk.split(" Copyright")[0].strip() or "?",
        "mpmd commit": commit or "none yet",
        "load average before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def report(
    runs: list[Run],
    scenarios: list[Scenario],
    servers: list[Server],
    skipped: dict[str, str],
    info: dict[str, str],
    duration: int,
) -> tuple[str, str]:
    """The report as (plain text for the terminal, Markdown for the file)."""
    rows = table_rows(runs, scenarios)
    versus = versus_reference(runs, scenarios) or [f"(needs both {BASELINE} and {REFERENCE})"]
    failed = [run for run in runs if not run.wrk or run.wrk.errors or run.failure]
    notes = [f"{name} did not run: {why}" for name, why in skipped.items()]
    if failed:
        notes.append(f"⚠ {len(failed)} run(s) had errors or failed: do not trust their numbers.")

    text = "\n".join(
        [
            "",
            text_table(HEADER, rows),
            "",
            *versus,
            *([""] + notes if notes else []),
        ]
    )
    md = [
        "# mpmd benchmark",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        f"- each run: {duration} s of wrk after a discarded warm-up; one server at a time",
        "",
        "Numbers compare only within this run on this machine.",
        "",
        "## Results",
        "",
        markdown_table(HEADER, rows),
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
            f"- `{s.name}`: `wrk {' '.join(s.wrk_args)} -d{duration}s URL` — {s.description}"
            for s in scenarios
        ],
    ]
    if notes:
        md += ["", "## Notes", "", *[f"- {note}" for note in notes]]
    return text, "\n".join(md) + "\n"


def pick[T: (Server, Scenario)](table: list[T], names: str | None, what: str) -> list[T]:
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
    parser.add_argument("--only", metavar="NAME[,NAME]", help="servers to run (default: all)")
    parser.add_argument("--scenario", metavar="NAME[,NAME]", help="scenarios (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown report path")
    parser.add_argument("--list", action="store_true", help="list servers and scenarios, and exit")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0:
        parser.error("--duration must be ≥ 1 and --warmup ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        for server in SERVERS:
            print(f"server    {server.name:<14} {server.description}")
        for scenario in SCENARIOS:
            print(f"scenario  {scenario.name:<14} wrk {' '.join(scenario.wrk_args)}")
        return 0
    servers = pick(SERVERS, args.only, "server")
    scenarios = pick(SCENARIOS, args.scenario, "scenario")
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not on PATH: run bench/run, or apt-get install -y wrk")

    # A SIGTERM unwinds like Ctrl-C does, so every server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    info = machine()
    runs: list[Run] = []
    skipped: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mpmd-bench-") as tmp:
        for server in servers:
            try:
                runs += bench_server(server, scenarios, Path(tmp), args.duration, args.warmup)
            except ServerFailed as exc:
                first, _, rest = str(exc).partition("\n")
                skipped[server.name] = first
                print(f"== {server.name}: SKIPPED, {first}\n{rest}", flush=True)

    text, markdown = report(runs, scenarios, servers, skipped, info, args.duration)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    print(f"\nwritten to {args.output}")
    return 0 if runs and not skipped else 1


if __name__ == "__main__":
    sys.exit(main())
