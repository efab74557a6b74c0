"""Bytes that go on the wire: status lines, Date, Server, error pages in Apache's words."""

from __future__ import annotations

import html
import platform
import time
from email.utils import formatdate
from http import HTTPStatus
from typing import Final

import mpmd

_now: Final = time.time  # compiled, one module lookup less per call
REASONS: Final[dict[int, str]] = {s.value: s.phrase for s in HTTPStatus}
REASONS[413] = "Request Entity Too Large"  # httpd's wording
REASONS[414] = "Request-URI Too Long"

_status_lines: Final[dict[int, bytes]] = {}


def status_line(status: int) -> bytes:
    line = _status_lines.get(status)
    if line is None:
        line = f"HTTP/1.1 {status} {REASONS.get(status, '')}".rstrip().encode("latin-1") + b"\r\n"
        _status_lines[status] = line
    return line


def wsgi_status_line(status: str) -> bytes:
    """``"200 OK"`` -> ``b"HTTP/1.1 200 OK\\r\\n"`` (the WSGI layer caches it with its check)."""
    return b"HTTP/1.1 " + status.encode("latin-1") + b"\r\n"


class DateCache:
    """The ``Date`` header, formatted once per second."""

    __slots__ = ("_header", "_second")

    def __init__(self) -> None:
        self._second = -1
        self._header = b""

    def header(self) -> bytes:
        now = int(_now())
        if now != self._second:
            self._second = now
            self._header = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._header


date_cache: Final = DateCache()


def server_banner(tokens: str) -> str:
    """The Server header for ServerTokens, as httpd's ap_get_server_banner."""
    v = mpmd.__version__
    major, minor, *_ = v.split(".")
    product = mpmd.SERVER_BASE_PRODUCT
    return {
        "Prod": product,
        "Major": f"{product}/{major}",
        "Minor": f"{product}/{major}.{minor}",
        "Minimal": f"{product}/{v}",
        "OS": f"{product}/{v} ({platform.system()})",
    }.get(tokens, f"{product}/{v} ({platform.system()}) Python/{platform.python_version()}")


def _canned(status: int, method: str, uri: str, location: str | None, admin: str) -> str:
    e = html.escape
    if status in (301, 302, 303, 307, 308):
        return f'<p>The document has moved <a href="{e(location or "")}">here</a>.</p>\n'
    return {
        400: "<p>Your browser sent a request that this server could not understand.<br />\n</p>\n",
        401: "<p>This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.</p>\n",
        403: "<p>You don't have permission to access this resource.</p>\n",
        404: "<p>The requested URL was not found on this server.</p>\n",
        405: f"<p>The requested method {e(method)} is not allowed for this URL.</p>\n",
        408: "<p>Server timeout waiting for the HTTP request from the client.</p>\n",
        411: f"<p>A request of the requested method {e(method)} requires a valid Content-length.<br />\n</p>\n",
        413: f"The requested resource does not allow request data with {e(method)} requests, or the amount of data provided in\nthe request exceeds the capacity limit.\n",
        414: "The requested URL's length exceeds the capacity\nlimit for this server.<br />\n",
        416: "<p>None of the range-specifier values in the Range\nrequest-header field overlap the current extent\nof the selected resource.</p>\n",
        417: "<p>The expectation given in the Expect request-header\nfield could not be met by this server.</p>\n",
        431: "<p>Your browser sent a request that this server could not understand.<br />\nThe request header fields are too large for this server's limits.</p>\n",
        500: "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n"
        f"<p>Please contact the server administrator at \n {e(admin)} to inform them of the time this error occurred,\n"
        " and the actions you performed just before this error.</p>\n"
        "<p>More information about this error may be available\nin the server error log.</p>\n",
        501: f"<p>{e(method)} not supported for current URL.<br />\n</p>\n",
        503: "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n",
        505: "<p>The HTTP version of the request is not supported by this server.</p>\n",
    }.get(status, f"<p>The server could not answer this request ({status}).</p>\n")


def error_page(
    status: int,
    method: str = "GET",
    uri: str = "/",
    location: str | None = None,
    admin: str = "[no address given]",
    note: str = "",
    signature: str = "",
    recursive_error: int = 0,
) -> bytes:
    """Apache's default error page for ``status`` (ap_send_error_response)."""
    reason = REASONS.get(status, "")
    body = [
        '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n',
        f"<title>{status} {reason}</title>\n</head><body>\n<h1>{reason}</h1>\n",
        _canned(status, method, uri, location, admin),
    ]
    if note and status in (400, 413, 414, 431, 501):
        body.append(f"<p>{html.escape(note)}</p>\n")
    if recursive_error:
        body.append(
            f"<p>Additionally, a {recursive_error} {REASONS.get(recursive_error, '')}\n"
            "error was encountered while trying to use an ErrorDocument to handle the request.</p>\n"
        )
    if signature:
        body.append(f"<hr>\n{signature}")
    body.append("</body></html>\n")
    return "".join(body).encode("utf-8")
