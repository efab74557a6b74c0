"""One client connection: read, parse (httptools), limits, keep-alive, pipelining, timeouts.

The connection owns the socket. It parses request heads with httptools'
callbacks into ``Request`` objects (pipelined heads queue up in order),
reads request bodies, hands each request to the site, and decides whether
the connection lives on (RFC 9112 section 9.3, httpd's keep-alive rules):
waiting for the next request, draining an unread body, lingering on close.
Timeouts use ``SO_RCVTIMEO``/``SO_SNDTIMEO`` on a blocking socket: Python's
``settimeout`` would poll before every recv.

Writing a response -- its head, body and end -- is ``writer.py``'s
``ResponseWriter``, a base class of ``Connection``; this module does not
build a response head or frame a body. It follows what a response decided
(``req.close_after``) and tells the writer whether an unread body can be
drained (``_can_drain``).
"""

from __future__ import annotations

import functools
import re
import socket
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import unquote_to_bytes

import httptools

from mpmd.http.errors import BodyError, ClientGone
from mpmd.http.request import Request
from mpmd.http.writer import ResponseWriter
from mpmd.net.listeners import timeval

if TYPE_CHECKING:
    from mpmd.config.server import ServerConfig
    from mpmd.config.vhosts import VirtualHosts
    from mpmd.http.site import Site

# bound once: compiled, ``time.time()`` is a module attribute lookup on every call
_now: Final = time.time
_perf_counter: Final = time.perf_counter
_MSG_DONTWAIT: Final = socket.MSG_DONTWAIT
RECV_SIZE: Final = 65536
SPIN_TRIES: Final = 32  # about 40 us of polling for the next keep-alive request
SPIN_WINDOW: Final = 0.0002  # seconds: a client this quick is worth polling for
LINGER_SECONDS: Final = 2.0  # httpd's SECONDS_TO_LINGER
DRAIN_LIMIT: Final = 1 << 20  # unread body bytes we discard to keep a connection alive
METHOD_TOKEN: Final = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]{1,32}) ")  # RFC 9110 5.6.2 token


# RFC 9110 section 7.2: Host = uri-host [ ":" port ]; an empty Host is allowed (RFC 9112 section 3.2)
_VALID_HOST: Final = re.compile(
    rb"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._~!$&'()*+,;=%-]*)(?::[0-9]*)?$"
)


_FRAMING_HEADERS: Final = frozenset(
    {b"host", b"content-length", b"transfer-encoding", b"connection", b"expect"}
)
_METHOD_NAMES: Final[dict[bytes, str]] = {}
_VERSIONS: Final = {"1.1": "HTTP/1.1", "1.0": "HTTP/1.0"}


class ParseAbort(Exception):
    """Raised inside a parser callback to stop parsing on one of our own limits."""


def normalize_path(path: str) -> str | None:
    """Merge slashes and resolve ``.``/``..`` segments; None if ``..`` climbs above the root."""
    if "//" not in path and "/." not in path:
        return path
    out: list[str] = []
    segments = path.split("/")
    for seg in segments[1:]:
        if seg == "..":
            if not out:
                return None
            out.pop()
        elif seg and seg != ".":
            out.append(seg)
    trailing = segments[-1] in ("", ".", "..") and len(segments) > 1
    result = "/" + "/".join(out)
    if trailing and out:
        result += "/"
    return result


def _absolute_parts(target: str) -> tuple[str, str]:
    """An absolute-form target's authority (host[:port]) and what follows it from the
    path on ("/" when it has no path)."""
    rest = target.split("://", 1)[1]
    slash = rest.find("/")
    if slash < 0:
        return rest.partition("?")[0], "/"
    return rest[:slash], rest[slash:]


