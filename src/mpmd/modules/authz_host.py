"""authz_host_module: the ``Require ip`` and ``Require local`` providers."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from mpmd.config.registry import Module
from mpmd.modules.authz_core import Check, provider

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.http.request import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_network(text: str) -> Network:
    """httpd's forms: full address, partial (``10.1`` = 10.1.0.0/16), CIDR, address/netmask."""
    if "/" in text:
        return ipaddress.ip_network(text, strict=False)
    if ":" not in text:
        parts = [p for p in text.split(".") if p != ""]
        if 0 < len(parts) < 4 and all(p.isdigit() for p in parts):
            padded = parts + ["0"] * (4 - len(parts))
            return ipaddress.ip_network(".".join(padded) + f"/{8 * len(parts)}")
    return ipaddress.ip_network(text)


def _client(req: Request) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(req.conn.client_ip.split("%", 1)[0])
    except ValueError:
        return None


@provider("ip", "authz_host_module")
def _ip(cmd: Cmd, args: list[str]) -> Check:
    if not args:
        raise cmd.error("Require ip requires at least one address")
    networks: list[Network] = []
    for a in args:
        try:
            networks.append(parse_network(a))
        except ValueError:
            raise cmd.error(f"ip address '{a}' appears to be invalid") from None

    def check(req: Request) -> bool:
        addr = _client(req)
        if addr is None:
            return False
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
            addr = addr.ipv4_mapped
        return any(addr in n for n in networks if n.version == addr.version)

    return check


_LOOPBACK4 = ipaddress.ip_network("127.0.0.0/8")


@provider("local", "authz_host_module")
def _local(cmd: Cmd, args: list[str]) -> Check:
    if args:
        raise cmd.error("Require local does not take arguments")

    def check(req: Request) -> bool:
        addr = _client(req)
        if addr is None:
            return req.conn.client_ip == "unix"
        if addr.is_loopback or (addr.version == 4 and addr in _LOOPBACK4):
            return True
        return req.conn.client_ip == req.conn.local_ip

    return check


class AuthzHostModule(Module):
    name = "authz_host_module"
    source = "mod_authz_host.c"
    static = True
