"""Which server answers a request: httpd's ``server/vhost.c``.

Two steps, as in httpd 2.4:

1. When a connection is accepted, the address and port it came to pick the
   virtual hosts that may answer on it: those naming that IP address and
   port, else that address with any port, else ``*`` (or ``_default_``) and
   that port, else ``*`` and any port -- the first of these that any
   ``<VirtualHost>`` names. None: the main server answers every request on it.
2. For each request, among those virtual hosts, the first (in configuration
   order) whose ``ServerName`` or a ``ServerAlias`` (``*`` and ``?``
   wildcards allowed) is the host the request names -- the host of an
   absolute request target, else the ``Host`` header, without its port -- and
   with no match the first of them, the address's default server.

The connection keeps the first step's default for what is decided before a
request's head is read (limits, timeouts, keep-alive), as httpd does.
"""

from __future__ import annotations

import ipaddress
import socket
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mpmd.config.server import ServerConfig

ANY = ""  # an address that is any address (``*``, ``_default_``) or, as a port, 0: any port


def vhost_address(text: str) -> tuple[str, str]:
    """A ``<VirtualHost>`` argument as (host, port text): ``*``/``_default_`` -> ANY, no
    port or ``*`` -> "0". The port text is the caller's to check."""
    host, port = text, "0"
    if text.startswith("["):
        inner, _, rest = text[1:].partition("]")
        host, port = inner, rest[1:] if rest.startswith(":") else "0"
    elif text.count(":") == 1:
        host, _, port = text.partition(":")
    if port == "*":
        port = "0"
    return (ANY if host in ("*", "_default_") else host), port


def resolve(host: str) -> list[str]:
    """``host``'s IP addresses (itself if it is one, normalised); [] if it resolves to none."""
    if host == ANY:
        return [ANY]
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(ipaddress.ip_address(info[4][0])) for info in infos))


def request_host(host: str) -> str:
    """The name a request's host[:port] gives, for matching: lower case, without the port,
    the brackets of an IPv6 literal or a trailing dot."""
    name = host[1 : host.find("]")] if host.startswith("[") else host.partition(":")[0]
    return name.rstrip(".").lower()


class VirtualHosts:
    """The virtual hosts of one configuration, looked up as httpd does (module docstring)."""

    def __init__(self, vhosts: list[ServerConfig]) -> None:
        self.bindings = [(ip, port, v) for v in vhosts for ip, port in v.vhost_addresses]
        self.names: dict[int, tuple[frozenset[str], tuple[str, ...]]] = {}
        for v in vhosts:
            names = [v.server_name, *v.server_aliases]
            plain = frozenset(n.lower() for n in names if n and "*" not in n and "?" not in n)
            patterns = tuple(n.lower() for n in names if "*" in n or "?" in n)
            self.names[id(v)] = (plain, patterns)
        self._chains: dict[tuple[str, int], tuple[ServerConfig, ...]] = {}

    def for_address(self, ip: str, port: int) -> tuple[ServerConfig, ...]:
        """The virtual hosts that may answer on a connection to ``ip``:``port``, the
        address's default first; () if none does (the main server answers)."""
        key = (ip, port)
        chain = self._chains.get(key)
        if chain is None:
            try:
                address = ipaddress.ip_address(ip)
                mapped = getattr(address, "ipv4_mapped", None)
                ip = str(mapped or address)
            except ValueError:
                pass  # a Unix socket: only * matches
            found: list[ServerConfig] = []
            for tier in ((ip, port), (ip, 0), (ANY, port), (ANY, 0)):
                found = [v for h, p, v in self.bindings if (h, p) == tier]
                if found:
                    break
            chain = tuple({id(v): v for v in found}.values())
            if len(self._chains) < 1024:
                self._chains[key] = chain
        return chain

    def by_name(self, chain: tuple[ServerConfig, ...], host: str) -> ServerConfig:
        """The virtual host of ``chain`` whose name is ``host``'s, else the default."""
        name = request_host(host)
        if name:
            for v in chain:
                plain, patterns = self.names[id(v)]
                if name in plain or any(fnmatchcase(name, p) for p in patterns):
                    return v
        return chain[0]
