"""Benchmark mpmd against its peers with wrk: see bench/README.md.

servers.py holds the tables (SERVERS, SCENARIOS, and the SUITES that pair
them); harness.py starts and stops one server, runs wrk, holds idle
connections, plays slowloris and reads a process tree's CPU and memory;
costs.py times the scoreboard and the access log in-process; report.py holds
what was measured and makes the report. Here: suite by suite, every server of
the suite is started, then round after round each scenario loads each server
in turn (a discarded warm-up run, then a measured one, during which the CPU
time of the server's whole process tree is read to give CPU µs per request),
then -- in suites that have it -- the idle-connections run on each server in
turn; after the rounds, the slowloris run on each server once; then they are
stopped; then the in-process timings and the report.
"""

from __future__ import annotations

import argparse
import os
import resource
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
from harness import (
    HUNG_WRK_GRACE,
    IdleConnections,
    ServerFailed,
    SlowlorisResult,
    cpu_split,
    run_wrk,
    running,
    slowloris,
    tree_cpu,
    tree_pss,
)
from report import (
    IdleResult,
    IdleRound,
    Result,
    Run,
    SuiteRun,
    describe,
    describe_idle,
    describe_slowloris,
    machine,
    report,
)
from servers import BENCH_DIR, SCENARIOS, SERVERS, SUITES, IdleRun, Scenario, Server, SlowlorisRun

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


def measure(
    live: Live,
    scenario: Scenario,
    duration: int,
    warmup: int,
    *,
    pss: bool = False,
    grace: float = 60,
) -> Run:
    run = Run()
    if live.proc.poll() is not None:
        run.failure = f"server had exited with status {live.proc.returncode}"
        return run
    try:
        if warmup:
            run_wrk(scenario.wrk_args, live.url, warmup, grace)
        before = tree_cpu(live.proc.pid)
        run.wrk = run_wrk(scenario.wrk_args, live.url, duration, grace)
        after = tree_cpu(live.proc.pid)
        run.cpu = after.seconds - before.seconds
        run.processes = len(after.processes)
        run.started = len(after.processes - before.processes)
        run.ended = len(before.processes - after.processes)
        run.split = cpu_split(before, after)
        if pss:
            run.pss = tree_pss(live.proc.pid)
    except subprocess.TimeoutExpired:
        run.hung = True
        run.failure = (
            f"wrk had not finished {grace:g} s after its {duration} s: killed "
            "(its connections were never accepted)"
        )
    except RuntimeError as exc:
        run.failure = str(exc)
    if live.proc.poll() is not None:
        run.failure = run.failure or f"server died during the run ({live.proc.returncode})"
    return run


def measure_idle(
    live: Live, idle: IdleRun, busy: Scenario, duration: int, warmup: int
) -> IdleRound:
    """`busy` alone, then again while `idle.connections` idle keep-alive
    connections are held open; they are closed before this returns."""
    alone = measure(live, busy, duration, warmup)
    round_ = IdleRound(alone=alone, loaded=Run())
    if live.proc.poll() is not None:
        round_.loaded.failure = f"server died ({live.proc.returncode})"
        return round_
    try:
        with IdleConnections(
            live.port,
            live.server.path,
            idle.connections,
            open_seconds=idle.open_seconds,
            answer_wait=idle.answer_wait,
            in_flight=idle.in_flight,
        ) as pool:
            round_.hold = pool.hold
            # no warm-up: the server is warm from the run alone
            round_.loaded = measure(live, busy, duration, 0, grace=HUNG_WRK_GRACE)
            pool.count_open()
    except OSError as exc:
        round_.failure = f"could not hold the idle connections: {exc}"
    return round_


def bench(plan: SuiteRun, live: list[Live], args: argparse.Namespace) -> None:
    """Round after round, each scenario on each server in turn, then the
    idle-connections run on each server in turn, so that drift in the
    machine's speed touches every server alike. Then slowloris, once each."""
    suite, scenarios, repeat = plan.suite, plan.scenarios, args.repeat
    results = {(sc.name, lv.server.name): Result(sc, lv.server) for sc in scenarios for lv in live}
    idle = suite.idle if plan.run_idle else None
    busy = next((s for s in SCENARIOS if idle and s.name == idle.busy), None)
    idle_results = {lv.server.name: IdleResult(lv.server) for lv in live} if idle else {}
    memory_after = suite.memory.after if suite.memory else None
    for round_ in range(1, repeat + 1):
        for scenario in scenarios:
            for server in live:
                run = measure(
                    server, scenario, args.duration, args.warmup, pss=scenario.name == memory_after
                )
                results[scenario.name, server.server.name].runs.append(run)
                where = f"[{round_}/{repeat}] {scenario.name:<14} {server.server.name:<17}"
                print(f"   {where} {describe(run)}", flush=True)
        if idle and busy:
            for server in live:
                one = measure_idle(server, idle, busy, args.duration, args.warmup)
                idle_results[server.server.name].rounds.append(one)
                where = f"[{round_}/{repeat}] {idle.name:<14} {server.server.name:<17}"
                print(f"   {where} {describe_idle(one)}", flush=True)
    plan.results = list(results.values())
    plan.idle = list(idle_results.values())
    if suite.slowloris and plan.run_slowloris:
        for server in live:
            plan.slowloris[server.server.name] = outcome = measure_slowloris(
                server, suite.slowloris, args.slowloris_seconds
            )
            where = f"[once] {suite.slowloris.name:<14} {server.server.name:<17}"
            print(f"   {where} {describe_slowloris(outcome)}", flush=True)


