"""The access log's fields: what each ``%`` directive of a LogFormat prints.

Owns ``FORMATS``, the table from a directive letter to the factory that
makes its renderer (mod_log_config's ``log_*`` handlers, plus mod_logio's
``%I %O %S``); the request-time and duration formatting behind ``%t``,
``%{...}t``, ``%D`` and ``%T``; and ``escape_logitem`` (httpd's
``ap_escape_logitem``), which every value that comes from the client or the
application passes through. Request strings carry one code point per byte
(latin-1).

A factory runs once, when a format is compiled (``accesslog.py``); the field
it returns runs on every request, so it does the least it can.

Must not touch: files, descriptors or the configuration; and it never
changes a request: a field reads what the other phases left on the Request
and returns text.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from operator import attrgetter
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from mpmd.http.request import Request

Field = Callable[["Request"], str]
Factory = Callable[[str, bool], "Field | str"]  # (argument, want_orig) -> a field or a constant

# ----------------------------------------------------------------------------
# Escaping (httpd's ap_escape_logitem)

_ESCAPES: Final[dict[int, str]] = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0x100))}
_ESCAPES.update({8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 13: "\\r", 0x22: '\\"', 0x5C: "\\\\"})


# bound once: compiled, ``text.isascii()`` looks the method up by name on every call
_isascii: Final = str.isascii
_isprintable: Final = str.isprintable


def escape_logitem(text: str) -> str:
    """``"`` and ``\\`` backslashed, controls as ``\\n``-style or ``\\xhh``, bytes >= 0x7f as ``\\xhh``."""
    # four C-level checks cost half of one regex search, and nearly every value is clean
    if _isascii(text) and _isprintable(text) and '"' not in text and "\\" not in text:
        return text
    if max(text) > "\xff":
        # httpd sees bytes: a code point above latin-1 (from the config file or an app's
        # str) is escaped as its UTF-8 bytes
        text = bytes_as_text(text)
    return text.translate(_ESCAPES)


def bytes_as_text(text: str) -> str:
    """Text from the config file (UTF-8, surrogateescape) as one code point per byte."""
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def _esc_or_dash(value: str | None) -> str:
    return "-" if value is None else escape_logitem(value)


# ----------------------------------------------------------------------------
# Times

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def clf_time(seconds: int) -> str:
    """``[26/Nov/2026:14:09:40 +0100]``: local time and its UTC offset, English month names."""
    t = time.localtime(seconds)
    offset = t.tm_gmtoff or 0
    sign = "-" if offset < 0 else "+"
    offset = abs(offset)
    return "[%02d/%s/%d:%02d:%02d:%02d %s%02d%02d]" % (  # noqa: UP031 -- the hot path
        t.tm_mday, _MONTHS[t.tm_mon - 1], t.tm_year, t.tm_hour, t.tm_min, t.tm_sec,
        sign, offset // 3600, offset % 3600 // 60,
    )  # fmt: skip


def _end_time(req: Request) -> float:
    """When the request ended, on the wall clock (httpd's get_request_end_time)."""
    if req.end_perf:
        return req.start_time + (req.end_perf - req.start_perf)
    return time.time()


def _start_time(req: Request) -> float:
    return req.start_time


def _per_second(make: Callable[[int], str], when: Callable[[Request], float]) -> Field:
    """A time string made once per second; threads share it, and a race only recomputes it."""
    cached = (-1, "")

    def timestamp(req: Request) -> str:
        nonlocal cached
        second = int(when(req))
        last = cached  # one read: another thread may replace the tuple meanwhile
        if last[0] == second:
            return last[1]
        text = make(second)
        cached = (second, text)
        return text

    return timestamp


def _request_time(arg: str, want_orig: bool) -> Field | str:
    """``%t`` / ``%{format}t``, following the branches of httpd's log_request_time."""
    when: Callable[[Request], float] = _start_time
    fmt, custom = arg, arg
    kind = "clf" if not arg else "custom"
    if fmt.startswith("begin"):
        fmt = fmt[5:]
        if not fmt:
            kind = "clf"
        elif fmt[0] == ":":
            fmt = custom = fmt[1:]
    elif fmt.startswith("end"):
        fmt = fmt[3:]
        if not fmt:
            when, kind = _end_time, "clf"
        elif fmt[0] == ":":
            fmt = custom = fmt[1:]
            when = _end_time
    if fmt.startswith("msec"):
        kind = {"": "msec", "_frac": "msec_frac"}.get(fmt[4:], kind)
    elif fmt.startswith("usec"):
        kind = {"": "usec", "_frac": "usec_frac"}.get(fmt[4:], kind)
    elif fmt == "sec":
        kind = "sec"
    elif not fmt:
        kind = "clf"
    if kind == "clf":
        return _per_second(clf_time, when)
    if kind == "custom":
        try:
            time.strftime(custom)
        except ValueError:
            return custom  # a format this platform's strftime refuses: printed as written
        return _per_second(lambda s: bytes_as_text(time.strftime(custom, time.localtime(s))), when)
    scale, modulo, width = {
        "sec": (1, 0, 0),
        "msec": (1000, 0, 0),
        "usec": (1_000_000, 0, 0),
        "msec_frac": (1000, 1000, 3),
        "usec_frac": (1_000_000, 1_000_000, 6),
    }[kind]

    def absolute(req: Request) -> str:
        micros = round(when(req) * 1_000_000)
        value = micros * scale // 1_000_000
        return str(value) if not modulo else str(value % modulo).zfill(width)

    return absolute


