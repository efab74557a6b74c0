"""What the benchmark runs: the servers, the wrk scenarios, and the suites that
pair them (see bench/README.md). To add a peer or a load, add a row here.

A suite is a set of servers measured in the same scenarios and quoted against
each other: `x` (mpmd -X, one process, against one-process peers),
`prefork` (mpmd's prefork MPM against two-process peers and Apache httpd's own
prefork MPM) and `threaded` (mpmd's worker, event and winnt MPMs against
threaded and async peers and Apache httpd's worker and event MPMs; with the
idle-connections, slowloris and memory runs on top of the wrk scenarios).
"""

from __future__ import annotations

import grp
import os
import stat
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
APPS_DIR = BENCH_DIR / "apps"
BIN_DIR = Path(sys.executable).parent  # the venv bench.py runs in

EXPECTED_BODY = b"Hello, World!"  # what every server answers: the app's body, the static file
STATIC_PATH = "/hello.txt"  # the URL of the 13-byte file

APACHE = Path("/usr/sbin/apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")

# The prefork numbers mpmd and Apache both run with: more children than the
# 16 connections of the c16 scenarios, as prefork needs (one connection each).
# StartServers 40: 16 busy + MinSpareServers 20 idle, so the pool starts as
# large as the load keeps it. From 20, spare maintenance forked 1, 2, 4, 8, 16
# children a second through the measured runs (20 -> 51 in 5 s of c16), and
# each fork under load showed in the p99 (34 ms).
PREFORK_NUMBERS = [
    "StartServers 40",
    "MinSpareServers 20",
    "MaxSpareServers 40",
    "MaxRequestWorkers 64",
    "ServerLimit 64",
]
# The threaded suite's numbers, mpmd's and Apache's alike: exactly 2 children
# (StartServers = ServerLimit = 2), 32 threads each, so that worker -- whose
# threads each hold a connection -- has a thread for each of the 64
# connections of the c64 scenarios; MaxSpareThreads 64 = every thread of both
# children, so an idle server never stops a child, and no third child can
# start (MaxRequestWorkers 64 = ServerLimit x ThreadsPerChild).
THREADED_NUMBERS = [
    "StartServers 2",
    "ServerLimit 2",
    "ThreadLimit 32",
    "ThreadsPerChild 32",
    "MaxRequestWorkers 64",
    "MinSpareThreads 16",
    "MaxSpareThreads 64",
]
# event holds idle and half-read connections without a thread: a child takes
# up to ThreadsPerChild + idle threads x AsyncRequestWorkerFactor connections
# (32 + 31 x 64, about 2,000) before it stops accepting; the default 2 would
# not hold the idle-connections run's 1,000.
EVENT_NUMBERS = [*THREADED_NUMBERS, "AsyncRequestWorkerFactor 64"]
# winnt has one child and only ThreadsPerChild: 64 threads for 64 connections.
WINNT_NUMBERS = ["ThreadLimit 64", "ThreadsPerChild 64"]
MPM_NUMBERS = {
    "prefork": PREFORK_NUMBERS,
    "worker": THREADED_NUMBERS,
    "event": EVENT_NUMBERS,
    "winnt": WINNT_NUMBERS,
}
# Every server of the threaded suite keeps an idle keep-alive connection this
# long (where it has such a setting), so that the idle-connections run's 1,000
# connections stay open through it. (Suites x and prefork keep the defaults.)
KEEPALIVE_TIMEOUT = 60
# mpmd's and Apache's settings in the threaded suite: that KeepAliveTimeout, and
# mod_reqtimeout loaded with its defaults (a request head must arrive within
# 20 s, extended by 1 s per 500 bytes up to 40 s), as both servers' stock
# configs have it: the slowloris run meets the servers as shipped.
THREADED_SUITE: dict[str, Any] = {"keepalive_timeout": KEEPALIVE_TIMEOUT, "reqtimeout": True}

COMBINED = 'LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined'


class Unavailable(Exception):
    """The server cannot run on this machine; the message says why."""


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
    # Builds the command line; may write config files into launch.workdir, and
    # raises Unavailable when the server cannot run here.
    command: Callable[[Launch], list[str]]
    description: str
    env: dict[str, str] = field(default_factory=dict)
    path: str = "/"  # the URL loaded, and polled until it answers EXPECTED_BODY


