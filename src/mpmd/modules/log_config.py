"""log_config_module: the access log (Apache's mod_log_config, with mod_logio's %I %O %S).

Owns LogFormat, CustomLog, GlobalLog, TransferLog and BufferedLogs; the
compiler that turns a format string into a line renderer, once, at
configuration time; the log files (opened in ``post_config``, before the MPM
forks, so every child appends through the same ``O_APPEND`` descriptor); and
``log_transaction``, which writes one whole line per request with one
``write(2)`` so lines from many processes and threads never interleave.

It only reads what the other phases left on the Request; it never changes a
request and never writes to the error log.

A compiled format is its literal text plus one small function per ``%``
directive, joined by one generated f-string. Every value that comes from the
client or the application passes through ``escape_logitem`` (httpd's
``ap_escape_logitem``). Request strings carry one code point per byte
(latin-1), so the finished line is encoded latin-1.
"""

from __future__ import annotations

import errno
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import attrgetter
from typing import TYPE_CHECKING

from mpmd.config.errors import ConfigError
from mpmd.config.registry import SERVER_ONLY, SERVER_VHOST, Module, Syntax, directive, parse_flag
from mpmd.log.errorlog import open_log_fd, write_all

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config
    from mpmd.http.request import Request

MODULE = "log_config_module"
CLF = '%h %l %u %t "%r" %>s %b'  # httpd's DEFAULT_LOG_FORMAT, TransferLog's fallback

Field = Callable[["Request"], str]


class FormatError(Exception):
    """A format string httpd would refuse, in httpd's words."""


# ----------------------------------------------------------------------------
# Escaping (httpd's ap_escape_logitem)

_ESCAPES: dict[int, str] = {c: f"\\x{c:02x}" for c in (*range(0x20), *range(0x7F, 0x100))}
_ESCAPES.update({8: "\\b", 9: "\\t", 10: "\\n", 11: "\\v", 13: "\\r", 0x22: '\\"', 0x5C: "\\\\"})


def escape_logitem(text: str) -> str:
    """``"`` and ``\\`` backslashed, controls as ``\\n``-style or ``\\xhh``, bytes >= 0x7f as ``\\xhh``."""
    # four C-level checks cost half of one regex search, and nearly every value is clean
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return text
    if max(text) > "\xff":
        # httpd sees bytes: a code point above latin-1 (from the config file or an app's
        # str) is escaped as its UTF-8 bytes
        text = _bytes_as_text(text)
    return text.translate(_ESCAPES)


def _bytes_as_text(text: str) -> str:
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
        return _per_second(lambda s: _bytes_as_text(time.strftime(custom, time.localtime(s))), when)
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


def _env_get(env: dict[str, str], name: str) -> str | None:
    """httpd's subprocess_env is an apr table: names match case-insensitively."""
    value = env.get(name)
    if value is None and env:
        lower = name.lower()
        for k, v in env.items():
            if k.lower() == lower:
                return v
    return value


def _env_var(arg: str, want_orig: bool) -> Field | str:
    return lambda req: _esc_or_dash(_env_get(req.env, arg))


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


def _fixed(fn: Field) -> Callable[[str, bool], Field | str]:
    return lambda arg, want_orig: fn


def _status(arg: str, want_orig: bool) -> Field | str:
    return _original_status if want_orig else _final_status


_client_ip: Field = attrgetter("conn.client_ip")

