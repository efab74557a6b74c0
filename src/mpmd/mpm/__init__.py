"""MPMs: who runs a connection. ``single`` is httpd's -X for a configuration with no MPM.

``mpm_for(name)`` gives the parent's side of the MPM a loaded ``mpm_*``
module names (``LoadModule mpm_event_module ...`` → ``event``).
"""

from __future__ import annotations

from typing import Any


def mpm_for(name: str | None) -> Any:
    """The MPM object (prefork.Prefork, worker.Worker, ...) for an MPM name."""
    if name == "prefork":
        from mpmd.mpm.prefork import Prefork

        return Prefork()
    if name == "worker":
        from mpmd.mpm.worker import Worker

        return Worker()
    if name == "event":
        from mpmd.mpm.event import Event

        return Event()
    if name == "winnt":
        from mpmd.mpm.winnt import Winnt

        return Winnt()
    raise ValueError(f"no MPM named {name!r}")