def mpmd_command() -> list[str]:
    """The venv's `mpmd` script, or `python -m mpmd` when there is none."""
    script = BIN_DIR / "mpmd"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mpmd"]


MPMD_ENV = {"PYTHONPATH": str(REPO / "src")}  # the working tree's mpmd


def write_htdocs(workdir: Path) -> Path:
    """`workdir/htdocs/hello.txt`, the 13-byte file; returns the htdocs dir."""
    htdocs = workdir / "htdocs"
    htdocs.mkdir(exist_ok=True)
    (htdocs / STATIC_PATH.lstrip("/")).write_bytes(EXPECTED_BODY)
    return htdocs


def mpmd_conf(
    launch: Launch,
    *,
    mpm: str | None = None,
    access_log: bool = False,
    static: bool = False,
    keepalive_timeout: int | None = None,
    reqtimeout: bool = False,
) -> list[str]:
    """Write mpmd's config; the command line runs it with -X (`mpm` None), or
    with `mpm` (prefork, worker, event, winnt) and its MPM_NUMBERS.
    `reqtimeout` loads mod_reqtimeout with its defaults (header=20-40,MinRate=500
    body=20,MinRate=500), as mpmd's and Debian's stock configs do."""
    work = launch.workdir
    lines = [f"Listen 127.0.0.1:{launch.port}"]
    if mpm:
        lines.append(f"LoadModule mpm_{mpm}_module modules/mod_mpm_{mpm}.so")
    if reqtimeout:
        lines.append("LoadModule reqtimeout_module modules/mod_reqtimeout.so")
    if static:
        htdocs = write_htdocs(work)
        lines += [
            f"DocumentRoot {htdocs}",
            f"<Directory {htdocs}>",
            "Require all granted",
            "</Directory>",
        ]
    else:
        lines += [
            "LoadModule wsgi_module modules/mod_wsgi.so",
            f"WSGIPythonPath {APPS_DIR}",
            "WSGIApp / hello:application",
        ]
    lines += [f"ErrorLog {work / 'error_log'}", "LogLevel warn", "MaxKeepAliveRequests 0"]
    if keepalive_timeout is not None:
        lines.append(f"KeepAliveTimeout {keepalive_timeout}")
    if mpm:
        lines += [f"PidFile {work / 'mpmd.pid'}", *MPM_NUMBERS[mpm]]
    if access_log:
        lines += [COMBINED, f"CustomLog {work / 'access_log'} combined"]
    conf = work / "mpmd.conf"
    conf.write_text("\n".join(lines) + "\n")
    mode = ["-DFOREGROUND"] if mpm else ["-X"]
    return [*mpmd_command(), *mode, "-f", str(conf)]