class Connection(ResponseWriter):
    """One client connection, from the accept to the close; ``serve`` runs it."""

    def __init__(
        self,
        sock: socket.socket,
        client: tuple[str, int] | tuple[str, int, int, int],
        site: Site,
        accepted: float | None = None,
        slot: Any = None,
        inherited: bool = False,
    ) -> None:
        """``inherited``: the socket comes from accept() on a listener that
        ``net.listeners.prepare_listener`` set up, so it already has TCP_NODELAY and
        SO_SNDTIMEO (Linux copies them); else they are set here."""
        self.sock = sock
        self.site = site
        # the scoreboard slot of the thread serving this connection (begin/end_request)
        self.slot = site.slot if slot is None else slot
        self.client_ip = client[0] if isinstance(client, tuple) else "unix"
        self.client_port = client[1] if isinstance(client, tuple) else 0
        if self.client_ip.startswith("::ffff:"):
            self.client_ip = self.client_ip[7:]
        self.client_label = f"{self.client_ip}:{self.client_port}"
        self.accepted = time.time() if accepted is None else accepted
        self.parser = httptools.HttpRequestParser(self)
        self.ready: deque[Request] = deque()
        self.cur: Request | None = None
        self.head_pending = False
        self.head_bytes = 0
        self.url_parts: list[bytes] = []
        self.host_seen = False
        self.valid_host = b""
        # only where the MPM allows it: with more busy processes than CPUs a poll takes
        # the CPU from a process that has work (prefork measured a 16x worse p99)
        self.may_spin = self.spin = site.poll_keepalive
        self.error: tuple[int, str] | None = None
        self.requests = 0
        self.pending: bytes | None = None
        self.unread_input = False
        self.closed = False
        self.deadline = 0.0  # event MPM: when the wait for input ends (wait_deadline)
        self.lingering = False  # close_lingering left the reading-until-EOF to the caller
        self.input_left = False  # serve_available's read filled its buffer: more may be there
        self.woken = False  # event MPM: input came while a thread held the connection
        self._rcvtimeo = -1.0
        self._body_deadline = 0.0
        self._body_cap = 0.0
        # the virtual hosts that may answer here, chosen per request by name (vhosts.py);
        # the first, the address's default, answers until a request names one
        self.vhosts: VirtualHosts | None = site.vhosts
        self.named: tuple[ServerConfig, ...] = ()
        server = site.main
        if self.vhosts is not None:
            self.named = self.vhosts.for_address(*self._local)
            if self.named:
                server = self.named[0]
        self.server = server
        self.limit_line = server.limit_request_line
        self.limit_fields = server.limit_request_fields
        self.limit_field_size = server.limit_request_field_size
        self.max_head = (
            server.limit_request_line
            + min(server.limit_request_fields, 1000) * (server.limit_request_field_size + 2)
            + 4
        )
        if not inherited:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval(server.timeout))

    # the server's end of the connection: a system call, made only when asked for
    @functools.cached_property
    def _local(self) -> tuple[str, int]:
        local = self.sock.getsockname()
        if isinstance(local, str):  # a Unix socket (tests)
            return "unix", 0
        return local[0], local[1]

    @property
    def local_ip(self) -> str:
        return self._local[0]

    @property
    def local_port(self) -> int:
        return self._local[1]

    # ------------------------------------------------------------------
    # httptools callbacks (a request head is built here)

    def on_message_begin(self) -> None:
        self.cur = Request(self, _now(), _perf_counter())
        self.head_pending = True
        self.url_parts = []
        self.host_seen = False

    def _abort(self, status: int, note: str) -> None:
        self.error = (status, note)
        raise ParseAbort(note)

    def on_url(self, url: bytes) -> None:
        parts = self.url_parts
        parts.append(url)
        if len(url) > self.limit_line or (
            len(parts) > 1 and sum(map(len, parts)) > self.limit_line
        ):
            self._abort(
                414, f"request failed: URI too long (longer than {self.server.limit_request_line})"
            )

    def on_header(self, name: bytes, value: bytes) -> None:
        req = self.cur
        assert req is not None
        headers = req.header_list
        if len(headers) >= self.limit_fields:
            self._abort(431, "The number of request header fields exceeds this server's limit.")
        if len(name) + len(value) + 2 > self.limit_field_size:
            self._abort(431, "Size of a request header field exceeds server limit.")
        lname = name.lower()
        if lname in _FRAMING_HEADERS:
            if lname == b"host" and value == self.valid_host and not self.host_seen:
                self.host_seen = True  # the Host this connection sent before, checked then
            else:
                self._framing_header(req, lname, value)
        headers.append((name, value))

    def _framing_header(self, req: Request, lname: bytes, value: bytes) -> None:
        """The few fields that decide how a request is read and answered."""
        if lname == b"host":
            if self.host_seen:
                self._abort(400, "Request contains more than one Host header")
            if value != self.valid_host and _VALID_HOST.match(value) is None:
                # httpd's fix_hostname: a Host that is not a host[:port] is a bad request
                self._abort(400, f"Client sent malformed Host header: {value.decode('latin-1')!r}")
            self.valid_host = value  # clients repeat their Host: check it once per connection
            self.host_seen = True
        elif lname == b"content-length":
            req.content_length = int(value)
        elif lname == b"transfer-encoding":
            if value.strip().lower() != b"chunked":
                self.error = (501, f"Unknown Transfer-Encoding: {value.decode('latin-1')}")
                raise ParseAbort("transfer-encoding")
            req.chunked_in = True
        elif lname == b"connection":
            if b"keep-alive" in value.lower():
                req.keep_alive_token = True
        elif value.strip().lower() == b"100-continue":  # Expect
            req.expect_continue = True
        else:
            self._abort(417, "Unsupported expectation")

    def on_headers_complete(self) -> None:
        req = self.cur
        assert req is not None
        parser = self.parser
        self.head_pending = False
        self.head_bytes = 0
        method = parser.get_method()
        name = _METHOD_NAMES.get(method)
        if name is None:
            name = method.decode("ascii")
            if len(_METHOD_NAMES) < 64:
                _METHOD_NAMES[method] = name
        req.method = name
        version = parser.get_http_version()
        req.version = _VERSIONS.get(version) or "HTTP/" + version
        parts = self.url_parts
        target = (parts[0] if len(parts) == 1 else b"".join(parts)).decode("latin-1")
        req.target = target
        limit = self.limit_line
        if len(name) + len(target) + 10 > limit:
            # httpd's LimitRequestLine counts the whole "METHOD SP target SP HTTP/x.y" line
            self._abort(414, f"request failed: URI too long (longer than {limit})")
        if version == "1.1":
            req.http_minor = 1
        elif version == "1.0":
            req.http_minor = 0
            req.expect_continue = False
        elif version.startswith("1."):
            req.http_minor = 1
        elif version.startswith("0."):
            self._abort(400, "HTTP/0.9 requests are not supported")
        else:
            self._abort(505, f"HTTP version {version} is not supported")
        req.keep_alive = parser.should_keep_alive()
        if req.http_minor >= 1 and not self.host_seen:
            self._abort(
                400, "client sent HTTP/1.1 request without hostname (see RFC2616 section 14.23)"
            )
        if req.content_length is None and not req.chunked_in:
            req.body_done = True
        self._split_target(req, target)
        if len(self.named) > 1:
            req.server = self._named_server(target)
        self.ready.append(req)

    def _named_server(self, target: str) -> ServerConfig:
        """The virtual host this request names: by the host of an absolute target, else
        by its Host header; with neither, the address's default."""
        host = self.valid_host.decode("latin-1") if self.host_seen else ""
        if not target.startswith("/") and "://" in target[:8]:
            host = _absolute_parts(target)[0]
        assert self.vhosts is not None
        return self.vhosts.by_name(self.named, host)

    def _split_target(self, req: Request, target: str) -> None:
        if target.startswith("/"):
            uri, _, query = target.partition("?")
            if "%" not in uri and "/." not in uri and "//" not in uri and "#" not in target:
                req.uri = req.path = uri  # nothing to decode or normalise: the usual case
                req.query = query
                return
        elif target == "*" and req.method == "OPTIONS":
            uri, query = "*", ""
        elif "://" in target[:8] and target.split("://", 1)[0].lower() in ("http", "https"):
            authority, after = _absolute_parts(target)
            if _VALID_HOST.match(authority.encode("latin-1")) is None or not authority:
                self._abort(400, f"invalid request-URI {target}")
            uri, _, query = after.partition("?")
        else:
            self._abort(400, f"invalid request-URI {target}")
            return
        uri = uri.split("#", 1)[0]
        req.uri = uri
        req.query = query
        if "%" in uri:
            raw = unquote_to_bytes(uri)
            if b"\x00" in raw or "%2f" in uri.lower():
                # AllowEncodedSlashes Off: httpd answers an encoded slash or NUL with 404
                req.status = 404
                req.error_note = (
                    f"found %2f (encoded '/') or NUL in URI path ({uri}), returning 404"
                )
            if any(not _is_escape(uri, i) for i in _percent_positions(uri)):
                self._abort(400, f"invalid escape sequence in URI path ({uri})")
            path = raw.decode("latin-1")
        else:
            path = uri
        if path != "*":
            normal = normalize_path(path)
            if normal is None:
                self._abort(400, f"invalid URI path ({uri})")
                return
            path = normal
        req.path = path

    def on_body(self, body: bytes) -> None:
        req = self.cur
        assert req is not None
        req.body_chunks.append(body)
        req.body_received += len(body)
        if req.body_received > req.body_limit:
            self._abort(
                413,
                f"Requested content-length of {req.body_received} is larger than the configured limit of {req.body_limit}",
            )

    def on_message_complete(self) -> None:
        req = self.cur
        assert req is not None
        req.body_done = True

    # ------------------------------------------------------------------
    # reading

    def _recv(self, timeout: float) -> bytes | None:
        """One recv; None when the timeout passed, b"" when the client closed."""
        if timeout != self._rcvtimeo:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval(timeout))
            self._rcvtimeo = timeout
        try:
            return self.sock.recv(RECV_SIZE)
        except (BlockingIOError, TimeoutError):
            return None
        except InterruptedError:
            return self._recv(timeout)
        except OSError:
            return b""

    def _recv_soon(self) -> bytes | None:
        """Poll briefly for the next keep-alive request before sleeping in recv.

        A client on the same host (a benchmark, a proxy's keep-alive pool) sends
        its next request some tens of microseconds after our response; waiting
        for it in a blocking recv costs a sleep and a cross-CPU wake-up that
        take longer than the poll. A client that is not that fast makes the poll
        fail, and the connection polls again only once a blocking wait shows the
        client answering within ``SPIN_WINDOW``.
        """
        recv = self.sock.recv
        for _ in range(SPIN_TRIES):
            try:
                return recv(RECV_SIZE, _MSG_DONTWAIT)
            except BlockingIOError:
                continue
            except OSError:
                return b""
        self.spin = False
        return None

    def _feed(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as e:
            # We do not switch protocols (no h2c, no websockets): the request is served as
            # an ordinary one and parsing resumes after its head with a fresh parser.
            offset = e.args[0] if e.args and isinstance(e.args[0], int) else len(data)
            self.parser = httptools.HttpRequestParser(self)
            if self.cur is not None:
                self.cur.body_done = True
            if offset < len(data):
                self._feed(data[offset:])
        except httptools.HttpParserCallbackError:
            if self.error is None:
                self.error = (400, "malformed request")
        except httptools.HttpParserInvalidMethodError:
            # llhttp rejects every method outside its list. httpd answers a well-formed token it
            # does not implement with 501, and bytes that are no method at all (TLS on a plain
            # port, noise) with 400. The bad request is taken to start this read.
            token = METHOD_TOKEN.match(data)
            if token is None:
                self.error = (400, "Invalid method in request")
            else:
                if self.cur is not None:
                    self.cur.method = token.group(1).decode("ascii")
                self.error = (501, "Invalid method in request")
        except httptools.HttpParserError as e:
            self.error = (400, f"Bad request: {e}")
        except ValueError:  # a Content-Length llhttp accepted but int() did not
            self.error = (400, "invalid Content-Length")

    def next_request(self) -> Request | None:
        """The next request whose head has arrived, or None when the connection should end."""
        ready = self.ready
        server = self.server
        while not ready:
            if self.error is not None:
                return self._error_request()
            if self.head_pending or self.requests == 0:
                timeout = self._head_deadline() - time.time()
                if timeout <= 0:
                    return self._timeout_request()
            else:
                timeout = server.keep_alive_timeout
            idle = not self.head_pending and self.requests > 0
            data = self._recv_soon() if idle and self.spin else None
            if data is None:
                if idle and self.may_spin:
                    waited = time.perf_counter()
                    data = self._recv(timeout)
                    # poll next time only for a client that answered within the window
                    self.spin = time.perf_counter() - waited < SPIN_WINDOW
                else:
                    data = self._recv(timeout)
            if data is None:
                if self.head_pending:
                    return self._timeout_request()
                if self.requests == 0:
                    continue  # loop once more: the deadline check above decides
                return None
            if not data:
                return None
            if self.head_pending or not ready:
                self.head_bytes += len(data)
            self._feed(data)
            if self.head_pending and self.head_bytes > self.max_head and self.error is None:
                self.error = (431, "Size of a request header field exceeds server limit.")
        return ready.popleft()

    def _head_deadline(self) -> float:
        """When the request head being read must have arrived (mod_reqtimeout's header stage)."""
        server = self.server
        # mod_reqtimeout times the first request from the accept, later ones from their first byte
        start = self.accepted if self.requests == 0 or self.cur is None else self.cur.start_time
        initial, maximum, rate = server.header_read_timeout or (server.timeout, 0.0, 0.0)
        deadline = start + initial + (self.head_bytes / rate if rate else 0.0)
        if maximum:
            deadline = min(deadline, start + maximum)
        return deadline

    def _timeout_request(self) -> Request | None:
        """httpd answers 408 only when part of a request arrived; an idle connection just closes."""
        if not self.head_pending:
            return None
        self.error = (408, "Request header read timeout")
        return self._error_request()

    def _error_request(self) -> Request:
        assert self.error is not None
        status, note = self.error
        req = self.cur
        if req is None or req in self.ready:
            req = Request(self, _now(), _perf_counter())
        if not req.method and self.url_parts:  # llhttp's method is valid only once a URL began
            try:
                req.method = self.parser.get_method().decode("ascii")
            except Exception:
                req.method = ""
        if not req.target and self.url_parts:
            req.target = b"".join(self.url_parts).decode("latin-1")
        req.status = status
        req.error_note = note
        req.keep_alive = False
        req.body_done = True
        self.unread_input = True
        self.head_pending = False
        self.error = None
        self.parser = httptools.HttpRequestParser(self)  # nothing more is read on this connection
        self.cur = None
        return req

    def _raise_body_error(self) -> None:
        """The body cannot be read on: raise the parse or read error the connection met."""
        if self.error is not None:
            status, note = self.error
            raise BodyError(status, note)

    def read_body(self, req: Request) -> None:
        """Read more of ``req``'s body from the socket (for ``wsgi.input``)."""
        self._raise_body_error()
        if req.expect_continue and not req.continue_sent:
            req.continue_sent = True
            if self.pending is not None or not req.head_sent:  # no byte of the response out yet
                self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
        server = self.server
        stage = server.body_read_timeout
        if stage is None:
            # without mod_reqtimeout, httpd's Timeout bounds each read, not the whole body:
            # a large upload arriving steadily must not be cut off
            timeout = server.timeout
        else:
            initial, maximum, _rate = stage
            now = time.time()
            if not self._body_deadline:
                self._body_deadline = now + initial
                self._body_cap = now + maximum if maximum else float("inf")
            timeout = min(self._body_deadline, self._body_cap) - now
            if timeout <= 0:
                self.error = (408, "Request body read timeout")
                raise BodyError(408, "Request body read timeout")
        data = self._recv(timeout)
        if data is None:
            self.error = (408, "Request body read timeout")
            raise BodyError(408, "Request body read timeout")
        if not data:
            self.error = (400, "client closed the connection before the whole body arrived")
            raise BodyError(400, "client closed the connection before the whole body arrived")
        if stage is not None and stage[2]:
            self._body_deadline += len(data) / stage[2]  # MinRate extends the deadline
        self._feed(data)
        if not req.body_chunks:
            self._raise_body_error()

    # ------------------------------------------------------------------
    # the connection's life

    def serve(self) -> None:
        """Serve requests until the client leaves, keep-alive ends or the server stops."""
        try:
            while True:
                req = self.next_request()
                if req is None or not self._run(req):
                    break
        except ClientGone:
            pass
        except Exception as e:  # never let one connection take the process down
            self.site.log_exception(
                f"MP00001: unexpected error on connection: {e!r}",
                self.client_label,
                server=self.server,
            )
        finally:
            self.close()

    def _run(self, req: Request) -> bool:
        """Answer one request; True if the connection may carry another."""
        self.requests += 1
        req.number = self.requests
        self._body_deadline = 0.0
        self.site.handle(req)
        # Only what the response said decides: a reply that promised keep-alive
        # (a stop signal came after its head was built) is followed by waiting
        # for the next request and answering it with "Connection: close" --
        # closing now would fail a client that sends on the promised connection.
        if req.close_after:
            return False
        return req.body_done or self._drain(req)

    # ------------------------------------------------------------------
    # the event MPM's way: no thread waits for a request head

    def serve_available(self) -> bool:
        """Read what has arrived (never waiting) and answer every request it completes.

        True: the connection waits for more (a keep-alive wait, or a head still
        arriving) until ``wait_deadline()``; False: it is closed. A request
        body is still read by the calling thread, as httpd's event MPM does.
        One read: ``input_left`` says it filled the buffer, so more input may
        be waiting (an edge-triggered epoll will not report it again).
        """
        try:
            try:
                data: bytes | None = self.sock.recv(RECV_SIZE, _MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError:
                data = b""
            if data == b"":
                self.close_lingering()
                return False
            self.input_left = False
            if data:
                self.input_left = len(data) == RECV_SIZE
                if self.head_pending or not self.ready:
                    self.head_bytes += len(data)
                self._feed(data)
                if self.head_pending and self.head_bytes > self.max_head and self.error is None:
                    self.error = (431, "Size of a request header field exceeds server limit.")
            ready = self.ready
            while ready or self.error is not None:
                req = ready.popleft() if ready else self._error_request()
                if not self._run(req):
                    self.close_lingering()
                    return False
            # Stopping (a graceful restart) does not end a keep-alive wait: the client may
            # be sending its next request this moment, and closing now would reset it. That
            # request is answered with "Connection: close" instead (writer.py).
            return True
        except ClientGone:
            pass
        except Exception as e:
            self.site.log_exception(
                f"MP00001: unexpected error on connection: {e!r}",
                self.client_label,
                server=self.server,
            )
        self.close_lingering()
        return False

    def wait_deadline(self) -> float:
        """Until when ``serve_available``'s wait may last (``time.time()`` clock)."""
        if self.head_pending or self.requests == 0:
            return self._head_deadline()
        return _now() + self.server.keep_alive_timeout

    @property
    def keep_alive_wait(self) -> bool:
        """Waiting between requests (not in the middle of a head)."""
        return self.requests > 0 and not self.head_pending

    def expire(self) -> bool:
        """The wait ran out: a half-read head gets 408 (as httpd), an idle connection just
        closes. True if a lingering close is left to the caller (see ``close_lingering``)."""
        try:
            req = self._timeout_request() if self.head_pending else None
            if req is not None:
                self._run(req)
        except ClientGone:
            pass
        except Exception as e:
            self.site.log_exception(
                f"MP00001: unexpected error on connection: {e!r}",
                self.client_label,
                server=self.server,
            )
        return self.close_lingering()

    def _can_drain(self, req: Request) -> bool:
        """Will ``_drain`` keep the connection after this response? (Then it may say keep-alive.)"""
        if req.expect_continue and not req.continue_sent:
            return False  # the client waits for 100 Continue and will not send the body (as httpd)
        length = req.content_length
        return length is None or length - req.body_read <= DRAIN_LIMIT

    def _drain(self, req: Request) -> bool:
        """Discard the unread rest of a body so the next request can be read (or give up)."""
        if req.expect_continue and not req.continue_sent:
            return False  # the client is waiting for 100-continue and will not send the body
        try:
            while not req.body_done:
                req.body_chunks.clear()
                if req.body_received > req.body_read + DRAIN_LIMIT:
                    return False
                self.read_body(req)
            req.body_chunks.clear()
        except (BodyError, ClientGone):
            return False
        return True

    def _needs_linger(self) -> bool:
        cur = self.cur
        return bool(
            self.unread_input or self.ready or self.head_pending or (cur and not cur.body_done)
        )

    def close(self) -> None:
        """Close, lingering first (reading for up to LINGER_SECONDS) if input is left unread."""
        if self.closed:
            return
        self.closed = True
        try:
            if self._needs_linger():
                self._linger()
        finally:
            self.close_now()

    def close_lingering(self) -> bool:
        """Close without waiting (the event MPM): False if closed now; True if only writing
        was shut down and the caller must read until EOF or LINGER_SECONDS (``drain``),
        then ``close_now`` -- in its epoll, not in a thread."""
        if self.closed:
            return False
        self.closed = True
        if self._needs_linger():
            try:
                self.sock.shutdown(socket.SHUT_WR)
                self.lingering = True
                return True
            except OSError:
                pass
        self.close_now()
        return False

    def drain(self) -> bool:
        """Discard what a lingering client still sends; True once it is done (EOF or error)."""
        recv = self.sock.recv
        for _ in range(16):
            try:
                if not recv(RECV_SIZE, socket.MSG_DONTWAIT):
                    return True
            except (BlockingIOError, InterruptedError):
                return False
            except OSError:
                return True
        return False

    def end_output(self) -> None:
        """The last response is sent: tell the client now (FIN), before the log line is written.

        Closing a moment later, after the log's ``write(2)``, finds the client
        already gone and costs the server the other end's TIME_WAIT: measured
        under ``Connection: close``, about twice the kernel time in ``close``.
        The close itself (lingering, if input is left) is unchanged.
        """
        if self._needs_linger():
            return  # close() lingers: it reads what is left after the same shutdown
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def close_now(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def _linger(self) -> None:
        """httpd's lingering close: stop writing, read what the client still sends, briefly.

        Closing with unread input makes the kernel send RST, which can destroy the
        response still in flight to the client.
        """
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            return
        deadline = time.time() + LINGER_SECONDS
        for _ in range(64):
            left = deadline - time.time()
            if left <= 0:
                return
            data = self._recv(min(left, 0.5))
            if not data:
                return


def _percent_positions(uri: str) -> list[int]:
    return [i for i, ch in enumerate(uri) if ch == "%"]


def _is_escape(uri: str, i: int) -> bool:
    hexdigits = "0123456789abcdefABCDEF"
    return i + 2 < len(uri) and uri[i + 1] in hexdigits and uri[i + 2] in hexdigits
