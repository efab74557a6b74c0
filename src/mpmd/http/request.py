"""A request: what was parsed, what the modules decided, and how the response goes out.

Handlers answer through ``respond`` (one whole response in one write),
or ``start`` + ``write``/``sendfile`` + ``end`` (streamed). The connection
owns the socket; the request only asks it to send.
"""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from mpmd.http.errors import BodyError

if TYPE_CHECKING:
    from mpmd.config.server import DirConf, ServerConfig
    from mpmd.http.connection import Connection


class Request:
    __slots__ = (
        "_headers_in",
        "_request_line",
        "body_chunks",
        "body_done",
        "body_limit",
        "body_read",
        "body_received",
        "bytes_sent",
        "chunked_in",
        "chunked_out",
        "close_after",
        "conn",
        "content_length",
        "content_length_out",
        "content_type",
        "continue_sent",
        "dir",
        "done",
        "end_perf",
        "env",
        "error_note",
        "expect_continue",
        "filename",
        "handler",
        "head_sent",
        "header_bytes",
        "header_list",
        "headers_out",
        "http_minor",
        "keep_alive",
        "keep_alive_token",
        "log_id",
        "method",
        "no_body",
        "notes",
        "number",
        "path",
        "path_info",
        "query",
        "server",
        "start_perf",
        "start_time",
        "status",
        "target",
        "uri",
        "user",
        "version",
    )  # fmt: skip

    def __init__(self, conn: Connection, start_time: float, start_perf: float) -> None:
        self.conn: Connection = conn
        self.server: ServerConfig = conn.server
        self.method: str = ""
        self.target: str = ""
        self.uri: str = ""  # the path as sent (percent-encoded)
        self.path: str = ""  # decoded path, each byte one code point (WSGI's latin-1 convention)
        self.query: str = ""
        self.version: str = "HTTP/1.1"
        self.http_minor: int = 1
        self.header_list: list[tuple[bytes, bytes]] = []
        self._headers_in: dict[str, str] | None = None
        self._request_line: str | None = None
        self.start_time: float = start_time
        self.start_perf: float = start_perf
        self.end_perf: float = 0.0
        self.keep_alive: bool = False
        self.keep_alive_token: bool = False  # the client sent "Connection: keep-alive"
        self.expect_continue: bool = False
        self.continue_sent: bool = False
        self.chunked_in: bool = False
        self.content_length: int | None = None
        self.body_chunks: deque[bytes] = deque()
        self.body_received: int = 0  # bytes of body parsed so far
        self.body_read: int = 0  # bytes of body handed to the handler
        self.body_done: bool = False
        self.body_limit: int = 1 << 62
        self.filename: str | None = None
        self.path_info: str = ""
        self.handler: str | None = None
        self.content_type: str | None = None
        self.dir: DirConf = {}
        self.env: dict[str, str] = {}
        self.notes: dict[str, Any] = {}
        self.user: str | None = None
        self.status: int = 0
        self.head_sent: bool = False
        self.bytes_sent: int = 0  # body bytes
        self.header_bytes: int = 0
        self.chunked_out: bool = False
        self.close_after: bool = False
        self.no_body: bool = False
        self.done: bool = False
        self.error_note: str = ""
        self.log_id: str = ""
        self.number: int = 0
        self.content_length_out: int | None = None
        self.headers_out: list[tuple[str, str]] = []

    # -- what was asked ---------------------------------------------------
    @property
    def headers_in(self) -> dict[str, str]:
        """Request headers by lower-cased name; repeated fields joined with ", "."""
        h = self._headers_in
        if h is None:
            h = {}
            for name, value in self.header_list:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                h[key] = h[key] + ", " + text if key in h else text
            self._headers_in = h
        return h

    @property
    def request_line(self) -> str:
        """The request line as received (httpd's ``the_request``), built once it is known.

        The scoreboard and the access log both show it, on every request.
        """
        line = self._request_line
        if line is None:
            if not self.method:
                return ""
            line = self._request_line = f"{self.method} {self.target} {self.version}"
        return line

    @property
    def host(self) -> str:
        return self.headers_in.get("host", "")

    @property
    def fs_filename(self) -> str | None:
        """``filename`` as the filesystem names it.

        ``filename`` is the mapped root (DocumentRoot or an Alias target, a real
        filesystem name) followed by the URL part, one code point per byte as
        WSGI has it; per-directory sections and the disk need the UTF-8 reading.
        """
        name = self.filename
        if name is None or name.isascii():
            return name
        root = self.notes.get("fs_root")
        return fs_path(name, self.server.document_root if root is None else root)

    @property
    def client_ip(self) -> str:
        return self.conn.client_ip

    # -- answering ----------------------------------------------------------
    def respond(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        content_length: int | None = None,
    ) -> None:
        """Send a whole response in one write; ``content_length`` for HEAD-like replies."""
        length = len(body) if content_length is None else content_length
        self.conn.start_response(self, status, None, headers, length)
        if body and not self.no_body:
            self.conn.write_body(self, body)
        self.conn.end_response(self)

    def start(
        self,
        status: int,
        headers: list[tuple[str, str]],
        content_length: int | None = None,
        status_line: bytes | None = None,
    ) -> None:
        self.conn.start_response(self, status, status_line, headers, content_length)

    def write(self, data: bytes) -> None:
        if data and not self.no_body:
            self.conn.write_body(self, data)

    def sendfile(self, fd: int, offset: int, count: int) -> None:
        if count > 0 and not self.no_body:
            self.conn.send_file(self, fd, offset, count)

    def end(self) -> None:
        self.conn.end_response(self)

    def log(self, level: int, message: str, module: str = "core") -> None:
        self.conn.site.log(level, message, module, self.conn.client_label, self.server)


def latin1_to_fs(text: str) -> str:
    """URL-path text (one code point per byte) -> the filesystem's str (UTF-8, surrogateescape)."""
    if text.isascii():
        return text
    try:
        return text.encode("latin-1").decode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text  # already a filesystem name (an Alias target with non-Latin-1 characters)


def fs_path(filename: str, root: str) -> str:
    """``root`` (a filesystem name) + a URL part -> the filesystem's name for it."""
    if root and filename.startswith(root):
        return root + latin1_to_fs(filename[len(root) :])
    return latin1_to_fs(filename)


__all__ = ["BodyError", "Request"]
