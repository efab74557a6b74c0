"""Small WSGI applications the PEP 3333 tests mount (``WSGIApp /url wsgi_apps:name``).

Each app does one thing a test asserts on; side effects a client cannot see
(``close()`` called, a file read instead of sent) go to a marker file named in
the query string (``?mark=/tmp/...``).
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any
from urllib.parse import parse_qs
from wsgiref.validate import validator

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
TEXT = [("Content-Type", "text/plain")]


def _query(environ: Environ) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _mark(environ: Environ, text: str) -> None:
    path = _query(environ).get("mark")
    if path:
        with open(path, "a") as f:
            f.write(text + "\n")


# -- environ and wsgi.input -------------------------------------------------


def environ_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Answer the environ as JSON: every CGI (str) key and the wsgi.* values that are data."""
    for line in _query(environ).get("log", "").split("|"):
        if line:
            environ["wsgi.errors"].write(line + "\n")
    out = {k: v for k, v in environ.items() if "." not in k}
    for key in (
        "wsgi.version",
        "wsgi.url_scheme",
        "wsgi.multithread",
        "wsgi.multiprocess",
        "wsgi.run_once",
    ):
        out[key] = environ[key]
    body = json.dumps(out).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def _read_body(stream: Any, mode: str, length: int) -> list[bytes]:
    """Read all of ``stream`` the way ``mode`` says; the pieces, in order."""
    if mode == "all":
        return [stream.read()]
    parts: list[bytes] = []
    if mode == "n":  # fixed-size reads until b""
        while True:
            part = stream.read(7)
            if not part:
                return parts
            parts.append(part)
    if mode == "exact":  # read(CONTENT_LENGTH), as most frameworks do
        return [stream.read(length)]
    if mode == "line":
        while True:
            line = stream.readline()
            if not line:
                return parts
            parts.append(line)
    if mode == "lines":
        return list(stream.readlines())
    if mode == "iter":
        return list(stream)
    raise ValueError(mode)


def echo_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Read the body as ``?mode=`` says and echo it; X-Parts says in how many pieces it came."""
    query = _query(environ)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    parts = _read_body(environ["wsgi.input"], query.get("mode", "all"), length)
    body = b"".join(parts)
    start_response("200 OK", [*TEXT, ("X-Parts", str(len(parts)))])
    return [body]


def overread_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Ask for more than the body; what came back, and what a second read gets."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    stream = environ["wsgi.input"]
    first = stream.read(length + 1000)
    second = stream.read(1000)
    line = stream.readline()
    body = json.dumps([first.decode("latin-1"), second.decode("latin-1"), line.decode("latin-1")])
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body.encode()]


validated_environ = validator(environ_app)
validated_echo = validator(echo_app)


def validated_generator(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", TEXT)
    yield b"one "
    yield b""
    yield b"two"


validated_stream = validator(validated_generator)


def validated_file(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", TEXT)
    f = open(_query(environ)["path"], "rb")  # noqa: SIM115 -- the server closes it
    wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](f)
    return wrapper


validated_file_app = validator(validated_file)


# -- mounts -------------------------------------------------------------------


def hello_a(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", TEXT)
    return [b"a"]


def hello_b(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", TEXT)
    return [b"b"]


# -- responses ----------------------------------------------------------------


def single_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", TEXT)
    return [b"hello, world"]


def chunks_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", list(TEXT))
    return [b"one ", b"", b"two ", b"three"]


def empty_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", TEXT)
    return []


def generator_app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", TEXT)
    for i in range(int(_query(environ).get("n", "3"))):
        yield b"chunk %d\n" % i


def length_generator_app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    """A generator body whose length the app announces itself."""
    start_response("200 OK", [*TEXT, ("Content-Length", "10")])
    yield b"01234"
    yield b"56789"


def write_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """The legacy write() callable, then an iterable: all of it arrives, in order."""
    write = start_response("200 OK", TEXT)
    write(b"written 1, ")
    write(b"written 2, ")
    return [b"returned 1, ", b"returned 2"]


def status_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """``/status?code=204``: that status, and a body that must not go out for 204/304."""
    code = _query(environ).get("code", "200")
    start_response(f"{code} Whatever", TEXT)
    return [b"this body must not be sent"]


def exc_info_before_headers(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """PEP 3333's error pattern: start 200, fail, replace it with an error status."""
    start_response("200 OK", TEXT)
    try:
        raise ValueError("the app changed its mind")
    except ValueError:
        start_response("503 App Trouble", [*TEXT, ("X-Replaced", "yes")], sys.exc_info())
    return [b"replaced"]


