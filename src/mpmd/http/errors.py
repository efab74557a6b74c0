"""HTTP errors raised anywhere on the request path, answered with Apache's pages."""

from __future__ import annotations

# Statuses after which httpd closes the connection (ap_status_drops_connection).
DROPS_CONNECTION = frozenset({400, 408, 411, 413, 414, 417, 431, 500, 501, 503, 505})


class HttpError(Exception):
    """Stop processing and answer ``status``; ``note`` goes to the error log and page notes."""

    def __init__(
        self,
        status: int,
        note: str = "",
        headers: list[tuple[str, str]] | None = None,
        log_id: str = "",
        log: bool = True,
    ) -> None:
        super().__init__(f"{status} {note}")
        self.status = status
        self.note = note
        self.headers = headers or []
        self.log_id = log_id
        self.log = log


class ClientGone(Exception):
    """The client closed the connection or stopped reading (EPIPE, ECONNRESET, send timeout)."""


class BodyError(OSError):
    """Raised from ``wsgi.input`` reads: the body timed out, was malformed or was too large."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