def measure_slowloris(live: Live, run: SlowlorisRun, seconds: float) -> SlowlorisResult | str:
    if live.proc.poll() is not None:
        return f"server had exited with status {live.proc.returncode}"
    try:
        result = slowloris(
            live.port,
            live.server.path,
            clients=run.clients,
            line_every=run.line_every,
            probe_every=run.probe_every,
            seconds=seconds,
            probe_timeout=run.probe_timeout,
            settle=run.settle,
        )
    except OSError as exc:
        return f"could not run: {exc}"
    if live.proc.poll() is not None:
        return f"server died during the run ({live.proc.returncode})"
    return result


def run_suite(plan: SuiteRun, root: Path, args: argparse.Namespace) -> None:
    """Start the suite's servers, measure them, stop them."""
    print(f"\n## suite {plan.suite.name}: {plan.suite.description}", flush=True)
    workdir = root / plan.suite.name
    workdir.mkdir()
    with ExitStack() as stack:
        live, plan.skipped = start_all(plan.servers, workdir, stack)
        bench(plan, live, args)


def raise_file_limit() -> None:
    """Lift the soft limit on open files to the hard one (at most 65,536): the
    idle-connections run holds 1,000 sockets here, and the servers, which
    inherit the limit, as many."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


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
    picked = wanted(
        args.scenario, [n for s in suites for n in (*s.scenarios, *s.extra_runs)], "scenario"
    )
    plans = []
    for suite in suites:
        plan = SuiteRun(
            suite,
            [servers[n] for n in suite.servers if only is None or n in only],
            [scenarios[n] for n in suite.scenarios if picked is None or n in picked],
            run_idle=bool(suite.idle and (picked is None or suite.idle.name in picked)),
            run_slowloris=bool(
                suite.slowloris and (picked is None or suite.slowloris.name in picked)
            ),
        )
        if plan.servers and (plan.scenarios or plan.run_idle or plan.run_slowloris):
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
        if suite.idle:
            idle = suite.idle
            print(
                f"  scenario  {idle.name:<18} {idle.busy} alone and with {idle.connections:,} "
                "idle keep-alive connections held open"
            )
        if suite.slowloris:
            slow = suite.slowloris
            print(
                f"  scenario  {slow.name:<18} {slow.clients} clients trickling a header line "
                f"every {slow.line_every:g} s; a request every {slow.probe_every:g} s "
                f"for {slow.seconds:g} s (--slowloris-seconds)"
            )
        if suite.memory:
            print(
                f"  memory    whole-tree PSS after each {suite.memory.after} run, "
                f"against {suite.memory.against}"
            )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument(
        "--suite",
        choices=[*(s.name for s in SUITES), "all"],
        default="all",
        help="x: mpmd -X against one-process peers; prefork: mpmd's prefork MPM against "
        "two-process peers and Apache's prefork; threaded: mpmd's worker, event and winnt "
        "against threaded and async peers and Apache's worker and event; all: every suite, "
        "one after the other (all)",
    )
    parser.add_argument("--duration", type=int, default=5, help="seconds per measured run (5)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of discarded warm-up (1)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="interleaved rounds; the median is shown (3)"
    )
    parser.add_argument(
        "--slowloris-seconds",
        type=float,
        default=next((s.slowloris.seconds for s in SUITES if s.slowloris), 20.0),
        help="seconds of requests during the slowloris run (%(default)g)",
    )
    parser.add_argument("--only", metavar="NAME[,NAME]", help="servers to run (default: all)")
    parser.add_argument(
        "--scenario",
        metavar="NAME[,NAME]",
        help="scenarios, and the runs beyond wrk: idle-1000, slowloris (default: all)",
    )
    parser.add_argument("--output", type=Path, default=RESULTS_FILE, help="Markdown report path")
    parser.add_argument("--list", action="store_true", help="list suites, servers and scenarios")
    args = parser.parse_args(argv)
    if args.duration < 1 or args.warmup < 0 or args.repeat < 1 or args.slowloris_seconds <= 0:
        parser.error("--duration and --repeat must be ≥ 1, --warmup ≥ 0, --slowloris-seconds > 0")
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
    raise_file_limit()
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

    info["load average after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    text, markdown = report(plans, info, args)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(markdown)
    print(f"\nwritten to {args.output}")
    # The idle-connections and slowloris runs measure what a server withstands:
    # a server that fails them fails them in the report, not the benchmark. It is
    # unclean only if the run itself could not be made (or the server died).
    clean = all(
        (plan.results or plan.idle or plan.slowloris)
        and not plan.skipped
        and all(result.median and not result.trouble for result in plan.results)
        and all(idle.median and not idle.trouble for idle in plan.idle)
        and all(not isinstance(outcome, str) for outcome in plan.slowloris.values())
        for plan in plans
    )
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