def apache_conf(
    launch: Launch,
    mpm: str = "prefork",
    keepalive_timeout: int | None = None,
    reqtimeout: bool = False,
) -> list[str]:
    """Write a self-contained httpd.conf for Debian's apache2 (nothing from
    /etc/apache2, no system service) serving the 13-byte file with `mpm`
    (prefork, worker or event) and its MPM_NUMBERS; `reqtimeout` loads
    mod_reqtimeout with its defaults, as mpmd_conf's `reqtimeout`."""
    if not APACHE.exists():
        raise Unavailable(f"{APACHE} not found (Debian: apt-get install -y apache2)")
    work = launch.workdir
    htdocs = write_htdocs(work)
    lines = [
        f"ServerRoot {work}",
        f"DefaultRuntimeDir {work}",
        *(
            f"LoadModule {name}_module {APACHE_MODULES / f'mod_{name}.so'}"
            for name in (
                f"mpm_{mpm}",
                "authz_core",
                "mime",
                *(["reqtimeout"] if reqtimeout else []),
            )
        ),
        "ServerName 127.0.0.1",
        f"Listen 127.0.0.1:{launch.port}",
        f"PidFile {work / 'httpd.pid'}",
        f"ErrorLog {work / 'error_log'}",
        "LogLevel warn",
        "TypesConfig /etc/mime.types",
        f"DocumentRoot {htdocs}",
        "<Directory />",
        "Require all denied",
        "</Directory>",
        f"<Directory {htdocs}>",
        "Require all granted",
        "</Directory>",
        "KeepAlive On",
        "MaxKeepAliveRequests 0",
        *([] if keepalive_timeout is None else [f"KeepAliveTimeout {keepalive_timeout}"]),
        *MPM_NUMBERS[mpm],
    ]
    if os.geteuid() == 0:
        # Started as root, Apache's children serve as User: it must reach htdocs
        # (the bench's temp dirs are 0700).
        group = "nogroup"
        try:
            grp.getgrnam(group)
        except KeyError:
            group = "nobody"
        lines += ["User nobody", f"Group {group}"]
        (htdocs / STATIC_PATH.lstrip("/")).chmod(0o644)
        htdocs.chmod(0o755)
        temp_root = Path(tempfile.gettempdir())
        for path in htdocs.parents:  # the bench's own dirs, up to the temp dir
            if path == temp_root or not path.is_relative_to(temp_root):
                break
            path.chmod(path.stat().st_mode | stat.S_IXOTH)
    conf = work / "httpd.conf"
    conf.write_text("\n".join(lines) + "\n")
    return [str(APACHE), "-f", str(conf), "-DFOREGROUND"]


def gunicorn(workers: int) -> Callable[[Launch], list[str]]:
    return lambda launch: [
        str(BIN_DIR / "gunicorn"),
        *("-w", str(workers), "-k", "sync", "-b", f"127.0.0.1:{launch.port}"),
        *("--chdir", str(APPS_DIR), "hello:application"),
    ]


def gunicorn_gthread(workers: int, threads: int) -> Callable[[Launch], list[str]]:
    return lambda launch: [
        str(BIN_DIR / "gunicorn"),
        *("-w", str(workers), "-k", "gthread", "--threads", str(threads)),
        *("--keep-alive", str(KEEPALIVE_TIMEOUT), "-b", f"127.0.0.1:{launch.port}"),
        *("--chdir", str(APPS_DIR), "hello:application"),
    ]


# waitress admits at most --connection-limit connections (100 by default) and
# then stops accepting: 2,000 lets it hold the idle-connections run's 1,000, as
# AsyncRequestWorkerFactor 64 lets mpmd's and Apache's event MPMs.
WAITRESS_CONNECTION_LIMIT = 2000


def waitress(threads: int) -> Callable[[Launch], list[str]]:
    return lambda launch: [
        str(BIN_DIR / "waitress-serve"),
        *(f"--listen=127.0.0.1:{launch.port}", f"--threads={threads}"),
        f"--connection-limit={WAITRESS_CONNECTION_LIMIT}",
        f"--channel-timeout={KEEPALIVE_TIMEOUT}",
        "hello:application",
    ]


def uvicorn(workers: int, keepalive_timeout: int | None = None) -> Callable[[Launch], list[str]]:
    keepalive = (
        [] if keepalive_timeout is None else ["--timeout-keep-alive", str(keepalive_timeout)]
    )
    return lambda launch: [
        str(BIN_DIR / "uvicorn"),
        *("--workers", str(workers), "--http", "httptools", "--loop", "uvloop", "--no-access-log"),
        *keepalive,
        *("--host", "127.0.0.1", "--port", str(launch.port)),
        *("--app-dir", str(APPS_DIR), "hello:app"),
    ]


