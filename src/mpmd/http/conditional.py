"""Conditional requests (RFC 9110 section 13): the validators compared, the preconditions judged.

Owns HTTP-dates (``http_date`` for Last-Modified, ``parse_http_date`` for
all three of RFC 9110's forms), entity-tag comparison (section 8.8.3.2),
the preconditions in section 13.2.2's order (``If-Match``,
``If-Unmodified-Since``, ``If-None-Match``, ``If-Modified-Since``) and
``If-Range`` (section 13.1.5).

Pure HTTP: it is given a method, the request headers and the
representation's validators (an ETag, a modification time) and says what
to answer. Must not touch: files, the request object, the configuration.
Making an ETag from a file (FileETag) is ``modules/static.py``'s.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping
from email.utils import formatdate, parsedate_tz
from typing import Final

_ETAG_RE: Final = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')
_MONTHS: Final = {
    m: i
    for i, m in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}


# ----------------------------------------------------------------------------
# HTTP-dates

_date_cache: Final[dict[int, str]] = {}
_parsed_dates: Final[dict[str, int | None]] = {}


def http_date(seconds: int) -> str:
    """IMF-fixdate (RFC 9110 section 5.6.7), cached per second."""
    text = _date_cache.get(seconds)
    if text is None:
        text = formatdate(seconds, usegmt=True)
        if len(_date_cache) >= 4096:
            _date_cache.clear()
        _date_cache[seconds] = text
    return text


def parse_http_date(text: str) -> int | None:
    """An HTTP-date in any of RFC 9110's three forms -> Unix seconds; None if invalid."""
    value = _parsed_dates.get(text, -1)
    if value != -1:
        return value
    value = _parse_http_date(text.strip())
    if len(_parsed_dates) >= 1024:
        _parsed_dates.clear()
    _parsed_dates[text] = value
    return value


def _parse_http_date(t: str) -> int | None:
    if len(t) == 29 and t[3:5] == ", " and t.endswith(" GMT"):  # IMF-fixdate, the common case
        month = _MONTHS.get(t[8:11])
        digits = t[5:7] + t[12:16] + t[17:19] + t[20:22] + t[23:25]
        if month is not None and digits.isascii() and digits.isdigit() and t[19] == t[22] == ":":
            day, year, hh, mm, ss = (
                int(t[5:7]),
                int(t[12:16]),
                int(t[17:19]),
                int(t[20:22]),
                int(t[23:25]),
            )
            if 1 <= day <= 31 and hh < 24 and mm < 60 and ss < 61:
                return calendar.timegm((year, month, day, hh, mm, ss, 0, 0, 0))
        return None
    try:
        parts = parsedate_tz(t)  # rfc850-date and asctime-date (obsolete, still to be accepted)
    except (ValueError, IndexError, TypeError):
        return None  # a client's junk is "no date", never a 500
    if parts is None:
        return None
    try:
        seconds = calendar.timegm((*parts[:6], 0, 0, 0))
    except (ValueError, OverflowError):
        return None
    return seconds - (parts[9] or 0)


# ----------------------------------------------------------------------------
# Entity tags and preconditions


def etag_list_matches(header: str, etag: str | None, strong: bool) -> bool:
    """Does an If-Match / If-None-Match list match ``etag`` (RFC 9110 section 8.8.3.2)?"""
    value = header.strip()
    if value == "*":
        return True  # the representation exists
    if etag is None:
        return False
    etag_weak = etag.startswith("W/")
    if strong and etag_weak:
        return False
    opaque = etag[2:] if etag_weak else etag
    for m in _ETAG_RE.finditer(value):
        if m.group(2) == opaque and not (strong and m.group(1)):
            return True
    return False


def evaluate_preconditions(
    method: str, headers: Mapping[str, str], etag: str | None, mtime: int, now: float
) -> int:
    """RFC 9110 section 13.2.2, in its order: 0 to go on, else 304 or 412."""
    if_match = headers.get("if-match")
    if if_match is not None:
        if not etag_list_matches(if_match, etag, strong=True):
            return 412
    else:
        ius = headers.get("if-unmodified-since")
        if ius is not None:
            date = parse_http_date(ius)
            if date is not None and mtime > date:
                return 412
    safe = method in ("GET", "HEAD")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        if etag_list_matches(if_none_match, etag, strong=False):
            return 304 if safe else 412
    elif safe:
        ims = headers.get("if-modified-since")
        if ims is not None:
            date = parse_http_date(ims)
            # a date in the future is not a validator we issued (httpd ignores it too)
            if date is not None and date <= now and mtime <= date:
                return 304
    return 0


def if_range_matches(value: str, etag: str | None, mtime: int, now: float) -> bool:
    """If-Range (RFC 9110 section 13.1.5): only a strong validator may select a range."""
    v = value.strip()
    if v.startswith('"') or v.startswith("W/"):
        return etag is not None and not etag.startswith("W/") and v == etag
    date = parse_http_date(v)
    # Last-Modified is strong only if at least a second older than the response's Date
    return date is not None and date == mtime and now - mtime >= 1.0


def has_preconditions(headers: Mapping[str, str]) -> bool:
    """Does the request carry any of the four precondition headers of section 13.1?"""
    return (
        "if-none-match" in headers
        or "if-modified-since" in headers
        or "if-match" in headers
        or "if-unmodified-since" in headers
    )


__all__ = [
    "etag_list_matches",
    "evaluate_preconditions",
    "has_preconditions",
    "http_date",
    "if_range_matches",
    "parse_http_date",
]
