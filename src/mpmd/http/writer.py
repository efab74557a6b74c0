"""The response writer: a response's head, its body, and the end of it, on the wire.

It owns what goes out for a response: the head (status line, Date, Server,
the handler's headers less the ones the server writes itself, the framing --
Content-Length, chunked or the close -- and the keep-alive promise with
httpd's ``ap_set_keepalive`` rules, RFC 9112 section 9.3), the head held back
so that a small body leaves in the same write, the body (chunked when
needed, ``sendfile`` for a large file) and the chunked terminator. A
response's decision to end the connection is left in ``req.close_after``.

It never reads from the socket and never closes it: parsing, reading,
draining a body and the connection's life are ``connection.py``'s, which acts
on ``close_after``. ``ResponseWriter`` is a base class of ``Connection``, not
an object the connection holds: a held object would add an attribute lookup
to every write of every request.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Final

from mpmd.http.errors import DROPS_CONNECTION, ClientGone, HttpError
from mpmd.http.response import date_cache, status_line

if TYPE_CHECKING:
    import socket

    from mpmd.http.request import Request
    from mpmd.http.site import Site

SMALL_FILE: Final = 16384  # files up to this size go out with the head in one write
# A handler's (name, value) -> its line on the wire, for the headers copied as they
# are: an app sends the same few on every response. Cleared when full.
_lines: Final[dict[tuple[str, str], bytes]] = {}
CACHED_LINES: Final = 512
CACHED_LINE: Final = 256  # bytes: longer lines (cookies, CSP) are rarely sent twice
# Headers the server writes itself: hop-by-hop ones (RFC 9110 section 7.6.1), and
# Date and Server, which httpd's basic_http_header sets whatever the handler said.
SERVER_OWNED: Final = frozenset(
    {
        "date",
        "server",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-connection",
    }
)


class ResponseWriter:
    """Writes the responses of one connection; ``Connection`` is the one subclass."""

    # The connection's, set by Connection.__init__.
    sock: socket.socket
    site: Site
    requests: int  # requests read on this connection so far (MaxKeepAliveRequests)
    pending: bytes | None  # a head not sent yet: it leaves with the first body bytes

    def _can_drain(self, req: Request) -> bool:
        """The connection's: may the unread rest of ``req``'s body be discarded, keeping it open?"""
        raise NotImplementedError

    def _send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except (BlockingIOError, TimeoutError) as e:
            raise ClientGone("send timed out") from e
        except OSError as e:
            raise ClientGone(str(e)) from e

    def start_response(
        self,
        req: Request,
        status: int,
        line: bytes | None,
        headers: list[tuple[str, str]],
        content_length: int | None,
    ) -> None:
        if req.head_sent:
            raise RuntimeError("response headers already sent")
        forced = req.notes.get("force_status")
        if forced:
            status, line = forced, None
        req.status = status
        req.headers_out = headers
        server = req.server
        bodiless = status < 200 or status == 204 or status == 304
        no_body = bodiless or req.method == "HEAD"
        req.no_body = no_body
        site = self.site
        keep = (
            req.keep_alive
            and not req.close_after
            and server.keep_alive
            and status not in DROPS_CONNECTION
            and site.accepting
            and (req.body_done or self._can_drain(req))
        )
        out = [line or status_line(status), date_cache.header(), site.server_header]
        lines = _lines
        for header in headers:
            try:
                line = lines.get(header)
            except TypeError:  # a list, not a tuple: it cannot be a key
                line = None
            if line is not None:
                out.append(line)
                continue
            name, value = header
            lname = name.lower()
            if lname in SERVER_OWNED:
                if lname == "connection" and "close" in value.lower():
                    keep = False
                continue
            if lname == "content-length":
                if content_length is None:
                    try:
                        content_length = int(value)
                    except ValueError:
                        raise HttpError(
                            500, f"invalid Content-Length from handler: {value!r}"
                        ) from None
                continue
            line = f"{name}: {value}\r\n".encode("latin-1")
            out.append(line)
            if type(header) is tuple and len(line) <= CACHED_LINE:
                if len(lines) >= CACHED_LINES:
                    lines.clear()  # the headers that repeat come straight back
                lines[header] = line
        if bodiless:
            pass  # RFC 9110 section 6.4.1: never a body, so no framing header
        elif content_length is not None:
            out.append(b"Content-Length: %d\r\n" % content_length)
        elif no_body:
            pass  # HEAD without a known length: nothing follows the head
        elif req.http_minor >= 1:
            out.append(b"Transfer-Encoding: chunked\r\n")
            req.chunked_out = True
        else:
            keep = False  # HTTP/1.0 without a length: the close delimits the body
        # httpd's ap_set_keepalive: MaxKeepAliveRequests counts the reuses of a
        # connection, so N allows N + 1 requests and the first reply says max=N
        limit = server.max_keep_alive_requests
        left = limit - (self.requests - 1) if limit else 0
        if keep and limit and left <= 0:
            keep = False
        if not keep:
            out.append(b"Connection: close\r\n\r\n")
        elif req.keep_alive_token:
            # httpd's ap_set_keepalive: Keep-Alive goes back only to a client that sent the token
            ka = b"Keep-Alive: timeout=%d" % int(server.keep_alive_timeout)
            out.append(b"%b, max=%d\r\n" % (ka, left) if left else ka + b"\r\n")
            out.append(b"Connection: Keep-Alive\r\n\r\n")
        else:
            out.append(b"\r\n")
        req.close_after = not keep
        req.content_length_out = content_length
        head = b"".join(out)
        req.header_bytes = len(head)
        req.head_sent = True
        self.pending = head

    def write_body(self, req: Request, data: bytes) -> None:
        size = len(data)
        if req.chunked_out:
            data = b"%x\r\n%b\r\n" % (size, data)
        if self.pending is not None:
            data = self.pending + data
            self.pending = None
        self._send(data)
        req.bytes_sent += size

    def send_file(self, req: Request, fd: int, offset: int, count: int) -> None:
        if count <= SMALL_FILE:
            data = os.pread(fd, count, offset)
            if data:
                self.write_body(req, data)
            return
        if req.chunked_out:
            self._send((self.pending or b"") + b"%x\r\n" % count)
        elif self.pending is not None:
            self._send(self.pending)
        self.pending = None
        sent = 0
        while sent < count:
            try:
                n = os.sendfile(self.sock.fileno(), fd, offset + sent, count - sent)
            except (BlockingIOError, TimeoutError) as e:
                raise ClientGone("sendfile timed out") from e
            except OSError as e:
                raise ClientGone(str(e)) from e
            if n == 0:
                break  # the file shrank under us
            sent += n
        req.bytes_sent += sent
        if req.chunked_out:
            self._send(b"\r\n")
        if sent < count:
            req.close_after = True

    def end_response(self, req: Request) -> None:
        if req.done:
            return
        req.done = True
        tail = b"0\r\n\r\n" if req.chunked_out and not req.no_body else b""
        if self.pending is not None:
            tail, self.pending = self.pending + tail, None
        if tail:
            self._send(tail)
        expected = req.content_length_out
        if expected is not None and not req.no_body and req.bytes_sent != expected:
            req.close_after = True  # a short (or long) body breaks the framing: end the connection
