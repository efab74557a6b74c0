"""Where ``mpmctl status`` finds the server's status page, and fetching it.

As Debian's apache2ctl: ``$MPMD_STATUSURL`` (apache2ctl's
``$APACHE_STATUSURL``), else ``http://HOST:PORT/server-status`` built from the
first ``Listen`` of the configuration mpmctl works on (a wildcard address is
asked on loopback). Fetched with http.client directly, so no proxy from the
environment ever sees the request. Every failure is a ``StatusUnavailable``
whose message says what to do.
"""

from __future__ import annotations

import http.client
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from mpmd.cli.conftree import ConfDir

ENV_STATUSURL = "MPMD_STATUSURL"
TIMEOUT = 5.0  # seconds: a status page that takes longer is as good as none


class StatusUnavailable(Exception):
    """The status page could not be had; the message is for the operator."""


def status_url(confdir: ConfDir, environ: Mapping[str, str]) -> str:
    if environ.get(ENV_STATUSURL):
        return environ[ENV_STATUSURL]
    from mpmd.cli.mpmd import load, parser
    from mpmd.config.errors import ConfigError

    try:
        config = load(parser().parse_args(confdir.mpmd_args()), [])
    except ConfigError as e:
        raise StatusUnavailable(f"{e}\n(the status URL comes from its first Listen)") from e
    if not config.listeners:
        raise StatusUnavailable(
            f"{config.config_file} has no Listen: set {ENV_STATUSURL} to the status page's URL"
        )
    first = config.listeners[0]
    if first.port == 0:
        raise StatusUnavailable(
            f"the first Listen of {config.config_file} asks for an ephemeral port (0), so "
            f"mpmctl cannot know where the server listens: set {ENV_STATUSURL}, "
            "e.g. http://127.0.0.1:PORT/server-status (PORT is in the error log's MP00020 line)"
        )
    host = first.host.strip("[]")
    if host in ("", "0.0.0.0", "*"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    scheme = "https" if first.proto == "https" else "http"
    return f"{scheme}://{host}:{first.port}/server-status"


def with_query(url: str, query: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{query}"


def fetch(url: str, timeout: float = TIMEOUT, mpmctl: str = "mpmctl") -> str:
    """GET ``url``; its body as text, or StatusUnavailable saying why not.

    ``mpmctl`` is how the advice in the messages calls mpmctl (``mpmctl -d DIR``).
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StatusUnavailable(f"{url} is not an http:// or https:// URL")
    conn_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_class(parts.hostname, parts.port, timeout=timeout)
    path = parts.path or "/"
    if parts.query:
        path += f"?{parts.query}"
    try:
        conn.request("GET", path, headers={"User-Agent": "mpmctl", "Connection": "close"})
        resp = conn.getresponse()
        body = resp.read()
    except OSError as e:
        reason = e.strerror or str(e) or type(e).__name__
        raise StatusUnavailable(
            f"cannot reach the server's status page at {url}: {reason}\n"
            f"Is the server running ({mpmctl} start), and listening there?"
        ) from e
    except http.client.HTTPException as e:
        raise StatusUnavailable(f"{url} did not answer in HTTP: {e!r}") from e
    finally:
        conn.close()
    if resp.status == 404:
        raise StatusUnavailable(
            f"{url} answered 404 Not Found: is mod_status enabled?\n"
            f"  {mpmctl} enmod status && {mpmctl} restart"
        )
    if resp.status == 403:
        raise StatusUnavailable(
            f"{url} answered 403 Forbidden: the Require of its <Location> does not let this "
            "client in"
        )
    if resp.status != 200:
        raise StatusUnavailable(f"{url} answered {resp.status} {resp.reason}")
    return body.decode("utf-8", errors="replace")


def fetch_json(url: str, timeout: float = TIMEOUT, mpmctl: str = "mpmctl") -> dict[str, Any]:
    text = fetch(url, timeout, mpmctl)
    try:
        data = json.loads(text)
    except ValueError as e:
        raise StatusUnavailable(
            f"{url} did not answer JSON: the per-worker table needs mpmd's "
            "/server-status?json (Apache httpd's mod_status has no JSON form)"
        ) from e
    if not isinstance(data, dict):
        raise StatusUnavailable(f"{url} answered JSON that is not an object")
    return data
