"""The access log's line format: a LogFormat string compiled, once, into a line renderer.

Owns ``compile_format`` (httpd's parse_log_string and parse_log_item): the
``%`` syntax with its modifiers (``%>s``, ``%{arg}i``, ``%400,501{...}i``,
``%!200{...}i``), the literal text with httpd's backslash escapes, and
``render(req)`` of a ``LineFormat``. What each directive prints is
``accesslog_fields.py``.

A compiled format is its literal text plus one small function per ``%``
directive, in order; ``render`` joins their texts and encodes the line
latin-1 (one code point per byte). This module is compiled with the request
path (mypyc, ``setup.py``).

Must not touch: files, descriptors or the configuration; and it never
changes a request. Which logs exist, when a line is written and where
(LogFormat, CustomLog, ``env=``, the open files) is ``modules/log_config.py``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpmd.log.accesslog_fields import FORMATS, Field, bytes_as_text

if TYPE_CHECKING:
    from mpmd.http.request import Request


class FormatError(Exception):
    """A format string httpd would refuse, in httpd's words."""


# ----------------------------------------------------------------------------
# Compiling a format string


class LineFormat:
    """A compiled format: ``render(req)`` is the whole line, as bytes ending in a newline."""

    __slots__ = ("parts", "text")

    def __init__(self, text: str, parts: list[str | Field]) -> None:
        self.text = text
        self.parts = parts  # literal text and fields, in order

    def render(self, req: Request) -> bytes:
        """The line for ``req``: each part's text, joined, one byte per code point.

        Compiled with the request path (mypyc): about 6,000 instructions for a
        combined-format line, as many as the f-string this module used to
        generate with ``exec`` and run in the interpreter, without the
        interpreter. Most of them are the fields' own work and the join.
        """
        out: list[str] = []
        for part in self.parts:
            out.append(part if isinstance(part, str) else part(req))
        return "".join(out).encode("latin-1", "backslashreplace")


def _conditional(item: Field | str, codes: frozenset[int], negate: bool) -> Field:
    """``%400,501{User-agent}i`` / ``%!200,304{Referer}i``: "-" unless the final status fits."""

    def cond(req: Request) -> str:
        if (req.status in codes) == negate:
            return "-"
        return item if isinstance(item, str) else item(req)

    return cond


def _literal(text: str) -> str:
    """Literal text with httpd's backslash escapes: ``\\n``, ``\\t``, ``\\r`` and ``\\\\``."""
    if "\\" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and i + 1 < n and text[i + 1] in "\\rnt":
            out.append({"\\": "\\", "r": "\r", "n": "\n", "t": "\t"}[text[i + 1]])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def compile_format(text: str) -> LineFormat:
    """Compile a LogFormat string, as httpd's parse_log_string; raise FormatError if it is bad."""
    parts: list[str | Field] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] != "%":
            j = text.find("%", i)
            j = n if j < 0 else j
            _add_part(parts, bytes_as_text(_literal(text[i:j])))
            i = j
        elif text.startswith("%%", i):
            _add_part(parts, "%")
            i += 2
        else:
            item, i = _parse_item(text, i + 1)
            _add_part(parts, item)
    _add_part(parts, "\n")
    return LineFormat(text, parts)


def _parse_item(text: str, i: int) -> tuple[str | Field, int]:
    """One ``%`` directive after its ``%``: modifiers, ``{arg}``, then the letter (parse_log_item)."""
    negate, want_orig, arg, codes = False, None, "", []
    n = len(text)
    while True:
        if i >= n:
            raise FormatError("Ran off end of LogFormat parsing args to some directive")
        ch = text[i]
        if ch == "!":
            negate = not negate
            i += 1
        elif ch in "<>":
            want_orig = ch == "<"
            i += 1
        elif ch == ",":
            i += 1
        elif ch == "{":
            end = text.find("}", i + 1)
            end = n if end < 0 else end
            arg = text[i + 1 : end]
            i = end + 1
        elif "0" <= ch <= "9":
            j = i
            while j < n and "0" <= text[j] <= "9":
                j += 1
            codes.append(int(text[i:j]))
            i = j
        else:
            break
    key = text[i : i + 3] if ch == "^" and text[i : i + 3] in FORMATS else ch
    if key not in FORMATS:
        raise FormatError(f"Unrecognized LogFormat directive %{ch}")
    factory, orig_default = FORMATS[key]
    item = factory(arg, orig_default if want_orig is None else want_orig)
    if isinstance(item, str):
        item = bytes_as_text(item)
    if codes:
        item = _conditional(item, frozenset(codes), negate)
    return item, i + len(key)


def _add_part(parts: list[str | Field], item: str | Field) -> None:
    if isinstance(item, str) and parts and isinstance(parts[-1], str):
        parts[-1] += item
    else:
        parts.append(item)


__all__ = ["FormatError", "LineFormat", "compile_format"]