def exc_info_after_headers(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    """Headers are out; start_response(exc_info) must re-raise, the app lets it through."""
    start_response("200 OK", TEXT)
    yield b"first part "
    try:
        raise ValueError("too late to change the status")
    except ValueError:
        start_response("500 Error", TEXT, sys.exc_info())
    yield b"never sent"


class ClosingBody:
    """An iterable with close() that records being closed (and may fail mid-way)."""

    def __init__(self, environ: Environ, chunks: int, size: int, fail_at: int = -1) -> None:
        self.environ = environ
        self.chunks = chunks
        self.chunk = b"x" * size
        self.fail_at = fail_at

    def __iter__(self) -> Iterator[bytes]:
        for i in range(self.chunks):
            if i == self.fail_at:
                raise RuntimeError("the body failed half-way")
            yield self.chunk

    def close(self) -> None:
        _mark(self.environ, "closed")


def closing_app(environ: Environ, start_response: StartResponse) -> ClosingBody:
    query = _query(environ)
    start_response("200 OK", TEXT)
    return ClosingBody(
        environ,
        int(query.get("chunks", "3")),
        int(query.get("size", "5")),
        int(query.get("fail_at", "-1")),
    )


class RecordingFile:
    """A real file that records any read(): a server using sendfile never calls it."""

    def __init__(self, environ: Environ, path: str) -> None:
        self.environ = environ
        self.f = open(path, "rb")  # noqa: SIM115 -- closed by close(), as PEP 3333 asks

    def fileno(self) -> int:
        return self.f.fileno()

    def tell(self) -> int:
        return self.f.tell()

    def read(self, size: int = -1) -> bytes:
        _mark(self.environ, "read")
        return self.f.read(size)

    def close(self) -> None:
        _mark(self.environ, "closed")
        self.f.close()


def file_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """``?path=...`` through wsgi.file_wrapper; ``&length=1`` announces Content-Length."""
    query = _query(environ)
    path = query["path"]
    headers = [("Content-Type", "application/octet-stream")]
    if query.get("length"):
        headers.append(("Content-Length", str(os.path.getsize(path))))
    start_response("200 OK", headers)
    wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](RecordingFile(environ, path), 65536)
    return wrapper


def raise_before_start(environ: Environ, start_response: StartResponse) -> list[bytes]:
    raise RuntimeError("the app broke before start_response")


def str_body_app(environ: Environ, start_response: StartResponse) -> list[str]:
    start_response("200 OK", TEXT)
    return ["a str is not bytes"]


def str_after_bytes_app(environ: Environ, start_response: StartResponse) -> Iterator[Any]:
    start_response("200 OK", TEXT)
    yield b"bytes first, "
    yield "then a str"


def loose_headers_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Headers not as PEP 3333's list of tuples: a generator of lists (servers accept it)."""
    loose: Any = (list(pair) for pair in [*TEXT, ("X-Loose", "yes"), ("Content-Length", "5")])
    start_response("200 OK", loose)
    return [b"loose"]


def connection_close_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [*TEXT, ("Connection", "close")])
    return [b"bye"]


def overlong_list_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Announces 5 bytes and returns 11: PEP 3333 says no more than announced goes out."""
    start_response("200 OK", [*TEXT, ("Content-Length", "5")])
    return [b"hello world"]


def overlong_generator_app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [*TEXT, ("Content-Length", "5")])
    yield b"hel"
    yield b"lo world"
    yield b"!"


def short_body_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Announces 10 bytes and sends 5: the client must not wait for the rest on a live connection."""
    start_response("200 OK", [*TEXT, ("Content-Length", "10")])
    return [b"hello"]


def injected_status_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK\r\nX-Injected: yes", TEXT)
    return [b"must not be sent"]


def injected_header_name_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    start_response("200 OK", [*TEXT, ("X-Injected\rX-Evil", "yes")])
    return [b"must not be sent"]


def date_server_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Frameworks set Date (Werkzeug's send_file does); the server's own must be the only one."""
    headers = [*TEXT, ("Date", "Thu, 01 Jan 1970 00:00:00 GMT"), ("Server", "app/1.0")]
    start_response("200 OK", headers)
    return [b"dated"]


def bytesio_file_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """wsgi.file_wrapper around a file-like with no descriptor: the server iterates it."""
    start_response("200 OK", TEXT)
    wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](io.BytesIO(b"0123456789" * 1000), 777)
    return wrapper


def seeked_file_app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """A file whose position the app moved: the body starts there (as PEP 3333's example)."""
    query = _query(environ)
    f = open(query["path"], "rb")  # noqa: SIM115 -- the server closes it
    f.seek(int(query["seek"]))
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    wrapper: Iterable[bytes] = environ["wsgi.file_wrapper"](f)
    return wrapper


def partial_error_line_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    environ["wsgi.errors"].write("a line without its newline")
    start_response("200 OK", TEXT)
    return [b"ok"]
