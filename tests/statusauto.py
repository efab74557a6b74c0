"""A strict reader of ``/server-status?auto``, as httpd 2.4's mod_status writes it.

It accepts exactly httpd's format and says what is wrong otherwise: the
server's name alone on the first line, then ``Name: value`` lines, each name
httpd's, in httpd's order, each value of its own shape (an integer, APR's
``%g``, ``%.2f``, ``ap_ht_time``'s date, ``show_time``'s uptime, scoreboard
letters), the optional lines present exactly when httpd prints them (the
totals with ExtendedStatus, the rates when there is an uptime and there are
accesses, the Processes/Conns lines for an async MPM only), and numbers that
agree with each other (ServerUptimeSeconds and Uptime, ServerUptime's words).
The tests check the reference files of Apache 2.4.71 with it, so it is
httpd's format and not only ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

INT = re.compile(r"\d+")
APR_G = re.compile(r"-?(\d+\.?\d*|\.\d+)(e[+-]\d{1,3})?")
LOAD = re.compile(r"-?\d+\.\d\d")
TIME = re.compile(
    r"(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "
    r"\d\d-(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)-\d{4} \d\d:\d\d:\d\d \S+"
)
UPTIME = re.compile(r"(?: (\d+) days?)?(?: (\d+) hours?)?(?: (\d+) minutes?)?(?: (\d+) seconds?)?")
LETTERS = re.compile(r"[_SRWKDCLGI.]+")
WORDS = re.compile(r"\S.*")  # free text: version, MPM, build date

# (name, shape, when it is there): "always", "extended", or a condition checked below
HEAD = [
    ("ServerVersion", WORDS),
    ("ServerMPM", WORDS),
    ("Server Built", WORDS),
    ("CurrentTime", TIME),
    ("RestartTime", TIME),
    ("ParentServerConfigGeneration", INT),
    ("ParentServerMPMGeneration", INT),
    ("ServerUptimeSeconds", INT),
    ("ServerUptime", UPTIME),
    ("Load1", LOAD),
    ("Load5", LOAD),
    ("Load15", LOAD),
]
EXTENDED = [
    ("Total Accesses", INT),
    ("Total kBytes", INT),
    ("Total Duration", INT),
    ("CPUUser", APR_G),
    ("CPUSystem", APR_G),
    ("CPUChildrenUser", APR_G),
    ("CPUChildrenSystem", APR_G),
    ("CPULoad", APR_G),  # only when some CPU time was measured
    ("Uptime", INT),
    ("ReqPerSec", APR_G),  # these two only when Uptime > 0
    ("BytesPerSec", APR_G),
    ("BytesPerReq", APR_G),  # these two only when Total Accesses > 0
    ("DurationPerReq", APR_G),
]
WORKERS = [("BusyWorkers", INT), ("GracefulWorkers", INT), ("IdleWorkers", INT)]
ASYNC = [
    ("Processes", INT),
    ("Stopping", INT),
    ("ConnsTotal", INT),
    ("ConnsAsyncWaitIO", INT),
    ("ConnsAsyncWriting", INT),
    ("ConnsAsyncKeepAlive", INT),
    ("ConnsAsyncClosing", INT),
]
TAIL = [("Scoreboard", LETTERS)]
ORDER = [name for name, _ in HEAD + EXTENDED + WORKERS + ASYNC + TAIL]
SHAPES = dict(HEAD + EXTENDED + WORKERS + ASYNC + TAIL)


class AutoError(AssertionError):
    """The text is not mod_status's ?auto; the message says where."""


@dataclass
class AutoStatus:
    server_name: str
    fields: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return list(self.fields)

    def int(self, name: str) -> int:
        return int(self.fields[name])

    @property
    def extended(self) -> bool:
        return "Total Accesses" in self.fields

    @property
    def is_async(self) -> bool:
        return "Processes" in self.fields