def _micros(req: Request) -> int:
    return max(0, int((req.end_perf - req.start_perf) * 1_000_000))


def _duration_us(req: Request) -> str:
    return str(_micros(req))


def _duration(arg: str, want_orig: bool) -> Field | str:
    divisor = {"": 1_000_000, "s": 1_000_000, "ms": 1000, "us": 1}.get(arg.lower())
    if divisor is None:
        return arg  # httpd prints a bogus unit as itself
    return lambda req: str(_micros(req) // divisor)


# ----------------------------------------------------------------------------
# The format directives: letter -> factory(arg, want_orig) -> a field or a constant


def _remote_user(req: Request) -> str:
    user = req.user
    if user is None:
        return "-"
    return escape_logitem(user) if user else '""'


def _request_line(req: Request) -> str:
    line = req.request_line
    return escape_logitem(line) if line else "-"


def _final_status(req: Request) -> str:
    status = req.status
    return str(status) if status > 0 else "-"


def _original_status(req: Request) -> str:
    # an internal redirect (ErrorDocument) may leave the first status in a note
    status = req.notes.get("original_status") or req.status
    return str(status) if status > 0 else "-"


def _bytes_clf(req: Request) -> str:
    sent = req.bytes_sent
    return str(sent) if sent else "-"


def _header(req: Request, key: bytes) -> str | None:
    """The first request header named ``key`` (lower-case bytes), as httpd's apr_table_get.

    Scanning the parsed list costs a third of building ``req.headers_in`` for a
    combined-format line, and nothing else on the hot path needs that dict.
    """
    size = len(key)
    for name, value in req.header_list:
        if len(name) == size and name.lower() == key:
            return value.decode("latin-1")
    return None


def _bytes_received(req: Request) -> int:
    # mod_logio counts the bytes read off the wire; we rebuild an estimate from the parse
    head = len(req.request_line) + 2 + 2
    for name, value in req.header_list:
        head += len(name) + len(value) + 4
    return head + req.body_received


def _bytes_in(req: Request) -> str:
    return str(_bytes_received(req))


def _bytes_out(req: Request) -> str:
    return str(req.header_bytes + req.bytes_sent)


def _bytes_total(req: Request) -> str:
    return str(_bytes_received(req) + req.header_bytes + req.bytes_sent)


def _query(req: Request) -> str:
    if req.query or "?" in req.target:
        return "?" + escape_logitem(req.query)
    return ""


def _server_name(req: Request) -> str:
    return escape_logitem(req.server.server_name or req.conn.local_ip)


def _host_name(req: Request) -> str:
    """The Host header's name as httpd's fix_hostname leaves it: no port, lower case, no final dot."""
    host = _header(req, b"host")
    if not host:
        return _server_name(req)
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    else:
        host = host.partition(":")[0]
    return escape_logitem(host.lower().rstrip("."))


def _port(arg: str, want_orig: bool) -> Field | str:
    kind = arg.lower()
    if kind in ("", "canonical"):
        return lambda req: str(req.server.port or req.conn.local_port)
    if kind == "local":
        return lambda req: str(req.conn.local_port)
    if kind == "remote":
        return lambda req: str(req.conn.client_port)
    return arg  # httpd prints a bogus argument as itself


def _pid_tid(arg: str, want_orig: bool) -> Field | str:
    kind = arg.lower()
    # never a constant: the format is compiled in the parent, the pid belongs to the child
    if kind in ("", "pid"):
        return lambda req: str(os.getpid())
    if kind == "tid":
        return lambda req: str(threading.get_native_id())
    if kind == "hextid":
        return lambda req: format(threading.get_native_id(), "x")
    return arg


def _connection_status(req: Request) -> str:
    if not req.done:
        return "X"  # aborted before the response was complete
    return "-" if req.close_after else "+"


def _keepalives(req: Request) -> str:
    return str(req.conn.requests - 1)


def _header_in(arg: str, want_orig: bool) -> Field | str:
    key = arg.lower().encode("latin-1", "replace")

    def header_in(req: Request) -> str:
        value = _header(req, key)
        return "-" if value is None else escape_logitem(value)

    return header_in


def _header_out(arg: str, want_orig: bool) -> Field | str:
    key = arg.lower()
    if key == "content-length":

        def length(req: Request) -> str:
            n = req.content_length_out
            return _esc_or_dash(_out_header(req, key)) if n is None else str(n)

        return length
    if key == "content-type":

        def content_type(req: Request) -> str:
            value = _out_header(req, key) or req.content_type
            if value is None:
                return "-"
            # httpd logs r->content_type through ap_field_noparam: no "; charset=..."
            return escape_logitem(value.partition(";")[0].rstrip())

        return content_type
    if key == "set-cookie":

        def cookies(req: Request) -> str:
            values = [v for n, v in req.headers_out if n.lower() == key]
            return escape_logitem(", ".join(values)) if values else "-"

        return cookies
    return lambda req: _esc_or_dash(_out_header(req, key))


def _out_header(req: Request, key: str) -> str | None:
    for name, value in req.headers_out:
        if name.lower() == key:
            return value
    return None


def env_get(env: dict[str, str], name: str) -> str | None:
    """``env[name]`` as httpd's subprocess_env (an apr table) finds it: names match case-insensitively."""
    value = env.get(name)
    if value is None and env:
        lower = name.lower()
        for k, v in env.items():
            if k.lower() == lower:
                return v
    return value


def _env_var(arg: str, want_orig: bool) -> Field | str:
    return lambda req: _esc_or_dash(env_get(req.env, arg))


def _note(arg: str, want_orig: bool) -> Field | str:
    def note(req: Request) -> str:
        value = req.notes.get(arg)
        if value is None:
            return "-"
        return escape_logitem(value if isinstance(value, str) else str(value))

    return note


def _cookie(arg: str, want_orig: bool) -> Field | str:
    wanted = arg.lower()

    def cookie(req: Request) -> str:
        for part in (_header(req, b"cookie") or "").split(";"):
            name, sep, value = part.partition("=")
            value = value.strip(" \t")
            if sep and value and name.strip(" \t").lower() == wanted:
                return escape_logitem(value)
        return "-"

    return cookie


def _log_id(arg: str, want_orig: bool) -> Field | str:
    if arg == "c":
        return "-"  # connections carry no log id of their own
    return lambda req: req.log_id or "-"


def _optional(attr: str) -> Field:
    get = attrgetter(attr)
    return lambda req: _esc_or_dash(get(req))


def _fixed(fn: Field) -> Factory:
    return lambda arg, want_orig: fn


def _status(arg: str, want_orig: bool) -> Field | str:
    return _original_status if want_orig else _final_status


def _client_ip(req: Request) -> str:
    return req.conn.client_ip


def _local_ip(req: Request) -> str:
    return req.conn.local_ip


# letter -> (factory, httpd's want_orig default for it)
FORMATS: dict[str, tuple[Factory, bool]] = {
    "a": (_fixed(_client_ip), False),
    "A": (_fixed(_local_ip), False),
    "b": (_fixed(_bytes_clf), False),
    "B": (_fixed(lambda req: str(req.bytes_sent)), False),
    "C": (_cookie, False),
    "D": (_fixed(_duration_us), True),
    "e": (_env_var, False),
    "f": (_fixed(_optional("filename")), False),
    "h": (_fixed(_client_ip), False),  # HostnameLookups is always Off: the address
    "H": (_fixed(lambda req: escape_logitem(req.version)), False),
    "i": (_header_in, False),
    "I": (_fixed(_bytes_in), False),
    "k": (_fixed(_keepalives), False),
    "l": (lambda arg, want_orig: "-", False),  # no identd (IdentityCheck is gone in 2.4)
    "L": (_log_id, True),
    "m": (_fixed(lambda req: escape_logitem(req.method)), False),
    "n": (_note, False),
    "o": (_header_out, False),
    "O": (_fixed(_bytes_out), False),
    "p": (_port, False),
    "P": (_pid_tid, False),
    "q": (_fixed(_query), False),
    "r": (_fixed(_request_line), True),
    "R": (_fixed(_optional("handler")), True),
    "s": (_status, True),
    "S": (_fixed(_bytes_total), False),
    "t": (_request_time, False),
    "T": (_duration, True),
    "u": (_fixed(_remote_user), False),
    "U": (_fixed(lambda req: escape_logitem(req.path)), True),
    "v": (_fixed(_server_name), False),
    "V": (_fixed(_host_name), False),
    "X": (_fixed(_connection_status), False),
    # mod_logio's time to first byte and the trailer fields: never tracked, always "-"
    "^FB": (lambda arg, want_orig: "-", False),
    "^ti": (lambda arg, want_orig: "-", False),
    "^to": (lambda arg, want_orig: "-", False),
}


__all__ = ["FORMATS", "Factory", "Field", "bytes_as_text", "clf_time", "env_get", "escape_logitem"]
