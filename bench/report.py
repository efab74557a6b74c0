"""What a benchmark measured (Run, Result, SuiteRun) and the report made of it:
the tables, the ratios and their targets, the overheads, the notes; as plain
text for the terminal and as Markdown for bench/results/latest.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import statistics
import subprocess
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from costs import Costs
from harness import WrkResult
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
    def trouble(self) -> str:
        """Errors and failures of every round, or ''."""
        parts = [run.wrk.error_detail() for run in self.runs if run.wrk and run.wrk.errors]
        parts += [one_line(run.failure) for run in self.runs if run.failure]
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


TEXT_COLUMNS = {"scenario", "server", "errors"}  # the others are numbers: right-aligned


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
            if subject.trouble or against.trouble:
                line += "  ⚠ a run had errors"
            lines.append(line)
    return lines


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
        text_table(head, rows),
        "",
        *versus,
        *(["", *overheads] if overheads else []),
        *(["", *notes] if notes else []),
    ]
    md = [
        f"## {title.replace(suite.name, f'`{suite.name}`', 1)}",
        "",
        markdown_table(head, rows),
        "",
        "### Ratios (req/s)",
        "",
        *[f"- {line}" for line in versus],
    ]
    if overheads:
        md += ["", "### Overheads (server CPU per request)", "", *[f"- {x}" for x in overheads]]
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
    ]
    if notes:
        md += ["", "### Notes", "", *[f"- {note}" for note in notes]]
    return text, md


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
