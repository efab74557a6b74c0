"""What a benchmark measured (Run, Result, IdleRound, IdleResult, SuiteRun) and
the report made of it: the tables, the ratios and their targets, the
overheads, the idle-connections, slowloris and memory runs, the notes; as
plain text for the terminal and as Markdown for bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
import sys
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from costs import Costs
from harness import HUNG_WRK_GRACE, IdleHold, SlowlorisResult, WrkResult
from servers import REPO, Scenario, Server, Suite

# ---------------------------------------------------------------------------
# What was measured


@dataclass
class Run:
    """One measured wrk run of one server in one scenario."""

    wrk: WrkResult | None = None
    cpu: float = 0.0  # CPU seconds of the server's process tree during the measured run
    processes: int = 0  # live processes in the tree at the end of the run
    started: int = 0  # of those, how many were not there at its start
    ended: int = 0  # processes there at its start and gone at its end
    pss: int | None = None  # bytes, the tree's PSS just after the run (suite.memory.after)
    hung: bool = False  # wrk never finished (killed): no connection of its got through
    split: list[float] = field(default_factory=list)  # CPU shares of the processes, largest first

    @property
    def churn(self) -> str:
        """'+6 -2': processes started and ended during the run, or ''."""
        return " ".join(f"{sign}{n}" for sign, n in (("+", self.started), ("-", self.ended)) if n)

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
    def pss(self) -> float | None:
        """The median over the rounds of the tree's PSS after the run, bytes."""
        values = [run.pss for run in self.runs if run.pss is not None]
        return statistics.median(values) if values else None

    @property
    def trouble(self) -> str:
        """Errors and failures of every round, or ''."""
        parts = [run.wrk.error_detail() for run in self.runs if run.wrk and run.wrk.errors]
        parts += [one_line(run.failure) for run in self.runs if run.failure]
        return "; ".join(parts)


@dataclass
class IdleRound:
    """One round of the idle-connections run on one server: the busy scenario
    alone, then again while the idle connections are held."""

    alone: Run
    loaded: Run
    hold: IdleHold | None = None
    failure: str = ""  # the idle connections could not be opened at all

    @property
    def kept(self) -> float | None:
        """req/s with the idle connections ÷ req/s without (0 when wrk hung)."""
        if not self.alone.wrk or not self.alone.wrk.rps:
            return None
        if self.loaded.hung:
            return 0.0
        return self.loaded.wrk.rps / self.alone.wrk.rps if self.loaded.wrk else None