SERVERS: list[Server] = [
    # -- suite x: one process
    Server(
        name="mpmd",
        description="mpmd -X (one process), no access log",
        command=lambda launch: mpmd_conf(launch),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd+log",
        description="mpmd -X with a combined-format access log",
        command=lambda launch: mpmd_conf(launch, access_log=True),
        env=MPMD_ENV,
    ),
    Server(
        name="gunicorn",
        description="gunicorn, 1 sync worker (plus its arbiter)",
        command=gunicorn(1),
    ),
    Server(
        name="uvicorn",
        description="uvicorn, 1 process, httptools + uvloop, ASGI",
        command=uvicorn(1),
    ),
    # -- suite prefork: processes
    Server(
        name="mpmd-prefork",
        description="mpmd -DFOREGROUND, prefork MPM (20-40 spare children, at most 64), "
        "WSGI app, no access log",
        command=lambda launch: mpmd_conf(launch, mpm="prefork"),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd-prefork+log",
        description="mpmd-prefork with a combined-format access log",
        command=lambda launch: mpmd_conf(launch, mpm="prefork", access_log=True),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd-prefork-file",
        description=f"mpmd-prefork serving the 13-byte file {STATIC_PATH} (no WSGI app)",
        command=lambda launch: mpmd_conf(launch, mpm="prefork", static=True),
        env=MPMD_ENV,
        path=STATIC_PATH,
    ),
    Server(
        name="gunicorn-2",
        description="gunicorn, 2 sync workers (plus the arbiter)",
        command=gunicorn(2),
    ),
    Server(
        name="uvicorn-2",
        description="uvicorn --workers 2 (plus the supervisor), httptools + uvloop, ASGI",
        command=uvicorn(2),
    ),
    Server(
        name="apache-prefork",
        description=f"Debian's Apache httpd, prefork MPM (the same numbers as mpmd-prefork), "
        f"serving the 13-byte file {STATIC_PATH}, no access log",
        command=apache_conf,
        path=STATIC_PATH,
    ),
    # -- suite threaded: threads (and async peers); KeepAliveTimeout 60 everywhere
    Server(
        name="mpmd-worker",
        description="mpmd -DFOREGROUND, worker MPM: 2 children x 32 threads (a thread holds "
        f"its connection), WSGI app, KeepAliveTimeout {KEEPALIVE_TIMEOUT}, mod_reqtimeout, "
        "no access log",
        command=lambda launch: mpmd_conf(launch, mpm="worker", **THREADED_SUITE),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd-event",
        description="mpmd -DFOREGROUND, event MPM: 2 children x 32 threads, "
        "AsyncRequestWorkerFactor 64, WSGI app, "
        f"KeepAliveTimeout {KEEPALIVE_TIMEOUT}, mod_reqtimeout, no access log",
        command=lambda launch: mpmd_conf(launch, mpm="event", **THREADED_SUITE),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd-winnt",
        description="mpmd -DFOREGROUND, winnt MPM: 1 child (its only shape) x 64 threads, "
        f"WSGI app, KeepAliveTimeout {KEEPALIVE_TIMEOUT}, mod_reqtimeout, no access log",
        command=lambda launch: mpmd_conf(launch, mpm="winnt", **THREADED_SUITE),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd-event-file",
        description=f"mpmd-event serving the 13-byte file {STATIC_PATH} (no WSGI app)",
        command=lambda launch: mpmd_conf(launch, mpm="event", static=True, **THREADED_SUITE),
        env=MPMD_ENV,
        path=STATIC_PATH,
    ),
    Server(
        name="gunicorn-gthread",
        description="gunicorn -w 2 -k gthread --threads 8 (plus the arbiter), "
        f"--keep-alive {KEEPALIVE_TIMEOUT}",
        command=gunicorn_gthread(2, 8),
    ),
    Server(
        name="waitress",
        description="waitress-serve --threads=16, ONE process (waitress has no workers), "
        f"--connection-limit={WAITRESS_CONNECTION_LIMIT}, --channel-timeout={KEEPALIVE_TIMEOUT}",
        command=waitress(16),
        env={"PYTHONPATH": str(APPS_DIR)},
    ),
    Server(
        name="uvicorn-2-ka60",
        description="uvicorn --workers 2 (plus the supervisor), httptools + uvloop, ASGI, "
        f"--timeout-keep-alive {KEEPALIVE_TIMEOUT}",
        command=uvicorn(2, KEEPALIVE_TIMEOUT),
    ),
    Server(
        name="apache-worker",
        description="Debian's Apache httpd, worker MPM (the numbers of mpmd-worker), "
        f"serving the 13-byte file {STATIC_PATH}, KeepAliveTimeout {KEEPALIVE_TIMEOUT}, "
        "mod_reqtimeout, no access log",
        command=lambda launch: apache_conf(launch, "worker", **THREADED_SUITE),
        path=STATIC_PATH,
    ),
    Server(
        name="apache-event",
        description="Debian's Apache httpd, event MPM (the numbers of mpmd-event), "
        f"serving the 13-byte file {STATIC_PATH}, KeepAliveTimeout {KEEPALIVE_TIMEOUT}, "
        "mod_reqtimeout, no access log",
        command=lambda launch: apache_conf(launch, "event", **THREADED_SUITE),
        path=STATIC_PATH,
    ),
]


