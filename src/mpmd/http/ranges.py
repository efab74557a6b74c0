"""Byte ranges (RFC 9110 section 14): the Range header read, the multipart/byteranges body framed.

Owns ``parse_ranges`` (section 14.1.1, with httpd's MaxRanges and its
coalescing of overlapping ranges) and ``multipart_byteranges``, the framing
of a 206 response with several ranges (section 14.6, httpd's part layout).

Pure HTTP: it is given a header and a representation's size and says which
bytes to send and what goes around them. Must not touch: files, the request
object, the configuration. Reading and sending the bytes, and deciding
whether a Range applies at all (GET only, If-Range), is
``modules/static.py``'s.
"""

from __future__ import annotations

import secrets
from typing import Final, NamedTuple

MAX_RANGES: Final = 200  # httpd's MaxRanges default: more ranges than this get the whole file


def parse_ranges(value: str, size: int) -> list[tuple[int, int]] | None:
    """A Range header (RFC 9110 section 14.1.1) against a file of ``size`` bytes.

    Returns None to ignore it (not ``bytes``, malformed, too many ranges: the
    whole file with 200, as httpd), ``[]`` when no range is satisfiable (416),
    else inclusive ``(first, last)`` pairs; overlapping or adjacent ranges are
    coalesced (section 14.3 allows it, and it stops ``0-,0-,0-...`` from
    multiplying the response).
    """
    unit, eq, spec = value.partition("=")
    if not eq or unit.strip().lower() != "bytes":
        return None
    ranges: list[tuple[int, int]] = []
    count = 0
    for raw in spec.split(","):
        item = raw.strip(" \t")
        if not item:
            continue  # empty list elements are allowed (RFC 9110 section 5.6.1)
        count += 1
        if count > MAX_RANGES:
            return None
        first, dash, last = item.partition("-")
        if not dash:
            return None
        if first:
            if not _digits(first) or (last and not _digits(last)):
                return None
            start = int(first)
            end = int(last) if last else size - 1
            if last and end < start:
                return None
            if start >= size:
                continue  # unsatisfiable
            ranges.append((start, min(end, size - 1)))
        else:
            if not _digits(last):
                return None
            suffix = int(last)
            if suffix == 0 or size == 0:
                continue
            ranges.append((max(0, size - suffix), size - 1))
    if count == 0:
        return None
    return coalesce(ranges)


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()


def coalesce(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge overlapping or adjacent ranges; keep the client's order when none touch."""
    if len(ranges) < 2:
        return ranges
    ordered = sorted(ranges)
    merged = [ordered[0]]
    touched = False
    for start, end in ordered[1:]:
        last_start, last_end = merged[-1]
        if start <= last_end + 1:
            merged[-1] = (last_start, max(last_end, end))
            touched = True
        else:
            merged.append((start, end))
    return merged if touched else ranges


class Byteranges(NamedTuple):
    """A multipart/byteranges body's framing: each part's head goes before its bytes, ``tail`` last."""

    content_type: str  # the response's Content-Type, with the boundary
    heads: list[bytes]  # one per range, in order
    tail: bytes  # the closing delimiter
    length: int  # the whole body: heads, the ranges' bytes and the tail


def multipart_byteranges(ranges: list[tuple[int, int]], size: int, ctype: str | None) -> Byteranges:
    """The parts of a 206 multipart/byteranges response (RFC 9110 section 14.6), as httpd lays them out."""
    boundary = secrets.token_hex(8)
    type_line = f"Content-Type: {ctype}\r\n" if ctype else ""
    heads = [
        f"\r\n--{boundary}\r\n{type_line}Content-Range: bytes {a}-{b}/{size}\r\n\r\n".encode(
            "latin-1"
        )
        for a, b in ranges
    ]
    tail = f"\r\n--{boundary}--\r\n".encode("latin-1")
    total = sum(len(h) for h in heads) + sum(b - a + 1 for a, b in ranges) + len(tail)
    return Byteranges(f"multipart/byteranges; boundary={boundary}", heads, tail, total)


__all__ = ["MAX_RANGES", "Byteranges", "coalesce", "multipart_byteranges", "parse_ranges"]