def parse_auto(text: str) -> AutoStatus:
    """Read ``text`` strictly; raise AutoError at the first thing httpd would not write."""
    if not text.endswith("\n"):
        raise AutoError("?auto ends with a newline after the Scoreboard line")
    lines = text[:-1].split("\n")
    name = lines[0]
    if not name or ": " in name or name != name.strip():
        raise AutoError(f"line 1 must be the server's name alone, not {name!r}")
    status = AutoStatus(name)
    position = -1
    for number, line in enumerate(lines[1:], 2):
        key, colon, value = line.partition(":")
        if not colon:
            raise AutoError(f"line {number}: no 'Name: value' in {line!r}")
        if key not in SHAPES:
            raise AutoError(f"line {number}: {key!r} is not a field mod_status writes")
        if key in status.fields:
            raise AutoError(f"line {number}: {key} a second time")
        at = ORDER.index(key)
        if at < position:
            raise AutoError(f"line {number}: {key} after {ORDER[position]}, httpd writes it before")
        position = at
        if key == "ServerUptime":  # show_time: each part led by one space, or nothing
            shown = value
        elif not value.startswith(" ") or value.startswith("  "):
            raise AutoError(f"line {number}: one space must follow '{key}:'")
        else:
            shown = value[1:]
        if not SHAPES[key].fullmatch(shown):
            raise AutoError(f"line {number}: {key}: {shown!r} is not what httpd writes there")
        status.fields[key] = shown
    _check_presence(status)
    _check_agreement(status)
    return status


def _check_presence(s: AutoStatus) -> None:
    fields = s.fields
    for name, _ in HEAD + WORKERS + TAIL:
        if name not in fields:
            raise AutoError(f"{name} is missing")
    required = ["Total Accesses", "Total kBytes", "Total Duration", "CPUUser", "CPUSystem"]
    required += ["CPUChildrenUser", "CPUChildrenSystem", "Uptime"]
    present = [n for n in required if n in fields]
    if present and present != required:
        missing = sorted(set(required) - set(present))
        raise AutoError(f"ExtendedStatus lines incomplete: {missing} missing")
    if s.extended:
        has_rates = "ReqPerSec" in fields and "BytesPerSec" in fields
        if has_rates != (s.int("Uptime") > 0) or ("ReqPerSec" in fields) != has_rates:
            raise AutoError("ReqPerSec and BytesPerSec are there exactly when Uptime > 0")
        per_request = "BytesPerReq" in fields and "DurationPerReq" in fields
        if per_request != (s.int("Total Accesses") > 0) or ("BytesPerReq" in fields) != (
            "DurationPerReq" in fields
        ):
            raise AutoError("BytesPerReq and DurationPerReq are there exactly when accesses > 0")
    else:
        extra = [n for n, _ in EXTENDED if n in fields]
        if extra:
            raise AutoError(f"{extra} without the ExtendedStatus totals")
    async_present = [n for n, _ in ASYNC if n in fields]
    if async_present and len(async_present) != len(ASYNC):
        raise AutoError(f"the async MPM lines come all together, not only {async_present}")


def _check_agreement(s: AutoStatus) -> None:
    seconds = s.int("ServerUptimeSeconds")
    if s.extended and s.int("Uptime") != seconds:
        raise AutoError("Uptime and ServerUptimeSeconds differ")
    m = UPTIME.fullmatch(s.fields["ServerUptime"])
    assert m is not None
    days, hours, minutes, secs = (int(g) if g else 0 for g in m.groups())
    if (days * 86400 + hours * 3600 + minutes * 60 + secs) != seconds:
        raise AutoError(f"ServerUptime {s.fields['ServerUptime']!r} is not {seconds} seconds")
    if not all(int(g) > 0 for g in m.groups() if g) or not (hours < 24 and minutes < 60 > secs):
        raise AutoError("ServerUptime shows a zero part, or hours/minutes out of range")
    busy, idle = s.int("BusyWorkers"), s.int("IdleWorkers")
    if busy + idle > len(s.fields["Scoreboard"]):
        raise AutoError("more busy and idle workers than scoreboard slots")
    if s.int("GracefulWorkers") > busy:
        raise AutoError("graceful workers are counted among the busy ones")
