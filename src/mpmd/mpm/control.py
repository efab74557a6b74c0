"""``mpmd -k start|stop|restart|graceful|graceful-stop``: talk to a running server by its pid file.

The verbs and messages are httpd's (``ap_signal_server``): stop sends TERM,
restart HUP, graceful USR1, graceful-stop WINCH; a verb that needs a running
server says ``mpmd (no pid file) not running`` when there is none, and
restart/graceful start one instead. ``start`` detaches like httpd.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mpmd.config.server import Config

VERB_SIGNALS = {
    "stop": signal.SIGTERM,
    "restart": signal.SIGHUP,
    "graceful": signal.SIGUSR1,
    "graceful-stop": signal.SIGWINCH,
}


def running_pid(config: Config) -> tuple[int | None, str]:
    """The pid of a running server and httpd's status line for it."""
    path = config.path(config.pid_file)
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return None, "mpmd (no pid file) not running"
    if not text.isdigit():
        return None, f"mpmd (pid file {path} is not a pid) not running"
    pid = int(text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None, f"mpmd (pid {pid}?) not running"
    except PermissionError:
        pass  # alive, owned by someone else
    return pid, f"mpmd (pid {pid}) already running"


def signal_server(config: Config, verb: str) -> tuple[bool, int]:
    """Handle ``-k VERB``; returns (done, exit status). Not done means: start a server."""
    pid, status = running_pid(config)
    if verb == "start":
        if pid is not None:
            print(status)
            return True, 0
        return False, 0
    if pid is None:
        if verb in ("restart", "graceful"):
            return False, 0  # httpd starts a server that is not running
        print(status)
        return True, 0
    os.kill(pid, VERB_SIGNALS[verb])
    return True, 0


def detach() -> bool:
    """Become a daemon (httpd's apr_proc_detach); True in the daemon, False in the caller."""
    if os.fork() != 0:
        return False
    os.setsid()
    if os.fork() != 0:
        os._exit(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
    sys.stdout = open(1, "w", closefd=False)  # noqa: SIM115 - the process's own stdout
    sys.stderr = open(2, "w", closefd=False)  # noqa: SIM115
    return True
