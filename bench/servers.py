"""What the benchmark runs: the servers, the wrk scenarios, and the suites that
pair them (see bench/README.md). To add a peer or a load, add a row here.

A suite is a set of servers measured in the same scenarios and quoted against
each other: `x` (mpmd -X, one process, against one-process peers) and
`prefork` (mpmd's prefork MPM against two-process peers and Apache httpd's own
prefork MPM).
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
PREFORK_NUMBERS = [
    "StartServers 20",
    "MinSpareServers 20",
    "MaxSpareServers 40",
    "MaxRequestWorkers 64",
    "ServerLimit 64",
]
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
    launch: Launch, *, prefork: bool = False, access_log: bool = False, static: bool = False
) -> list[str]:
    """Write mpmd's config; the command line runs it with -X, or its prefork MPM."""
    work = launch.workdir
    lines = [f"Listen 127.0.0.1:{launch.port}"]
    if prefork:
        lines.append("LoadModule mpm_prefork_module modules/mod_mpm_prefork.so")
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
    if prefork:
        lines += [f"PidFile {work / 'mpmd.pid'}", *PREFORK_NUMBERS]
    if access_log:
        lines += [COMBINED, f"CustomLog {work / 'access_log'} combined"]
    conf = work / "mpmd.conf"
    conf.write_text("\n".join(lines) + "\n")
    mode = ["-DFOREGROUND"] if prefork else ["-X"]
    return [*mpmd_command(), *mode, "-f", str(conf)]


def apache_conf(launch: Launch) -> list[str]:
    """Write a self-contained httpd.conf for Debian's apache2 (nothing from
    /etc/apache2, no system service) serving the 13-byte file with prefork."""
    if not APACHE.exists():
        raise Unavailable(f"{APACHE} not found (Debian: apt-get install -y apache2)")
    work = launch.workdir
    htdocs = write_htdocs(work)
    lines = [
        f"ServerRoot {work}",
        f"DefaultRuntimeDir {work}",
        *(
            f"LoadModule {name}_module {APACHE_MODULES / f'mod_{name}.so'}"
            for name in ("mpm_prefork", "authz_core", "mime")
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
        *PREFORK_NUMBERS,
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


def uvicorn(workers: int) -> Callable[[Launch], list[str]]:
    return lambda launch: [
        str(BIN_DIR / "uvicorn"),
        *("--workers", str(workers), "--http", "httptools", "--loop", "uvloop", "--no-access-log"),
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
        command=lambda launch: mpmd_conf(launch, prefork=True),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd-prefork+log",
        description="mpmd-prefork with a combined-format access log",
        command=lambda launch: mpmd_conf(launch, prefork=True, access_log=True),
        env=MPMD_ENV,
    ),
    Server(
        name="mpmd-prefork-file",
        description=f"mpmd-prefork serving the 13-byte file {STATIC_PATH} (no WSGI app)",
        command=lambda launch: mpmd_conf(launch, prefork=True, static=True),
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
]


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
]