# letter -> (factory, httpd's want_orig default for it)
FORMATS: dict[str, tuple[Callable[[str, bool], Field | str], bool]] = {
    "a": (_fixed(_client_ip), False),
    "A": (_fixed(attrgetter("conn.local_ip")), False),
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


# ----------------------------------------------------------------------------
# Compiling a format string


class LineFormat:
    """A compiled format: ``render(req)`` is the whole line, as bytes ending in a newline."""

    __slots__ = ("parts", "render", "text")

    def __init__(self, text: str, parts: list[str | Field]) -> None:
        self.text = text
        self.parts = parts  # literal text and fields, in order
        self.render: Callable[[Request], bytes] = _renderer(parts)


def _renderer(parts: list[str | Field]) -> Callable[[Request], bytes]:
    """Generate ``render(req)`` as one f-string: ``f"{f0(req)} - {f1(req)} ..."``.

    For a combined-format line this measured 2.1 us, against 2.8 us for
    ``template % tuple([f(req) for f in fields])``, and it runs on every request
    (namedtuple and dataclasses generate code for the same reason). Literal text
    goes in as ``repr()`` literals, so nothing from the config file is ever parsed
    as code.
    """
    namespace: dict[str, object] = {}
    pieces: list[str] = []
    for part in parts:
        if isinstance(part, str):
            pieces.append(repr(part))
        else:
            name = f"f{len(namespace)}"
            namespace[name] = part
            pieces.append(f"f'{{{name}(req)}}'")
    line = " ".join(pieces) or "''"
    exec(
        f"def render(req):\n    return ({line}).encode('latin-1', 'backslashreplace')\n", namespace
    )
    render: Callable[[Request], bytes] = namespace["render"]  # type: ignore[assignment]
    return render


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
            _add_part(parts, _bytes_as_text(_literal(text[i:j])))
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
        item = _bytes_as_text(item)
    if codes:
        item = _conditional(item, frozenset(codes), negate)
    return item, i + len(key)


def _add_part(parts: list[str | Field], item: str | Field) -> None:
    if isinstance(item, str) and parts and isinstance(parts[-1], str):
        parts[-1] += item
    else:
        parts.append(item)


# ----------------------------------------------------------------------------
# Configuration


@dataclass
class LogSpec:
    """One CustomLog, GlobalLog or TransferLog line as written."""

    path: str  # as written; resolved against ServerRoot when opened (as httpd does)
    format_text: str | None  # a format or a nickname; None: TransferLog's default
    env_var: str | None = None
    env_negate: bool = False
    is_global: bool = False


@dataclass(eq=False)
class LogFile:
    path: str
    fd: int


@dataclass(eq=False)
class ActiveLog:
    """A log ready to write: its file, its compiled format and its env= condition."""

    file: LogFile
    format: LineFormat
    env_var: str | None
    env_negate: bool


@dataclass
class LogConfig:
    """log_config_module's per-server configuration."""

    formats: dict[str, str] = field(default_factory=dict)  # nickname -> format string
    default_format: str | None = None  # the last LogFormat without a nickname
    logs: list[LogSpec] = field(default_factory=list)
    buffered: bool = False
    active: list[ActiveLog] = field(default_factory=list)  # filled by post_config


def _conf(cmd: Cmd) -> LogConfig:
    conf: LogConfig = cmd.server_conf(MODULE)
    return conf


def _check(cmd: Cmd, text: str) -> None:
    try:
        compile_format(text)
    except FormatError as e:
        raise cmd.error(str(e)) from None


@directive(
    "LogFormat",
    Syntax.TAKE12,
    SERVER_VHOST,
    "a log format string (see docs) and an optional format name",
)
def _log_format(cmd: Cmd, fmt: str, nickname: str | None = None) -> None:
    _check(cmd, fmt)
    conf = _conf(cmd)
    if nickname is None:
        conf.default_format = fmt
    else:
        conf.formats[nickname] = fmt


def _add_log(cmd: Cmd, path: str, fmt: str | None, condition: str | None, is_global: bool) -> None:
    if path.startswith("|"):
        # A piped logger needs a parent that starts it, restarts it when it dies and
        # hands its pipe to every generation of children; mpmd rotates files instead.
        raise cmd.error(
            f"{cmd.node.name}: piped logs ({path}) are not supported by mpmd; "
            "log to a file and rotate it with logrotate"
        )
    if fmt is not None:
        # a nickname is a literal string to the compiler, so this only rejects real mistakes
        _check(cmd, fmt)
    spec = LogSpec(path, fmt, is_global=is_global)
    if condition is not None:
        if condition[:4].lower() == "env=":
            var = condition[4:]
            spec.env_negate = var.startswith("!")
            spec.env_var = var[1:] if spec.env_negate else var
            if not spec.env_var:
                raise cmd.error("missing environment variable name")
        elif condition[:5].lower() == "expr=":
            raise cmd.error(f"{cmd.node.name}: expr= conditions are not supported; use env=")
        else:
            raise cmd.error("error in condition clause")
    _conf(cmd).logs.append(spec)


@directive(
    "CustomLog",
    Syntax.TAKE23,
    SERVER_VHOST,
    'a file name, a custom log format string or format name, and an optional "env=" or "expr=" clause (see docs)',
)
def _custom_log(cmd: Cmd, path: str, fmt: str, condition: str | None = None) -> None:
    _add_log(cmd, path, fmt, condition, is_global=False)


@directive(
    "GlobalLog",
    Syntax.TAKE23,
    SERVER_ONLY,
    "Same as CustomLog, but forces virtualhosts to inherit the log",
)
def _global_log(cmd: Cmd, path: str, fmt: str, condition: str | None = None) -> None:
    _add_log(cmd, path, fmt, condition, is_global=True)


@directive("TransferLog", Syntax.TAKE1, SERVER_VHOST, "the filename of the access log")
def _transfer_log(cmd: Cmd, path: str) -> None:
    _add_log(cmd, path, None, None, is_global=False)


@directive(
    "BufferedLogs",
    Syntax.FLAG,
    SERVER_VHOST,
    "Enable Buffered Logging (experimental)",
    "Off",
)
def _buffered_logs(cmd: Cmd, value: str) -> None:
    # Accepted and recorded, but lines are always written unbuffered: a per-process
    # buffer loses its lines when a child crashes or is killed, reorders lines between
    # processes, and saves little -- one write(2) of a whole line costs about 1 us.
    _conf(cmd).buffered = parse_flag(value)


# ----------------------------------------------------------------------------
# The module


class LogConfigModule(Module):
    """The access logs of one configuration: its open files and the hook that writes them."""

    name = MODULE
    source = "mod_log_config.c"
    static = True
    directives = (_log_format, _custom_log, _global_log, _transfer_log, _buffered_logs)

    def __init__(self) -> None:
        self.files: dict[str, LogFile] = {}  # resolved path -> open file, shared by servers
        self._compiled: dict[str, LineFormat] = {}

    def create_server_config(self) -> LogConfig:
        return LogConfig()

    # -- start-up --------------------------------------------------------------
    def post_config(self, config: Config) -> None:
        """Resolve nicknames and open every log (httpd's open_multi_logs), before forking."""
        self.close()
        main: LogConfig = config.main.module_conf[MODULE]
        main.active = [self._activate(config, main, spec) for spec in main.logs]
        inherited = [
            log for spec, log in zip(main.logs, main.active, strict=True) if spec.is_global
        ]
        for vhost in config.vhosts:
            conf: LogConfig = vhost.module_conf[MODULE]
            if not conf.logs:
                conf.active = main.active  # httpd: a vhost without logs uses the main server's
                continue
            # a vhost sees the main server's nicknames and default under its own
            merged = LogConfig(
                formats={**main.formats, **conf.formats},
                default_format=conf.default_format or main.default_format,
            )
            conf.active = [self._activate(config, merged, spec) for spec in conf.logs]
            conf.active += inherited

    def _activate(self, config: Config, conf: LogConfig, spec: LogSpec) -> ActiveLog:
        if spec.format_text is None:
            default = conf.default_format
            text = CLF if default is None else conf.formats.get(default, default)
        else:
            # an undefined nickname is a literal format string, as in httpd
            text = conf.formats.get(spec.format_text, spec.format_text)
        return ActiveLog(
            self._open(config.path(spec.path)), self._format(text), spec.env_var, spec.env_negate
        )

    def _format(self, text: str) -> LineFormat:
        compiled = self._compiled.get(text)
        if compiled is None:
            compiled = self._compiled[text] = compile_format(text)
        return compiled

    def _open(self, path: str) -> LogFile:
        log = self.files.get(path)
        if log is None:
            try:
                fd = open_log_fd(path)
            except OSError as e:
                reason = os.strerror(e.errno or errno.EIO)
                raise ConfigError(
                    f"({e.errno}){reason}: AH00649: could not open transfer log file {path}."
                ) from None
            log = self.files[path] = LogFile(path, fd)
        return log

    def reopen(self) -> None:
        """Reopen every log file by name (after logrotate moved it away).

        The new file is ``dup2``-ed onto the old descriptor number: a thread writing a
        line at that moment writes to one file or the other, never to a closed (and
        perhaps reused) descriptor.
        """
        for log in self.files.values():
            fd = open_log_fd(log.path)
            try:
                os.dup2(fd, log.fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        for log in self.files.values():
            try:
                os.close(log.fd)
            except OSError:
                pass
        self.files.clear()

    # -- every request -----------------------------------------------------------
    def log_transaction(self, req: Request) -> None:
        conf: LogConfig = req.server.module_conf[MODULE]
        for log in conf.active:
            var = log.env_var
            if var is not None and (_env_get(req.env, var) is not None) == log.env_negate:
                continue
            write_all(log.file.fd, log.format.render(req))


__all__ = [
    "CLF",
    "FORMATS",
    "FormatError",
    "LineFormat",
    "LogConfig",
    "LogConfigModule",
    "compile_format",
    "escape_logitem",
]
