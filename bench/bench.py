"""Benchmark mpmd against its peers with wrk: see bench/README.md.

servers.py holds the tables (SERVERS, SCENARIOS, and the SUITES that pair
them); harness.py starts and stops one server and runs wrk; costs.py times the
scoreboard and the access log in-process; report.py holds what was measured
and makes the report. Here: suite by suite, every server of the suite is
started, then round after round each scenario loads each server in turn (a
discarded warm-up run, then a measured one, during which the CPU time of the
server's whole process tree is read to give CPU µs per request), then they are
stopped; then the in-process timings and the report.
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from costs import measure_costs
from harness import ServerFailed, run_wrk, running, tree_cpu
from report import Result, Run, SuiteRun, describe, machine, report
from servers import BENCH_DIR, SCENARIOS, SERVERS, SUITES, Scenario, Server

RESULTS_FILE = BENCH_DIR / "results" / "latest.md"


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
        return f"http://127.0.0.1:{self.port}{self.server.path}"


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
            run_wrk(scenario.wrk_args, live.url, warmup)
        before = tree_cpu(live.proc.pid)
        run.wrk = run_wrk(scenario.wrk_args, live.url, duration)
        after = tree_cpu(live.proc.pid)
        run.cpu = after.seconds - before.seconds
        run.processes = len(after.processes)
        run.started = len(after.processes - before.processes)
        run.ended = len(before.processes - after.processes)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        run.failure = str(exc)
    if live.proc.poll() is not None:
        run.failure = run.failure or f"server died during the run ({live.proc.returncode})"
    return run


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
                where = f"[{round_}/{repeat}] {scenario.name:<14} {server.server.name:<17}"
                print(f"   {where} {describe(run)}", flush=True)
    return list(results.values())


def run_suite(plan: SuiteRun, root: Path, args: argparse.Namespace) -> None:
    """Start the suite's servers, measure them, stop them."""
    print(f"\n## suite {plan.suite.name}: {plan.suite.description}", flush=True)
    workdir = root / plan.suite.name
    workdir.mkdir()
    with ExitStack() as stack:
        live, plan.skipped = start_all(plan.servers, workdir, stack)
        plan.results = bench(live, plan.scenarios, args.duration, args.warmup, args.repeat)


# ---------------------------------------------------------------------------
# Command line


def plan_suites(args: argparse.Namespace) -> list[SuiteRun]:
    """The suites to run, each with the servers and scenarios --only/--scenario keep."""
    suites = SUITES if args.suite == "all" else [s for s in SUITES if s.name == args.suite]
    servers = {s.name: s for s in SERVERS}
    scenarios = {s.name: s for s in SCENARIOS}

    def wanted(option: str | None, known: list[str], what: str) -> set[str] | None:
        if not option:
            return None
        names = {name.strip() for name in option.split(",") if name.strip()}
        if unknown := sorted(names - set(known)):
            raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
        return names

    only = wanted(args.only, [n for s in suites for n in s.servers], "server")
    picked = wanted(args.scenario, [n for s in suites for n in s.scenarios], "scenario")
    plans = []
    for suite in suites:
        plan = SuiteRun(
            suite,
            [servers[n] for n in suite.servers if only is None or n in only],
            [scenarios[n] for n in suite.scenarios if picked is None or n in picked],
        )
        if plan.servers and plan.scenarios:
            plans.append(plan)
    if not plans:
        raise SystemExit("nothing to run: no suite has both a server and a scenario picked")
    return plans


def list_tables() -> None:
    for suite in SUITES:
        print(f"suite {suite.name}: {suite.description}")
        for name in suite.servers:
            server = next(s for s in SERVERS if s.name == name)
            print(f"  server    {server.name:<18} {server.description}")
        for name in suite.scenarios:
            scenario = next(s for s in SCENARIOS if s.name == name)
            print(f"  scenario  {scenario.name:<18} wrk {shlex.join(scenario.wrk_args)}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--suite",
        choices=[*(s.name for s in SUITES), "all"],
        default="all",
        help="x: mpmd -X against one-process peers; prefork: mpmd's prefork MPM against "
        "two-process peers and Apache's prefork; all: both, one after the other (all)",
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run (5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of discarded warm-up (1)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds; the median is shown (3)"
    )
    parser.add_argument("--only", metavar="NAME[,NAME]", help="servers to run (default: all)")
    parser.add_argument("--scenario", metavar="NAME[,NAME]", help="scenarios (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown report path")
    parser.add_argument("--list", action="store_true", help="list suites, servers and scenarios")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.repeat < 1:
        parser.error("--duration and --repeat must be ≥ 1, --warmup ≥ 0")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        list_tables()
        return 0
    plans = plan_suites(args)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not on PATH: run bench/run, or apt-get install -y wrk")

    # A SIGTERM unwinds like Ctrl-C does, so every server is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    info = machine()
    try:
        with tempfile.TemporaryDirectory(prefix="mpmd-bench-") as tmp:
            for plan in plans:
                run_suite(plan, Path(tmp), args)
        if any(plan.suite.overhead for plan in plans):
            print("\n== timing the scoreboard and the access log in-process", flush=True)
            costs = measure_costs()
            for plan in plans:
                plan.costs = costs
    except KeyboardInterrupt:
        print("\ninterrupted: every server started has been stopped", file=sys.stderr)
        return 130

    text, markdown = report(plans, info, args)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    print(f"\nwritten to {args.output}")
    clean = all(
        plan.results
        and not plan.skipped
        and all(result.median and not result.trouble for result in plan.results)
        for plan in plans
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
