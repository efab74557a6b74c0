"""``wsgi.input``: the request body as a file, read from the connection as the app asks.

Plain Python, not compiled with the request path (setup.py): it is called by apps,
and tests hand it stand-in requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mpmd.http.request import Request


class Body:
    """``wsgi.input``: reads exactly the request body (Content-Length or chunked), never past it.

    The unread bytes are ``_buf[_pos:]``, one parsed piece of the body: reads slice it
    and join whole pieces once, so a large read costs one copy, not one per recv().
    """

    __slots__ = ("_buf", "_pos", "conn", "req")

    def __init__(self, req: Request) -> None:
        self.req = req
        self.conn = req.conn
        self._buf = b""
        self._pos = 0

    def _next_piece(self) -> bytes:
        """The next parsed piece of the body, reading the socket if none is parsed; b"" at the end."""
        req = self.req
        chunks = req.body_chunks
        while True:
            while not chunks:
                if req.body_done:
                    return b""
                self.conn.read_body(req)
            chunk = chunks.popleft()
            if chunk:  # b"" means the end to our callers
                req.body_read += len(chunk)
                return chunk

    def read(self, size: int | None = -1) -> bytes:
        buf, pos = self._buf, self._pos
        have = len(buf) - pos
        want = -1 if size is None or size < 0 else size
        if 0 <= want <= have:
            self._pos = pos + want
            return buf[pos : pos + want]
        parts = [buf[pos:]] if have else []
        while want < 0 or have < want:
            chunk = self._next_piece()
            if not chunk:
                break
            parts.append(chunk)
            have += len(chunk)
        self._buf, self._pos = b"", 0
        if 0 <= want < have:  # keep the rest of the last piece for the next read
            last = parts[-1]
            cut = len(last) - (have - want)
            parts[-1] = last[:cut]
            self._buf, self._pos = last, cut
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        buf, pos = self._buf, self._pos
        if pos >= len(buf):
            buf, pos = self._next_piece(), 0
            self._buf = buf
        end = len(buf) if size < 0 else min(len(buf), pos + size)
        self._pos = end
        return buf[pos:end]

    def readline(self, size: int | None = -1) -> bytes:
        limit = -1 if size is None else size
        buf, pos = self._buf, self._pos
        i = buf.find(b"\n", pos)
        if i >= 0 and (limit < 0 or i - pos < limit):
            self._pos = i + 1
            return buf[pos : i + 1]
        have = len(buf) - pos
        if 0 <= limit <= have:
            self._pos = pos + limit
            return buf[pos : pos + limit]
        parts = [buf[pos:]] if have else []
        while True:  # the line goes on in the next pieces
            chunk = self._next_piece()
            if not chunk:
                self._buf, self._pos = b"", 0
                return b"".join(parts)
            end = chunk.find(b"\n") + 1 or len(chunk)
            if limit >= 0:
                end = min(end, limit - have)
            parts.append(chunk[:end])
            have += end
            if end < len(chunk) or chunk[end - 1] == 10 or have == limit:
                self._buf, self._pos = chunk, end
                return b"".join(parts)

    def readlines(self, hint: int = -1) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self) -> Body:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Apps may close wsgi.input; the connection still owns the socket."""


class EmptyBody:
    """``wsgi.input`` of a request with no body left to read (most GETs): one shared,
    stateless instance, ``EMPTY``, rather than a ``Body`` made per request."""

    __slots__ = ()

    def read(self, size: int | None = -1) -> bytes:
        return b""

    def read1(self, size: int = -1) -> bytes:
        return b""

    def readline(self, size: int | None = -1) -> bytes:
        return b""

    def readlines(self, hint: int = -1) -> list[bytes]:
        return []

    def __iter__(self) -> EmptyBody:
        return self

    def __next__(self) -> bytes:
        raise StopIteration

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        """Apps may close wsgi.input; there is nothing to close."""


EMPTY = EmptyBody()

__all__ = ["EMPTY", "Body", "EmptyBody"]