# ---------------------------------------------------------------------------
# Scenarios


@dataclass(frozen=True)
class Scenario:
    name: str
    wrk_args: tuple[str, ...]  # everything but -d and the URL
    description: str


CLOSE = ("-H", "Connection: close")

SCENARIOS: list[Scenario] = [
    Scenario(
        name="c1-keepalive",
        wrk_args=("-t1", "-c1", "--latency"),
        description="1 connection, keep-alive: the per-request cost",
    ),
    Scenario(
        name="c8-close",
        wrk_args=("-t2", "-c8", "--latency", *CLOSE),
        description="8 connections, a new connection per request",
    ),
    Scenario(
        name="c16-keepalive",
        wrk_args=("-t2", "-c16", "--latency"),
        description="16 keep-alive connections: every process busy",
    ),
    Scenario(
        name="c16-close",
        wrk_args=("-t2", "-c16", "--latency", *CLOSE),
        description="16 connections, a new connection per request",
    ),
    Scenario(
        name="c64-keepalive",
        wrk_args=("-t2", "-c64", "--latency"),
        description="64 busy keep-alive connections: as many as worker's threads",
    ),
    Scenario(
        name="c64-close",
        wrk_args=("-t2", "-c64", "--latency", *CLOSE),
        description="64 connections, a new connection per request",
    ),
]


# ---------------------------------------------------------------------------
# Runs beyond wrk (suite threaded): idle connections, slowloris, memory


@dataclass(frozen=True)
class IdleRun:
    """`busy` (a wrk scenario) measured alone, then again while `connections`
    idle keep-alive connections are held open (each sent one request first):
    what share of its req/s a server keeps. Round by round, as the scenarios."""

    name: str
    connections: int
    busy: str  # the wrk scenario measured with and without them
    targets: dict[str, float] = field(default_factory=dict)  # server -> minimum share kept
    open_seconds: float = 5.0  # at most this long to open them and have their answers
    answer_wait: float = 0.5  # a connection unanswered this long stops counting as in flight
    in_flight: int = 200  # connections being opened (connect, request, answer) at once


@dataclass(frozen=True)
class SlowlorisRun:
    """`clients` connections each sending a request head one header line every
    `line_every` seconds, never finishing it (reconnecting if the server closes
    one), while a new connection asks for the URL every `probe_every` seconds
    for `seconds`; a probe waits at most `probe_timeout` for its answer.
    Once per server, after the rounds."""

    name: str
    clients: int
    line_every: float
    probe_every: float
    seconds: float
    probe_timeout: float
    settle: float = 2.0  # seconds the slow clients get before the first probe
    must_answer_all: tuple[str, ...] = ()  # servers that must answer every probe


@dataclass(frozen=True)
class Memory:
    """Whole-tree PSS read just after each measured run of `after`; quoted
    against `against`'s."""

    after: str  # a wrk scenario
    against: str  # a server


IDLE_RUN = IdleRun(
    name="idle-1000",
    connections=1000,
    busy="c16-keepalive",
    targets={"mpmd-event": 0.9},
)
SLOWLORIS_RUN = SlowlorisRun(
    name="slowloris",
    clients=200,
    line_every=3.0,
    probe_every=0.5,
    seconds=20.0,
    probe_timeout=5.0,
    must_answer_all=("mpmd-event",),
)


# ---------------------------------------------------------------------------
# Suites


@dataclass(frozen=True)
class Versus:
    """A ratio the report states: `subject`'s req/s ÷ `against`'s, per scenario."""

    subject: str
    against: str
    targets: dict[str, float] = field(default_factory=dict)  # scenario -> minimum ratio


