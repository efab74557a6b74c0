"""``wsgi.input`` (http.request.Body) reads exactly the body, however the socket cut it up."""

from __future__ import annotations

import io
import random
from collections import deque
from collections.abc import Callable
from typing import Any

import pytest

from mpmd.http.body import EMPTY, Body

BODY = (
    b"".join(b"line %d %s\n" % (i, b"x" * (i * 37 % 300)) for i in range(200))
    + b"last line without a newline"
)


class FakeConn:
    """Hands the body out in the given pieces, one ``read_body`` call each, like recv()."""

    def __init__(self, pieces: list[bytes]) -> None:
        self.pieces = deque(pieces)
        self.reads = 0

    def read_body(self, req: FakeRequest) -> None:
        self.reads += 1
        req.body_chunks.append(self.pieces.popleft())
        req.body_done = not self.pieces


class FakeRequest:
    def __init__(self, pieces: list[bytes]) -> None:
        self.conn = FakeConn(pieces)
        self.body_chunks: deque[bytes] = deque()
        self.body_read = 0
        self.body_done = not pieces


def cut(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    pieces, i = [], 0
    while i < len(data):
        n = rng.choice([1, 2, 7, 50, 999, 4096, 70000])
        pieces.append(data[i : i + n])
        i += n
    return pieces


def body(pieces: list[bytes]) -> Body:
    return Body(FakeRequest(pieces))  # type: ignore[arg-type]  # a stand-in Request


Reader = Callable[[Any], list[bytes]]


def read_all(f: Any) -> list[bytes]:
    return [f.read()]


def read_none(f: Any) -> list[bytes]:
    return [f.read(None)]


def read_sized(size: int) -> Reader:
    def reader(f: Any) -> list[bytes]:
        parts = []
        while part := f.read(size):
            parts.append(part)
        return parts

    return reader


def read1(f: Any) -> list[bytes]:
    parts = []
    while part := f.read1(100):
        parts.append(part)
    return parts


def readline_limited(size: int) -> Reader:
    def reader(f: Any) -> list[bytes]:
        parts = []
        while line := f.readline(size):
            parts.append(line)
        return parts

    return reader


READERS: dict[str, Reader] = {
    "read()": read_all,
    "read(None)": read_none,
    "read(1)": read_sized(1),
    "read(13)": read_sized(13),
    "read(65536)": read_sized(65536),
    "read(len)": read_sized(len(BODY)),
    "read(len+1)": read_sized(len(BODY) + 1),
    "read1(100)": read1,
    "readline()": lambda f: list(iter(f.readline, b"")),
    "readline(5)": readline_limited(5),
    "readline(200)": readline_limited(200),
    "readlines()": lambda f: f.readlines(),
    "readlines(1000)": lambda f: [ln for _ in range(10_000) for ln in f.readlines(1000)],
    "iteration": list,
}


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", READERS)
def test_body_reads_like_a_file(name: str, seed: int) -> None:
    pieces = cut(BODY, seed)
    got = READERS[name](body(pieces))
    want = READERS[name](io.BytesIO(BODY))
    assert b"".join(got) == BODY
    if not name.startswith("read1"):  # read1's pieces depend on the cuts, by design
        assert got == want


def test_body_read_past_the_end_returns_empty_bytes() -> None:
    f = body([b"abc", b"def"])
    assert f.read(100) == b"abcdef"
    assert f.read(100) == b""
    assert f.read() == b""
    assert f.readline() == b""
    assert f.readlines() == []


def test_body_read_zero_reads_nothing_from_the_socket() -> None:
    req = FakeRequest([b"abc"])
    f = Body(req)  # type: ignore[arg-type]
    assert f.read(0) == b""
    assert f.readline(0) == b""
    assert req.conn.reads == 0


def test_body_reads_only_what_it_needs() -> None:
    req = FakeRequest([b"one\ntw", b"o\n", b"three\n"])
    f = Body(req)  # type: ignore[arg-type]
    assert f.readline() == b"one\n"
    assert req.conn.reads == 1
    assert f.readline() == b"two\n"
    assert req.conn.reads == 2
    assert f.read(2) == b"th"
    assert f.read() == b"ree\n"
    assert req.body_read == len(b"one\ntwo\nthree\n")


def test_body_large_read_is_linear_not_quadratic() -> None:
    """8 MiB in 4 KiB pieces: a quadratic buffer copies ~8 GiB here and takes many seconds."""
    piece = b"y" * 4096
    f = body([piece] * 2048)
    assert len(f.read(8 << 20)) == 8 << 20


def test_the_shared_empty_input_reads_as_an_empty_body_does() -> None:
    for reader in (
        lambda f: f.read(),
        lambda f: f.read(10),
        lambda f: f.read(None),
        lambda f: f.read1(),
        lambda f: f.readline(),
        lambda f: f.readline(5),
        lambda f: f.readlines(),
        lambda f: list(f),
        lambda f: f.readable(),
    ):
        assert reader(EMPTY) == reader(body([]))
    EMPTY.close()
    assert EMPTY.read() == b""  # closing the shared one changes nothing