@dataclass
class IdleResult:
    server: Server
    rounds: list[IdleRound] = field(default_factory=list)

    @property
    def median(self) -> IdleRound | None:
        rated = sorted(
            ((r.kept, i) for i, r in enumerate(self.rounds) if r.kept is not None),
            key=lambda x: x[0],
        )
        return self.rounds[rated[(len(rated) - 1) // 2][1]] if rated else None

    @property
    def kept_range(self) -> tuple[float, float] | None:
        kept = [r.kept for r in self.rounds if r.kept is not None]
        return (min(kept), max(kept)) if len(kept) > 1 else None

    @property
    def trouble(self) -> str:
        """What went wrong beyond what the run measures ('' if nothing): the
        server died, wrk failed alone, the connections could not be opened."""
        parts = [one_line(r.failure) for r in self.rounds if r.failure]
        parts += [one_line(r.alone.failure) for r in self.rounds if r.alone.failure]
        parts += [
            one_line(r.loaded.failure)
            for r in self.rounds
            if r.loaded.failure and not r.loaded.hung and "died" in r.loaded.failure
        ]
        return "; ".join(parts)


@dataclass
class SuiteRun:
    """What one suite ran and measured."""

    suite: Suite
    servers: list[Server]
    scenarios: list[Scenario]
    results: list[Result] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)  # server name -> why
    costs: Costs | None = None  # timed in-process after every suite ran
    run_idle: bool = False  # the suite's idle-connections run was picked
    run_slowloris: bool = False  # the suite's slowloris run was picked
    idle: list[IdleResult] = field(default_factory=list)
    slowloris: dict[str, SlowlorisResult | str] = field(default_factory=dict)  # or why not

    def find(self, scenario: Scenario, name: str) -> Result | None:
        return next(
            (r for r in self.results if r.scenario is scenario and r.server.name == name), None
        )


# ---------------------------------------------------------------------------
# Reporting


def describe(run: Run) -> str:
    if not run.wrk:
        return f"FAILED: {run.failure}"
    text = f"{run.wrk.rps:>9,.0f} req/s, p99 {fmt_latency(run.wrk.p99)}, {fmt_cpu(run)} CPU µs/req"
    if run.wrk.errors:
        text += f", ERRORS: {run.wrk.error_detail()}"
    return text + (f" ({run.failure})" if run.failure else "")


def describe_idle(round_: IdleRound) -> str:
    hold = round_.hold
    if round_.failure:
        return f"FAILED: {round_.failure}"
    alone = f"{round_.alone.wrk.rps:,.0f}" if round_.alone.wrk else "FAILED"
    if round_.loaded.hung:
        loaded = "0 (wrk hung: not accepted)"
    elif round_.loaded.wrk:
        loaded = f"{round_.loaded.wrk.rps:,.0f}"
        if round_.loaded.wrk.errors:
            loaded += f" (errors: {round_.loaded.wrk.error_detail()})"
    else:
        loaded = f"FAILED: {round_.loaded.failure}"
    kept = round_.kept
    text = f"alone {alone} req/s, with the idle ones {loaded}"
    if kept is not None:
        text += f", kept {100 * kept:.0f}%"
    if hold:
        text += (
            f"; idle: {hold.answered}/{hold.wanted} answered in {hold.seconds:.1f} s, "
            f"{hold.still_open} open after"
        )
    return text


def describe_slowloris(outcome: SlowlorisResult | str) -> str:
    if isinstance(outcome, str):
        return f"FAILED: {outcome}"
    text = f"answered {outcome.answered}/{outcome.sent}, max {fmt_latency(outcome.max_latency)}"
    if outcome.failures:
        text += " (" + ", ".join(f"{why} {n}" for why, n in outcome.failures.items()) + ")"
    return text + f"; slow clients closed by the server: {outcome.slow_reconnects}"


def fmt_mib(size: float | None) -> str:
    return "—" if size is None else f"{size / 2**20:.1f} MiB"


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


def ratio_text(result: Result, base: Result | None) -> str:
    if result.rps is None or base is None or not base.rps:
        return "—"
    return f"{result.rps / base.rps:.2f}x"


TEXT_COLUMNS = {"scenario", "server", "errors", "failed"}  # the others: numbers, right-aligned


def header(suite: Suite, repeat: int) -> list[str]:
    spread = ["±"] if repeat > 1 else []
    return [
        *("scenario", "server", "req/s", *spread, f"vs {suite.baseline}"),
        *("p50", "p99", "CPU µs/req", "CPU %", "procs", "errors"),
    ]


def table_rows(plan: SuiteRun, repeat: int) -> list[list[str]]:
    rows = []
    for scenario in plan.scenarios:
        base = plan.find(scenario, plan.suite.baseline)
        for result in (r for r in plan.results if r.scenario is scenario):
            spread = [] if repeat == 1 else ["—"]
            run = result.median
            name = [scenario.name, result.server.name]
            if not run or not run.wrk:
                rows.append([*name, "FAILED", *spread, *(["—"] * 6), result.trouble])
                continue
            if result.spread is not None:
                spread = [f"{100 * result.spread:.0f}%"]
            errors = str(result.errors)
            if result.trouble:
                errors = f"⚠ {errors} ({result.trouble})"
            procs = str(run.processes) + (f" ({run.churn})" if run.churn else "")
            rows.append(
                [
                    *name,
                    f"{run.wrk.rps:,.0f}",
                    *spread,
                    ratio_text(result, base),
                    fmt_latency(run.wrk.p50),
                    fmt_latency(run.wrk.p99),
                    fmt_cpu(run),
                    f"{100 * run.cpu / run.wrk.seconds:.0f}%",
                    procs,
                    errors,
                ]
            )
    return rows


def versus_lines(plan: SuiteRun) -> list[str]:
    """The suite's stated ratios ('mpmd-prefork vs uvicorn-2, c16-close: 1.05x'),
    with their targets; a target that could not be measured says so."""
    lines = []
    for versus in plan.suite.versus:
        for scenario in plan.scenarios:
            subject = plan.find(scenario, versus.subject)
            against = plan.find(scenario, versus.against)
            target = versus.targets.get(scenario.name)
            line = f"{versus.subject} vs {versus.against}, {scenario.name}: "
            if not subject or not against or not subject.rps or not against.rps:
                if target is not None:
                    lines.append(line + f"not measured (target ≥ {target:.1f}x)")
                continue
            value = subject.rps / against.rps
            line += f"{value:.2f}x"
            if target is not None:
                line += f"  (target ≥ {target:.1f}x: {'met' if value >= target else 'NOT met'})"
            paired = round_ratios(subject, against)
            if len(paired) > 1:
                line += (
                    f"; round by round {statistics.median(paired):.2f}x"
                    f" ({min(paired):.2f}-{max(paired):.2f}x)"
                )
            if subject.trouble or against.trouble:
                line += "  ⚠ a run had errors"
            lines.append(line)
    return lines


def round_ratios(subject: Result, against: Result) -> list[float]:
    """``subject``'s req/s ÷ ``against``'s in each round both measured: the two run
    minutes apart in one round, so a slow spell of the machine that spans a round
    touches both, where the ratio of medians may take them from different rounds."""
    return [
        mine.wrk.rps / theirs.wrk.rps
        for mine, theirs in zip(subject.runs, against.runs, strict=False)
        if mine.wrk and theirs.wrk and mine.wrk.rps and theirs.wrk.rps
    ]


def server_names(plan: SuiteRun) -> list[str]:
    """The servers that ran, in the suite's order."""
    ran = {r.server.name for r in plan.results} | {r.server.name for r in plan.idle}
    ran |= set(plan.slowloris)
    return [s.name for s in plan.servers if s.name in ran]


def ratio_table(plan: SuiteRun) -> tuple[list[str], list[list[str]]] | None:
    """Server x scenario: req/s ÷ the baseline's, in the same scenario (and, with
    the idle run, the busy scenario under the idle connections ÷ the baseline's
    under them); then the memory and its ratio to the memory's reference."""
    suite = plan.suite
    if not suite.ratio_table:
        return None
    idle = suite.idle if plan.idle else None
    memory = (
        suite.memory
        if suite.memory and any(s.name == suite.memory.after for s in plan.scenarios)
        else None
    )
    head = ["server", *(s.name for s in plan.scenarios)]
    if idle:
        head.append(f"{idle.busy} + {idle.connections:,} idle")
    if memory:
        head += [f"PSS after {memory.after}", f"PSS vs {memory.against}"]
    if len(head) == 1:
        return None
    idle_by_name = {r.server.name: r for r in plan.idle}

    def idle_rps(name: str) -> float | None:
        result = idle_by_name.get(name)
        round_ = result.median if result else None
        if not round_:
            return None
        if round_.loaded.hung:
            return 0.0
        return round_.loaded.wrk.rps if round_.loaded.wrk else None

    reference = None
    if memory:
        ref = plan.find(next(s for s in plan.scenarios if s.name == memory.after), memory.against)
        reference = ref.pss if ref else None
    rows = []
    for name in server_names(plan):
        row = [name]
        for scenario in plan.scenarios:
            result = plan.find(scenario, name)
            cell = ratio_text(result, plan.find(scenario, suite.baseline)) if result else "—"
            if result and result.trouble and cell != "—":
                cell += " ⚠"
            row.append(cell)
        if idle:
            mine, base = idle_rps(name), idle_rps(suite.baseline)
            row.append("—" if mine is None or not base else f"{mine / base:.2f}x")
        if memory:
            result = plan.find(next(s for s in plan.scenarios if s.name == memory.after), name)
            pss = result.pss if result else None
            row.append(fmt_mib(pss))
            row.append("—" if pss is None or not reference else f"{pss / reference:.2f}x")
        rows.append(row)
    return head, rows


def split_table(plan: SuiteRun) -> tuple[list[str], list[list[str]]] | None:
    """Server x scenario: how the tree's CPU divided among its processes in the
    median run, largest share first ('51/48/1' %): is the load spread over the
    children, or does one do the work?"""
    if not plan.suite.cpu_split or not plan.scenarios or not plan.results:
        return None
    head = ["server", *(s.name for s in plan.scenarios)]
    rows = []
    for name in server_names(plan):
        row = [name]
        for scenario in plan.scenarios:
            result = plan.find(scenario, name)
            run = result.median if result else None
            shares = run.split if run else []
            row.append("/".join(f"{100 * share:.0f}" for share in shares[:4]) or "—")
        rows.append(row)
    return head, rows


def idle_table(plan: SuiteRun) -> tuple[list[str], list[list[str]], list[str]] | None:
    """The idle-connections run: a row per server (its median round by share kept),
    and the target lines."""
    idle = plan.suite.idle
    if not idle or not plan.idle:
        return None
    head = [
        "server",
        f"{idle.busy} req/s",
        f"+ {idle.connections:,} idle",
        "kept",
        "kept, rounds",
        "idle answered",
        "idle open after",
        "errors",
    ]
    rows = []
    for result in plan.idle:
        round_ = result.median
        if not round_:
            rows.append([result.server.name, "FAILED", *(["—"] * 5), result.trouble or "—"])
            continue
        alone = round_.alone.wrk.rps if round_.alone.wrk else None
        if round_.loaded.hung:
            loaded = "0 (hung)"
        elif round_.loaded.wrk:
            loaded = f"{round_.loaded.wrk.rps:,.0f}"
        else:
            loaded = "FAILED"
        spread = result.kept_range
        hold = round_.hold
        errors = []
        if round_.loaded.wrk and round_.loaded.wrk.errors:
            errors.append(round_.loaded.wrk.error_detail())
        if round_.loaded.hung:
            errors.append("wrk killed: never connected")
        if result.trouble:
            errors.append(f"⚠ {result.trouble}")
        rows.append(
            [
                result.server.name,
                "—" if alone is None else f"{alone:,.0f}",
                loaded,
                "—" if round_.kept is None else f"{100 * round_.kept:.0f}%",
                "—" if spread is None else f"{100 * spread[0]:.0f} … {100 * spread[1]:.0f}%",
                "—" if not hold else f"{hold.answered:,}/{hold.wanted:,} ({hold.seconds:.1f} s)",
                "—" if not hold or hold.still_open is None else f"{hold.still_open:,}",
                "; ".join(errors) or "0",
            ]
        )
    lines = []
    by_name = {r.server.name: r for r in plan.idle}
    for name, target in idle.targets.items():
        found = by_name.get(name)
        round_ = found.median if found else None
        if not round_ or round_.kept is None:
            lines.append(f"{name}, {idle.name}: not measured (target ≥ {100 * target:.0f}% kept)")
            continue
        met = "met" if round_.kept >= target else "NOT met"
        lines.append(
            f"{name}, {idle.name}: {100 * round_.kept:.0f}% of its {idle.busy} req/s kept "
            f"(target ≥ {100 * target:.0f}%: {met})"
        )
    return head, rows, lines


def slowloris_table(plan: SuiteRun) -> tuple[list[str], list[list[str]], list[str]] | None:
    slow = plan.suite.slowloris
    if not slow or not plan.slowloris:
        return None
    head = [
        "server",
        "answered",
        "max latency",
        "p50 latency",
        "failed",
        "slow closed",
        "slow open",
    ]
    rows = []
    for name in server_names(plan):
        outcome = plan.slowloris.get(name)
        if outcome is None:
            continue
        if isinstance(outcome, str):
            rows.append([name, "FAILED", "—", "—", f"⚠ {one_line(outcome)}", "—", "—"])
            continue
        mark = "" if outcome.answered == outcome.sent else " ✗"
        p50 = statistics.median(outcome.latencies) if outcome.latencies else None
        rows.append(
            [
                name,
                f"{outcome.answered}/{outcome.sent}{mark}",
                fmt_latency(outcome.max_latency),
                fmt_latency(p50),
                ", ".join(f"{why} {n}" for why, n in outcome.failures.items()) or "0",
                str(outcome.slow_reconnects),
                f"{outcome.slow_connected}/{outcome.clients}",
            ]
        )
    lines = []
    for name in slow.must_answer_all:
        outcome = plan.slowloris.get(name)
        if outcome is None or isinstance(outcome, str):
            lines.append(f"{name}, {slow.name}: not measured (target: every request answered)")
            continue
        met = "met" if outcome.sent and outcome.answered == outcome.sent else "NOT met"
        lines.append(
            f"{name}, {slow.name}: {outcome.answered}/{outcome.sent} answered, max latency "
            f"{fmt_latency(outcome.max_latency)} (target: every request answered: {met})"
        )
    return head, rows, lines


def log_delta(plan: SuiteRun, scenario: Scenario) -> tuple[float, float, float] | None:
    """The access log's CPU µs/req: (median, lowest, highest) over the rounds of
    `logged` minus `plain` in the same round."""
    overhead = plan.suite.overhead
    if not overhead:
        return None
    plain = plan.find(scenario, overhead.plain)
    logged = plan.find(scenario, overhead.logged)
    if not plain or not logged:
        return None
    deltas = []
    for a, b in zip(plain.runs, logged.runs, strict=False):
        us_a, us_b = a.cpu_us_per_request, b.cpu_us_per_request
        if us_a is not None and us_b is not None and not a.failure and not b.failure:
            deltas.append(us_b - us_a)
    if not deltas:
        return None
    return statistics.median(deltas), min(deltas), max(deltas)


def is_close(scenario: Scenario) -> bool:
    return any(arg.lower() == "connection: close" for arg in scenario.wrk_args)


def overhead_lines(plan: SuiteRun) -> list[str]:
    """What the access log (and the scoreboard) cost: timed in-process, and the
    access log also by difference of the two servers' runs."""
    overhead = plan.suite.overhead
    if not overhead:
        return []
    lines = []
    costs = plan.costs or Costs(None, None, None, "the in-process timings were not run")
    board = overhead.scoreboard
    timed = []
    if board and costs.scoreboard_keepalive is not None and costs.scoreboard_close is not None:
        timed.append(
            f"scoreboard {costs.scoreboard_keepalive:.2f} µs per request on a kept-alive "
            f"connection, {costs.scoreboard_close:.2f} µs with a connection per request"
        )
    if costs.access_log is not None:
        timed.append(f"access log {costs.access_log:.2f} µs per combined line")
    if timed:
        lines.append("timed in-process (bench/costs.py): " + "; ".join(timed))
    if costs.problem:
        lines.append(f"⚠ {costs.problem}")
    for scenario in plan.scenarios:
        delta = log_delta(plan, scenario)
        if delta is not None:
            median, low, high = delta
            lines.append(
                f"access log by runs ({overhead.logged} - {overhead.plain}), {scenario.name}: "
                f"{median:+.1f} µs/req (rounds: {low:+.1f} … {high:+.1f})"
            )
        if not board:
            continue
        sb = costs.scoreboard_close if is_close(scenario) else costs.scoreboard_keepalive
        if sb is None:
            continue
        sums = []
        if costs.access_log is not None:
            total = sb + costs.access_log
            sums.append(
                (f"{sb:.2f} + {costs.access_log:.2f} = {total:.2f} µs/req in-process", total)
            )
        if delta is not None:
            total = sb + delta[0]
            sums.append(
                (f"{sb:.2f} {delta[0]:+.1f} = {total:.1f} µs/req with the runs' delta", total)
            )
        parts = []
        for text, total in sums:
            if overhead.budget_us is not None:
                text += f" ({'met' if total <= overhead.budget_us else 'NOT met'})"
            parts.append(text)
        if parts:
            budget = "" if overhead.budget_us is None else f" (budget ≤ {overhead.budget_us:g} µs)"
            lines.append(f"scoreboard + logging{budget}, {scenario.name}: " + "; ".join(parts))
    return lines


def suite_notes(plan: SuiteRun) -> list[str]:
    notes = [f"{name} did not run: {why}" for name, why in plan.skipped.items()]
    troubled = [result for result in plan.results if result.trouble]
    if troubled:
        notes.append(f"⚠ {len(troubled)} row(s) had errors or failed runs: do not trust them.")
    for result in plan.results:
        started = sum(run.started for run in result.runs)
        ended = sum(run.ended for run in result.runs)
        if started or ended:
            notes.append(
                f"{result.server.name}, {result.scenario.name}: {started} process(es) started "
                f"and {ended} ended during the measured runs (their CPU is counted)"
            )
    return notes


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


def compiled_text() -> str:
    """How the venv's mpmd is built: its request path compiled with mypyc, or plain Python."""
    found = subprocess.run(
        [sys.executable, "-c", "import mpmd; print(len(mpmd.compiled_modules()))"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    return f"{found} modules with mypyc" if found not in ("", "0") else "no (plain Python)"


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
        "mpmd compiled": compiled_text(),
        "load average before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def suite_report(plan: SuiteRun, args: argparse.Namespace) -> tuple[list[str], list[str]]:
    """One suite's part of the report: (plain text lines, Markdown lines)."""
    suite = plan.suite
    head = header(suite, args.repeat)
    rows = table_rows(plan, args.repeat)
    versus = versus_lines(plan) or ["(no pair of servers to compare ran)"]
    overheads = overhead_lines(plan)
    notes = suite_notes(plan)
    title = f"suite {suite.name}: {suite.description}"
    text = [
        "",
        f"== {title}",
        "",
        *([text_table(head, rows), ""] if rows else []),
        *versus,
        *(["", *overheads] if overheads else []),
    ]
    md = [f"## {title.replace(suite.name, f'`{suite.name}`', 1)}", ""]
    if rows:
        md += [markdown_table(head, rows), ""]
    md += ["### Ratios (req/s)", "", *[f"- {line}" for line in versus]]
    if overheads:
        md += ["", "### Overheads (server CPU per request)", "", *[f"- {x}" for x in overheads]]
    if ratios := ratio_table(plan):
        title_ = f"Ratio table: req/s ÷ {suite.baseline}'s in the same scenario"
        if suite.memory and len(ratios[0]) > 1 and ratios[0][-1].startswith("PSS vs"):
            title_ += f"; memory ÷ {suite.memory.against}'s"
        text += ["", f"-- {title_}", "", text_table(*ratios)]
        md += ["", f"### {title_}", "", markdown_table(*ratios)]
    if split := split_table(plan):
        title_ = "CPU per process: the median run's CPU time split among the server's processes, %"
        text += ["", f"-- {title_}", "", text_table(*split)]
        md += ["", f"### {title_}", "", markdown_table(*split)]
    if idle := idle_table(plan):
        spec = suite.idle
        assert spec is not None
        title_ = (
            f"Idle connections: {spec.busy} alone and with {spec.connections:,} idle "
            "keep-alive connections held open"
        )
        text += ["", f"-- {title_}", "", text_table(idle[0], idle[1]), "", *idle[2]]
        md += ["", f"### {title_}", "", markdown_table(idle[0], idle[1]), ""]
        md += [f"- {line}" for line in idle[2]]
    if slow := slowloris_table(plan):
        spec_ = suite.slowloris
        assert spec_ is not None
        title_ = (
            f"Slowloris: {spec_.clients} clients trickling request heads, a request every "
            f"{spec_.probe_every:g} s for {args.slowloris_seconds:g} s"
        )
        text += ["", f"-- {title_}", "", text_table(slow[0], slow[1]), "", *slow[2]]
        md += ["", f"### {title_}", "", markdown_table(slow[0], slow[1]), ""]
        md += [f"- {line}" for line in slow[2]]
    if notes:
        text += ["", *notes]
    md += [
        "",
        "### Servers",
        "",
        *[f"- `{server.name}`: {server.description}" for server in plan.servers],
        "",
        "### Scenarios",
        "",
        *[
            f"- `{s.name}`: `wrk {shlex.join(s.wrk_args)} -d{args.duration}s URL` — {s.description}"
            for s in plan.scenarios
        ],
        *extra_scenario_lines(plan, args),
    ]
    if notes:
        md += ["", "### Notes", "", *[f"- {note}" for note in notes]]
    return text, md


def extra_scenario_lines(plan: SuiteRun, args: argparse.Namespace) -> list[str]:
    """How the runs beyond wrk were made, for the Markdown's Scenarios list."""
    suite = plan.suite
    lines = []
    if suite.idle and plan.idle:
        idle = suite.idle
        lines.append(
            f"- `{idle.name}`: each round, `{idle.busy}` alone (after the warm-up), then "
            f"{idle.connections:,} keep-alive connections are opened ({idle.in_flight} at a "
            f"time, at most {idle.open_seconds:g} s; one unanswered after "
            f"{idle.answer_wait:g} s is kept open all the same), each sends one GET and reads "
            f"its answer, and they stay open, idle, while `{idle.busy}` runs again (no "
            "warm-up); then they are closed. **kept** = req/s with them ÷ req/s without, the "
            "median round; a wrk that never ends (its connections were never accepted: wrk "
            f"4.1 then hangs) is killed {HUNG_WRK_GRACE:g} s after its duration and counts as 0 req/s."
        )
    if suite.slowloris and plan.slowloris:
        slow = suite.slowloris
        lines.append(
            f"- `{slow.name}`: once per server, after the rounds. {slow.clients} connections "
            f"each send `GET {{path}} HTTP/1.1` and `Host`, then one more header line every "
            f"{slow.line_every:g} s, never the blank line that ends the head (one the server "
            "closes is reopened 1 s later and starts anew: **slow closed**). After "
            f"{slow.settle:g} s, a new connection sends a whole GET (`Connection: close`) every "
            f"{slow.probe_every:g} s for {args.slowloris_seconds:g} s, each on its own thread, "
            f"waiting at most {slow.probe_timeout:g} s for its answer: **answered** is how "
            "many got 200 with the body in time, **max latency** the slowest of those."
        )
    if suite.memory and any(s.name == suite.memory.after for s in plan.scenarios):
        lines.append(
            f"- memory: just after each measured `{suite.memory.after}` run, the PSS "
            "(psutil `memory_full_info().pss`, from /proc/PID/smaps_rollup) of every process "
            "of the server's tree, summed; the median over the rounds. Pages shared between "
            "the processes (a forked child's copy-on-write pages, libraries) are split among "
            "them, so the sum is what the whole server costs."
        )
    return lines


def report(
    plans: list[SuiteRun], info: dict[str, str], args: argparse.Namespace
) -> tuple[str, str]:
    """The report as (plain text for the terminal, Markdown for the file)."""
    rounds = (
        f"{args.repeat} interleaved rounds, the median round shown, ± = half its req/s range"
        if args.repeat > 1
        else "one round"
    )
    text: list[str] = []
    md = [
        "# mpmd benchmark",
        "",
        *[f"- {key}: {value}" for key, value in info.items()],
        f"- each run: {args.duration} s of wrk after a discarded {args.warmup} s warm-up; {rounds}",
        "- CPU µs/req: the server's whole process tree (see bench/README.md)",
        "",
        "Numbers compare only within this run on this machine.",
    ]
    for plan in plans:
        suite_text, suite_md = suite_report(plan, args)
        text += suite_text
        md += ["", *suite_md]
    return "\n".join(text), "\n".join(md) + "\n"