@dataclass(frozen=True)
class Overhead:
    """What the access log (and the scoreboard) cost, in server CPU µs per request.

    The access log: `logged`'s CPU µs/req minus `plain`'s, round by round, and
    timed in-process (bench/costs.py). The scoreboard (`scoreboard`: the
    servers have one) cannot be turned off in a server: it is timed in-process.
    """

    plain: str
    logged: str
    scoreboard: bool = False
    budget_us: float | None = None  # scoreboard + logging must cost no more


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    servers: tuple[str, ...]
    scenarios: tuple[str, ...]
    baseline: str  # the table's "vs" column quotes every server against this one
    versus: tuple[Versus, ...] = ()
    overhead: Overhead | None = None
    ratio_table: bool = False  # a server x scenario table of req/s ratios to the baseline
    cpu_split: bool = False  # a server x scenario table of the CPU's split among processes
    idle: IdleRun | None = None
    slowloris: SlowlorisRun | None = None
    memory: Memory | None = None

    @property
    def extra_runs(self) -> tuple[str, ...]:
        """The names of the runs beyond wrk, which --scenario may pick too."""
        return tuple(run.name for run in (self.idle, self.slowloris) if run is not None)


SUITES: list[Suite] = [
    Suite(
        name="x",
        description="mpmd -X (one process) against one-process peers",
        servers=("mpmd", "mpmd+log", "gunicorn", "uvicorn"),
        scenarios=("c1-keepalive", "c8-close"),
        baseline="mpmd",
        versus=(
            Versus("mpmd", "uvicorn", {"c1-keepalive": 1.3, "c8-close": 1.0}),
            Versus("mpmd+log", "uvicorn"),
        ),
        overhead=Overhead(plain="mpmd", logged="mpmd+log"),
    ),
    Suite(
        name="prefork",
        description="mpmd's prefork MPM against two-process peers and Apache httpd's prefork",
        servers=(
            "mpmd-prefork",
            "mpmd-prefork+log",
            "mpmd-prefork-file",
            "gunicorn-2",
            "uvicorn-2",
            "apache-prefork",
        ),
        scenarios=("c16-keepalive", "c16-close"),
        baseline="uvicorn-2",
        versus=(
            Versus("mpmd-prefork", "uvicorn-2", {"c16-keepalive": 1.2, "c16-close": 1.0}),
            Versus("mpmd-prefork+log", "uvicorn-2"),
            Versus("mpmd-prefork", "gunicorn-2"),
            Versus("mpmd-prefork-file", "apache-prefork"),
            Versus("mpmd-prefork-file", "mpmd-prefork"),
        ),
        overhead=Overhead(
            plain="mpmd-prefork", logged="mpmd-prefork+log", scoreboard=True, budget_us=3.0
        ),
    ),
    Suite(
        name="threaded",
        description="mpmd's worker, event and winnt MPMs against threaded and async peers "
        "and Apache httpd's worker and event",
        servers=(
            "mpmd-worker",
            "mpmd-event",
            "mpmd-winnt",
            "mpmd-event-file",
            "gunicorn-gthread",
            "waitress",
            "uvicorn-2-ka60",
            "apache-worker",
            "apache-event",
        ),
        scenarios=("c16-keepalive", "c16-close", "c64-keepalive", "c64-close"),
        baseline="uvicorn-2-ka60",
        versus=(
            Versus("mpmd-event", "uvicorn-2-ka60", {"c16-keepalive": 1.5, "c64-keepalive": 1.5}),
            Versus("mpmd-worker", "uvicorn-2-ka60", {"c16-keepalive": 1.5}),
            Versus("mpmd-winnt", "uvicorn-2-ka60"),
            Versus("mpmd-event", "gunicorn-gthread"),
            Versus("mpmd-event-file", "apache-event"),
            Versus("mpmd-event-file", "apache-worker"),
        ),
        ratio_table=True,
        cpu_split=True,
        idle=IDLE_RUN,
        slowloris=SLOWLORIS_RUN,
        memory=Memory(after="c64-keepalive", against="gunicorn-gthread"),
    ),
]
