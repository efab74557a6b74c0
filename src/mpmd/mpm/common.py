"""What every MPM's directive table shares (httpd's ``mpm_common.c``).

``MaxConnectionsPerChild`` and its deprecated name mean the same in every
MPM; each MPM module lists them in its own table, and they write to the
loaded MPM's configuration (``Config.mpm_module``), whose field has the
same name in each.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mpmd.config.registry import SERVER_ONLY, Syntax, directive

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd


def mpm_conf(cmd: Cmd) -> Any:
    """The loaded MPM module's server configuration."""
    return cmd.server_conf(cmd.config.mpm_module or "")


def number(cmd: Cmd, name: str, value: str) -> int:
    """An MPM directive's integer argument, or httpd's error."""
    try:
        return int(value)
    except ValueError:
        raise cmd.error(f"{name} argument must be an integer") from None


@directive(
    "MaxConnectionsPerChild",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum number of connections a particular child serves before dying.",
    "0",
)
def max_connections_per_child(cmd: Cmd, value: str) -> None:
    n = number(cmd, "MaxConnectionsPerChild", value)
    if n < 0:
        raise cmd.error("MaxConnectionsPerChild must be a non-negative integer")
    mpm_conf(cmd).max_connections_per_child = n


@directive(
    "MaxRequestsPerChild",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Deprecated name of MaxConnectionsPerChild",
    "0",
)
def max_requests_per_child(cmd: Cmd, value: str) -> None:
    cmd.warn("AH00544: MaxRequestsPerChild is deprecated, use MaxConnectionsPerChild instead.")
    max_connections_per_child.apply(cmd, value)
