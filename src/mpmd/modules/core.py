"""core_module and http_module: the server's own directives and sections.

Owns ServerRoot, Listen, DocumentRoot, the keep-alive and request limits,
Options/SetHandler/ErrorDocument per directory, the sections (<Directory>,
<Location>, <Files>, their Match forms, <VirtualHost>, <IfDefine>,
<IfModule>, <IfFile>, <IfDirective>), Define/Include, ErrorLog/LogLevel, and
DocumentRoot's translation of a URL to a file (the last translate_name).
"""

from __future__ import annotations

import math
import os
import re
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from mpmd.config.errors import ConfigError
from mpmd.config.parser import split_args
from mpmd.config.registry import (
    ANYWHERE,
    DIRECTORY_ONLY,
    LAST,
    REALLY_LAST,
    SERVER_ONLY,
    SERVER_VHOST,
    Module,
    Syntax,
    directive,
    parse_flag,
)
from mpmd.config.server import Listener
from mpmd.log.levels import LEVELS
from mpmd.modules.core_sections import (
    SECTIONS,
    module_is_loaded,
    parse_host_port,
)
from mpmd.modules.static import default_handler

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.http.request import Request

# Options bits (Apache's OPT_*)
OPT_INDEXES: Final = 1
OPT_INCLUDES: Final = 2
OPT_SYM_LINKS: Final = 4
OPT_EXECCGI: Final = 8
OPT_INC_NOEXEC: Final = 32
OPT_SYM_OWNER: Final = 64
OPT_MULTI: Final = 128
OPT_ALL: Final = OPT_INDEXES | OPT_INCLUDES | OPT_SYM_LINKS | OPT_EXECCGI
OPTION_NAMES: Final = {
    "indexes": OPT_INDEXES,
    "includes": OPT_INCLUDES,
    "includesnoexec": OPT_INC_NOEXEC,
    "followsymlinks": OPT_SYM_LINKS,
    "symlinksifownermatch": OPT_SYM_OWNER,
    "execcgi": OPT_EXECCGI,
    "multiviews": OPT_MULTI,
    "all": OPT_ALL,
}

DEFAULT_LIMIT_REQUEST_BODY: Final = 1 << 30  # 1 GiB, httpd 2.4.54+


@dataclass
class CoreDir:
    """core_module's per-directory configuration."""

    options: int | None = None  # absolute Options in this section, None if unset
    options_add: int = 0
    options_remove: int = 0
    handler: str | None = None
    force_type: str | None = None
    # "SetHandler None" / "ForceType None" in a section override what an outer one set
    handler_cleared: bool = False
    force_type_cleared: bool = False
    error_documents: dict[int, str] = field(default_factory=dict)
    limit_request_body: int | None = None
    server_signature: str | None = None
    file_etag: tuple[str, ...] | None = None
    allow_override: str | None = None
    add_default_charset: str | None = None
    enable_sendfile: bool | None = None
    use_canonical_name: str | None = None  # "On", "Off" or "DNS"; unset: Off
    use_canonical_phys_port: bool | None = None  # unset: Off

    @property
    def effective_options(self) -> int:
        if self.options is not None:
            return self.options
        # relative Options (+Indexes) on top of httpd's default, FollowSymLinks
        return (OPT_SYM_LINKS & ~self.options_remove) | self.options_add

    @property
    def body_limit(self) -> int:
        return (
            DEFAULT_LIMIT_REQUEST_BODY
            if self.limit_request_body is None
            else self.limit_request_body
        )

    @property
    def etag_parts(self) -> tuple[str, ...]:
        return ("mtime", "size") if self.file_etag is None else self.file_etag


def merge_core_dir(base: CoreDir, add: CoreDir) -> CoreDir:
    if add.options is not None:
        options: int | None = add.options
    else:
        options = (base.effective_options & ~add.options_remove) | add.options_add
    docs = dict(base.error_documents)
    docs.update(add.error_documents)
    return CoreDir(
        options=options,
        handler=add.handler if add.handler is not None or add.handler_cleared else base.handler,
        force_type=(
            add.force_type
            if add.force_type is not None or add.force_type_cleared
            else base.force_type
        ),
        error_documents=docs,
        limit_request_body=_pick(add.limit_request_body, base.limit_request_body),
        server_signature=_pick(add.server_signature, base.server_signature),
        file_etag=_pick(add.file_etag, base.file_etag),
        allow_override=_pick(add.allow_override, base.allow_override),
        add_default_charset=_pick(add.add_default_charset, base.add_default_charset),
        enable_sendfile=_pick(add.enable_sendfile, base.enable_sendfile),
        use_canonical_name=_pick(add.use_canonical_name, base.use_canonical_name),
        use_canonical_phys_port=_pick(add.use_canonical_phys_port, base.use_canonical_phys_port),
    )


def _pick(a: Any, b: Any) -> Any:
    return a if a is not None else b


def core_dir(cmd: Cmd) -> CoreDir:
    conf: CoreDir = cmd.dir_conf("core_module")
    return conf


# ----------------------------------------------------------------------------
# Directives


@directive(
    "ServerRoot",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Common directory of server-related files (logs, confs, etc.)",
    "/etc/mpmd",
)
def _server_root(cmd: Cmd, path: str) -> None:
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isdir(path):
        raise cmd.error("ServerRoot must be a valid directory")
    cmd.config.server_root = path


@directive(
    "DocumentRoot", Syntax.TAKE1, SERVER_VHOST, "Root directory of the document tree", "htdocs"
)
def _document_root(cmd: Cmd, path: str) -> None:
    full = cmd.path(path)
    if not os.path.isdir(full) and "__SKIP_DOCROOT_CHECK" not in cmd.config.defines:
        cmd.warn(f"AH00112: Warning: DocumentRoot [{full}] does not exist")
    cmd.server.document_root = full


@directive("ServerName", Syntax.TAKE1, SERVER_VHOST, "The hostname and port of the server")
def _server_name(cmd: Cmd, value: str) -> None:
    name, port = value, 0
    if "://" in name:
        name = name.split("://", 1)[1]
    if name.startswith("["):
        host, _, rest = name[1:].partition("]")
        name, port = host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 0
    elif name.count(":") == 1:
        name, _, p = name.partition(":")
        if not p.isdigit():
            raise cmd.error(
                f'The port number "{p}" is outside the appropriate range (i.e., 1..65535).'
            )
        port = int(p)
    cmd.server.server_name = name
    cmd.server.port = port


@directive(
    "ServerAlias",
    Syntax.ITERATE,
    SERVER_VHOST,
    "A name or names alternately used to access the server",
)
def _server_alias(cmd: Cmd, *names: str) -> None:
    if not cmd.server.is_virtual:
        raise cmd.error("ServerAlias only used in <VirtualHost>")
    cmd.server.server_aliases.extend(names)


@directive(
    "ServerAdmin", Syntax.TAKE1, SERVER_VHOST, "The email address of the server administrator"
)
def _server_admin(cmd: Cmd, value: str) -> None:
    cmd.server.server_admin = value


@directive(
    "ServerTokens",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Determine tokens displayed in the Server: header - Min(imal), Major, Minor, Prod(uctOnly), OS, or Full",
    "Full",
)
def _server_tokens(cmd: Cmd, value: str) -> None:
    names = {
        "min": "Minimal",
        "minimal": "Minimal",
        "major": "Major",
        "minor": "Minor",
        "prod": "Prod",
        "productonly": "Prod",
        "os": "OS",
        "full": "Full",
    }
    if value.lower() not in names:
        raise cmd.error(
            "ServerTokens takes 1 argument: 'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', or 'Full'"
        )
    cmd.config.server_tokens = names[value.lower()]


@directive(
    "ServerSignature", Syntax.TAKE1, ANYWHERE, "En-/disable server signature (on|off|email)", "Off"
)
def _server_signature(cmd: Cmd, value: str) -> None:
    v = value.lower()
    if v not in ("on", "off", "email"):
        raise cmd.error("ServerSignature: use one of: off | on | email")
    core_dir(cmd).server_signature = {"on": "On", "off": "Off", "email": "EMail"}[v]


@directive(
    "UseCanonicalName",
    Syntax.TAKE1,
    ANYWHERE,
    "How to work out the ServerName : Port when constructing URLs",
    "Off",
)
def _use_canonical_name(cmd: Cmd, value: str) -> None:
    mode = {"on": "On", "off": "Off", "dns": "DNS"}.get(value.lower())
    if mode is None:
        raise cmd.error("parameter must be 'on', 'off', or 'dns'")
    core_dir(cmd).use_canonical_name = mode


@directive(
    "UseCanonicalPhysicalPort",
    Syntax.FLAG,
    ANYWHERE,
    "Whether to use the physical Port when constructing URLs",
    "Off",
)
def _use_canonical_physical_port(cmd: Cmd, value: str) -> None:
    core_dir(cmd).use_canonical_phys_port = parse_flag(value)


# -- the name and port the server calls itself by (httpd's ap_get_server_name, _port) ----------

# a Host field that is a plain host[:port]: anything else is never echoed into a URL
_PLAIN_HOST: Final = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(?::(\d{1,5}))?")
_host_parts: Final[dict[str, tuple[str, int]]] = {}
_local_names: Final[dict[str, str]] = {}
_REMEMBERED: Final = 256


def host_parts(host: str) -> tuple[str, int]:
    """A Host field -> (name, port) as httpd's fix_hostname leaves them: lower case, no
    final dot, an IPv6 address in brackets, port 0 when none is given; ("", 0) for a
    field that is not a plain host[:port]. Remembered: clients repeat it."""
    parts = _host_parts.get(host)
    if parts is None:
        found = _PLAIN_HOST.fullmatch(host)
        if found is None:
            parts = ("", 0)
        else:
            port_text = found.group(1)
            name = host[: len(host) - len(port_text) - 1] if port_text else host
            name = name.lower()
            if name.endswith(".") and len(name) > 1:
                name = name[:-1]
            parts = (name, int(port_text) if port_text else 0)
        if len(_host_parts) >= _REMEMBERED:
            _host_parts.clear()
        _host_parts[host] = parts
    return parts


def self_name_and_port(
    req: Request, host: str | None = None, for_url: bool = True
) -> tuple[str, int]:
    """The name and port the server calls itself by for ``req``: httpd's
    ap_get_server_name (with ``for_url``, ap_get_server_name_for_url: an IPv6 address in
    brackets) and ap_get_server_port. ``host``: the request's Host field, when the caller
    has it at hand (else it is looked up).

    The name, by UseCanonicalName: Off (the default), the host the client asked for, else
    ServerName; On, ServerName; DNS, the local address's name by reverse lookup (once
    per address and process), else ServerName. The port: with Off or DNS, the Host
    field's, else ServerName's, else 80; with On, ServerName's, else 80.
    UseCanonicalPhysicalPort On puts the port the connection came to before
    ServerName's (Off) or before 80 (On).
    """
    core = _core_dir(req)
    server = req.server
    mode = core.use_canonical_name
    name = ""
    port = 0
    if mode != "On":
        if host is None:
            host = req.host
        if host:
            name, port = host_parts(host)  # an IPv6 address in brackets, as sent
        if mode == "DNS":
            name = _local_name(req.conn.local_ip)
    if not port:
        physical = req.conn.local_port if core.use_canonical_phys_port else 0
        first, second = (server.port, physical) if mode == "On" else (physical, server.port)
        port = first or second or 80
    if not name:
        name = server.server_name or req.conn.local_ip  # an IPv6 address bare
        return (f"[{name}]" if for_url and ":" in name else name), port
    return (name if for_url or name[0] != "[" else name[1:-1]), port


def _core_dir(req: Request) -> CoreDir:
    """The request's core per-directory configuration; before its directory is known
    (a Redirect, at translate_name), the server's, as httpd's lookup_defaults."""
    conf: CoreDir = req.dir.get("core_module") or req.server.dir_defaults["core_module"]
    return conf


def _local_name(ip: str) -> str:
    """UseCanonicalName DNS: the local address's host name, lower case ("" if none)."""
    name = _local_names.get(ip)
    if name is None:
        try:
            name = socket.getnameinfo((ip, 0), socket.NI_NAMEREQD)[0].lower()
        except (OSError, UnicodeError):
            name = ""
        if len(_local_names) >= _REMEMBERED:
            _local_names.clear()
        _local_names[ip] = name
    return name


def _positive_int(cmd: Cmd, name: str, value: str, allow_zero: bool = True) -> int:
    try:
        n = int(value)
    except ValueError:
        raise cmd.error(f"{name} argument is not parsable.") from None
    if n < 0 or (n == 0 and not allow_zero):
        raise cmd.error(f"{name} argument must be a positive integer")
    return n


def _request_limit(cmd: Cmd, name: str, value: str) -> int:
    """LimitRequestLine/FieldSize/Fields: a non-negative integer, with httpd's message."""
    if not (value.isascii() and value.isdigit()):
        raise cmd.error(f'{name} "{value}" must be a non-negative integer')
    return int(value)


def _seconds(cmd: Cmd, name: str, value: str) -> float:
    text = value.lower()
    scale = 1.0
    if text.endswith("ms"):
        text, scale = text[:-2], 0.001
    elif text.endswith("s"):
        text = text[:-1]
    try:
        seconds = float(text) * scale
    except ValueError:
        raise cmd.error(f"{name} argument is not a valid number of seconds") from None
    if not math.isfinite(seconds):
        raise cmd.error(f"{name} argument is not a valid number of seconds")
    if seconds < 0:
        raise cmd.error(f"{name} argument must be a positive number of seconds")
    return seconds


@directive("Timeout", Syntax.TAKE1, SERVER_VHOST, "Timeout duration (sec)", "60")
def _timeout(cmd: Cmd, value: str) -> None:
    cmd.server.timeout = _seconds(cmd, "Timeout", value)


@directive(
    "KeepAlive",
    Syntax.FLAG,
    SERVER_VHOST,
    "Whether persistent connections should be On or Off",
    "On",
)
def _keep_alive(cmd: Cmd, value: str) -> None:
    cmd.server.keep_alive = parse_flag(value)


@directive("KeepAliveTimeout", Syntax.TAKE1, SERVER_VHOST, "Keep-Alive timeout duration (sec)", "5")
def _keep_alive_timeout(cmd: Cmd, value: str) -> None:
    cmd.server.keep_alive_timeout = _seconds(cmd, "KeepAliveTimeout", value)


@directive(
    "MaxKeepAliveRequests",
    Syntax.TAKE1,
    SERVER_VHOST,
    "Maximum number of Keep-Alive requests per connection, or 0 for infinite",
    "100",
)
def _max_keep_alive_requests(cmd: Cmd, value: str) -> None:
    cmd.server.max_keep_alive_requests = _positive_int(cmd, "MaxKeepAliveRequests", value)


@directive(
    "LimitRequestLine",
    Syntax.TAKE1,
    SERVER_VHOST,
    "Limit on maximum size of an HTTP request line",
    "8190",
)
def _limit_request_line(cmd: Cmd, value: str) -> None:
    n = _request_limit(cmd, "LimitRequestLine", value)
    if n == 0:
        raise cmd.error('LimitRequestLine "0" must be a positive integer')
    cmd.server.limit_request_line = n


@directive(
    "LimitRequestFieldSize",
    Syntax.TAKE1,
    SERVER_VHOST,
    "Limit on maximum size of an HTTP request header field",
    "8190",
)
def _limit_request_field_size(cmd: Cmd, value: str) -> None:
    cmd.server.limit_request_field_size = _request_limit(cmd, "LimitRequestFieldSize", value)


@directive(
    "LimitRequestFields",
    Syntax.TAKE1,
    SERVER_VHOST,
    "Limit (0 = unlimited) on max number of header fields in a request message",
    "100",
)
def _limit_request_fields(cmd: Cmd, value: str) -> None:
    n = _request_limit(cmd, "LimitRequestFields", value)
    cmd.server.limit_request_fields = n if n else 1 << 30


@directive(
    "LimitRequestBody",
    Syntax.TAKE1,
    ANYWHERE,
    "Limit (in bytes) on maximum size of request message body",
    "1073741824",
)
def _limit_request_body(cmd: Cmd, value: str) -> None:
    try:
        n = int(value)
    except ValueError:
        raise cmd.error("LimitRequestBody argument is not parsable.") from None
    if n < 0:
        raise cmd.error("LimitRequestBody requires a non-negative integer.")
    core_dir(cmd).limit_request_body = n if n else 1 << 62


@directive(
    "Options",
    Syntax.RAW_ARGS,
    ANYWHERE,
    "Set a number of attributes for a given directory",
    "FollowSymlinks",
)
def _options(cmd: Cmd, text: str) -> None:
    conf = core_dir(cmd)
    words = split_args(text)
    if not words:
        raise cmd.error("Options requires at least one argument")
    relative = [w[:1] in ("+", "-") for w in words]
    if any(relative) and not all(relative) and not (len(words) == 1 and words[0].lower() == "none"):
        raise cmd.error("Either all Options must start with + or -, or no Option may.")
    absolute = 0
    for w in words:
        sign = w[:1] if w[:1] in ("+", "-") else ""
        name = w[1:] if sign else w
        if name.lower() == "none":
            if sign:
                raise cmd.error(f"Illegal option {w}")
            continue  # adds no option: "Options None Indexes" is Indexes, as httpd
        bit = OPTION_NAMES.get(name.lower())
        if bit is None:
            raise cmd.error(f"Illegal option {name}")
        # +/- also change an absolute Options set earlier in the same section (httpd's set_options)
        if sign == "+":
            conf.options_add |= bit
            conf.options_remove &= ~bit
            if conf.options is not None:
                conf.options |= bit
        elif sign == "-":
            conf.options_remove |= bit
            conf.options_add &= ~bit
            if conf.options is not None:
                conf.options &= ~bit
        else:
            absolute |= bit
    if not any(relative):
        conf.options, conf.options_add, conf.options_remove = absolute, 0, 0


@directive(
    "AllowOverride",
    Syntax.RAW_ARGS,
    DIRECTORY_ONLY,
    "Controls what groups of directives can be configured by per-directory config files",
    "None",
)
def _allow_override(cmd: Cmd, text: str) -> None:
    if cmd.section is None or cmd.section.kind != "directory" or cmd.section.regex is not None:
        raise cmd.error("AllowOverride not allowed here")
    words = split_args(text)
    if [w.lower() for w in words] != ["none"]:
        # .htaccess files are never read (AllowOverride None is the only mode, by design)
        raise cmd.error("AllowOverride: only 'None' is supported: mpmd never reads .htaccess files")
    core_dir(cmd).allow_override = "None"


@directive(
    "SetHandler",
    Syntax.TAKE1,
    ANYWHERE,
    "A handler name that overrides any other configured handler",
    "none",
)
def _set_handler(cmd: Cmd, value: str) -> None:
    conf = core_dir(cmd)
    conf.handler_cleared = value.lower() == "none"
    conf.handler = None if conf.handler_cleared else value.lower()


@directive("ForceType", Syntax.TAKE1, ANYWHERE, "A mime type that overrides other configured type")
def _force_type(cmd: Cmd, value: str) -> None:
    conf = core_dir(cmd)
    conf.force_type_cleared = value.lower() == "none"
    conf.force_type = None if conf.force_type_cleared else value


@directive(
    "AddDefaultCharset",
    Syntax.TAKE1,
    ANYWHERE,
    "The name of the default charset to add to any Content-Type without one or 'Off' to disable",
    "Off",
)
def _add_default_charset(cmd: Cmd, value: str) -> None:
    v = value.lower()
    core_dir(cmd).add_default_charset = "" if v == "off" else ("iso-8859-1" if v == "on" else value)


@directive(
    "EnableSendfile",
    Syntax.FLAG,
    ANYWHERE,
    "Controls whether sendfile may be used to transmit files",
    "On",
)
def _enable_sendfile(cmd: Cmd, value: str) -> None:
    core_dir(cmd).enable_sendfile = parse_flag(value)


@directive(
    "FileETag",
    Syntax.RAW_ARGS,
    ANYWHERE,
    "Specify components used to construct a file's ETag",
    "MTime Size",
)
def _file_etag(cmd: Cmd, text: str) -> None:
    words = [w.lower() for w in split_args(text)]
    allowed = {"inode", "mtime", "size", "all", "none"}
    parts: list[str] = []
    for w in words:
        name = w.lstrip("+-")
        if name not in allowed:
            raise cmd.error(f"Unknown keyword '{w}' for FileETag directive")
        if name == "none":
            parts = []
        elif name == "all":
            parts = ["inode", "mtime", "size"]
        elif w.startswith("-"):
            parts = [p for p in parts or ["mtime", "size"] if p != name]
        elif name not in parts:
            parts.append(name)
    core_dir(cmd).file_etag = tuple(p for p in ("inode", "mtime", "size") if p in parts)


@directive("ErrorDocument", Syntax.RAW_ARGS, ANYWHERE, "Change responses for HTTP errors")
def _error_document(cmd: Cmd, text: str) -> None:
    words = text.split(None, 1)
    if len(words) != 2:
        raise cmd.error("ErrorDocument takes two arguments, Change responses for HTTP errors")
    code_text, what = words
    if not code_text.isdigit() or not 400 <= int(code_text) <= 599:
        raise cmd.error(f"Unsupported HTTP response code {code_text}")
    what = what.strip()
    if what.startswith('"'):
        what = what[1:-1] if what.endswith('"') and len(what) > 1 else what[1:]
        what = '"' + what  # a leading quote marks a literal message, as httpd
    elif what.lower() == "default":
        what = ""
    core_dir(cmd).error_documents[int(code_text)] = what


@directive(
    "TraceEnable",
    Syntax.TAKE1,
    SERVER_ONLY,
    "'on' (default), 'off' or 'extended' to trace request body content",
    "on",
)
def _trace_enable(cmd: Cmd, value: str) -> None:
    if value.lower() not in ("on", "off", "extended"):
        raise cmd.error("TraceEnable must be one of 'on', 'off', or 'extended'")
    cmd.config.trace_enable = value.lower() != "off"


@directive(
    "HostnameLookups",
    Syntax.TAKE1,
    ANYWHERE,
    '"on" to enable, "off" to disable reverse DNS lookups, or "double" to enable double-reverse DNS lookups',
    "Off",
)
def _hostname_lookups(cmd: Cmd, value: str) -> None:
    v = value.lower()
    if v not in ("on", "off", "double"):
        raise cmd.error("parameter must be 'on', 'off', or 'double'")
    if v != "off":
        raise cmd.error(
            "HostnameLookups: only Off is supported (reverse DNS on the request path is not done)"
        )


@directive(
    "Listen",
    Syntax.TAKE12,
    SERVER_ONLY,
    "A port number or a numeric IP address and a port number, and an optional protocol",
)
def _listen(cmd: Cmd, address: str, proto: str | None = None) -> None:
    host, port = parse_host_port(cmd, address)
    for existing in cmd.config.listeners:
        if (existing.host, existing.port) == (host, port):
            raise cmd.error("Cannot define multiple Listeners on the same IP:port")
    if proto is None:
        proto = "https" if port == 443 else "http"  # httpd's default protocol names
    cmd.config.listeners.append(Listener(host, port, proto.lower()))


@directive(
    "AcceptFilter",
    Syntax.TAKE2,
    SERVER_ONLY,
    "Configures optimizations for a Protocol's Listener Sockets",
)
def _accept_filter(cmd: Cmd, proto: str, accept_filter: str) -> None:
    cmd.config.accept_filters[proto.lower()] = accept_filter


@directive(
    "ScoreBoardFile",
    Syntax.TAKE1,
    SERVER_ONLY,
    "A file for Apache to maintain runtime process management information",
)
def _scoreboard_file(cmd: Cmd, value: str) -> None:
    cmd.config.scoreboard_file = cmd.path(value)


@directive(
    "GracefulShutdownTimeout",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum time in seconds to wait for child processes to complete transactions during shutdown",
    "0",
)
def _graceful_shutdown_timeout(cmd: Cmd, value: str) -> None:
    cmd.config.graceful_shutdown_timeout = float(
        _positive_int(cmd, "GracefulShutdownTimeout", value)
    )


@directive(
    "ListenBacklog",
    Syntax.TAKE1,
    SERVER_ONLY,
    "Maximum length of the queue of pending connections, as used by listen(2)",
    "511",
)
def _listen_backlog(cmd: Cmd, value: str) -> None:
    n = _positive_int(cmd, "ListenBacklog", value)
    if n == 0:
        raise cmd.error("ListenBacklog must be > 0")
    cmd.config.listen_backlog = n


@directive(
    "PidFile",
    Syntax.TAKE1,
    SERVER_ONLY,
    "A file for logging the server process ID",
    "logs/mpmd.pid",
)
def _pid_file(cmd: Cmd, value: str) -> None:
    cmd.config.pid_file = value


@directive(
    "ErrorLog", Syntax.TAKE1, SERVER_VHOST, "The filename of the error log", "logs/error_log"
)
def _error_log(cmd: Cmd, value: str) -> None:
    if value.startswith("|"):
        raise cmd.error("ErrorLog: piped logs are not supported yet; log to a file or /dev/stderr")
    cmd.server.error_log = value if value.startswith("syslog") else cmd.path(value)


@directive("LogLevel", Syntax.ITERATE, SERVER_VHOST, "Level of verbosity in error logging", "warn")
def _log_level(cmd: Cmd, *words: str) -> None:
    for w in words:
        module, _, level = w.rpartition(":")
        if level.lower() not in LEVELS:
            raise cmd.error(
                "Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/trace1/.../trace8"
            )
        if module:
            if not module_is_loaded(cmd, module):
                raise cmd.error(f"Cannot find module '{module}'")
            base = module.removesuffix(".c").removeprefix("mod_").removesuffix("_module")
            cmd.server.module_log_levels[base + "_module"] = LEVELS[level.lower()]
        else:
            cmd.server.log_level = LEVELS[level.lower()]
            cmd.server.given.add("loglevel-level")  # not only a module's level


@directive(
    "Define",
    Syntax.TAKE12,
    SERVER_VHOST,
    "Define a variable, optionally to a value.  Same as passing -D to the command line.",
)
def _define(cmd: Cmd, name: str, value: str = "") -> None:
    if "$" in name or ":" in name:
        raise cmd.error("Variable name must not contain ':' or '$'")
    cmd.config.defines[name] = value


@directive(
    "UnDefine", Syntax.TAKE1, SERVER_VHOST, "Undefine the existence of a variable. Undo a Define."
)
def _undefine(cmd: Cmd, name: str) -> None:
    cmd.config.defines.pop(name, None)


@directive(
    "Include",
    Syntax.TAKE1,
    ANYWHERE,
    "Name(s) of the config file(s) to be included; fails if the wildcard does not match at least one file",
)
def _include(cmd: Cmd, pattern: str) -> None:
    cmd.loader.include(cmd, pattern, optional=False)


@directive(
    "IncludeOptional",
    Syntax.TAKE1,
    ANYWHERE,
    "Name or pattern of the config file(s) to be included; ignored if the file does not exist or the pattern does not match any files",
)
def _include_optional(cmd: Cmd, pattern: str) -> None:
    cmd.loader.include(cmd, pattern, optional=True)


@directive("Mutex", Syntax.ITERATE, SERVER_ONLY, 'mutex (or "default") and mechanism')
def _mutex(cmd: Cmd, *args: str) -> None:
    """Accepted so that copied Apache configs load; mpmd chooses its own mechanisms."""


class CoreModule(Module):
    name = "core_module"
    source = "core.c"
    static = True
    directives = (
        _server_root, _document_root, _server_name, _server_alias, _server_admin,
        _server_tokens, _server_signature, _use_canonical_name, _use_canonical_physical_port,
        _timeout, _keep_alive, _keep_alive_timeout,
        _max_keep_alive_requests, _limit_request_line, _limit_request_field_size,
        _limit_request_fields, _limit_request_body, _options, _allow_override,
        _set_handler, _force_type, _add_default_charset, _enable_sendfile, _file_etag,
        _error_document, _trace_enable, _hostname_lookups, _listen, _accept_filter, _listen_backlog,
        _pid_file, _scoreboard_file, _graceful_shutdown_timeout, _error_log, _log_level, _define, _undefine, _include,
        _include_optional, _mutex, *SECTIONS,
    )  # fmt: skip
    hook_order = {"translate_name": LAST, "handler": REALLY_LAST}

    def create_dir_config(self) -> CoreDir:
        return CoreDir()

    def merge_dir_config(self, base: CoreDir, add: CoreDir) -> CoreDir:
        return merge_core_dir(base, add)

    def translate_name(self, req: Request) -> bool | None:
        """DocumentRoot + the decoded URL path (Apache's ap_core_translate)."""
        root = req.server.document_root
        if not root:
            return None
        req.filename = root.rstrip("/") + req.path
        return True

    def handler(self, req: Request) -> bool | None:
        """httpd's default handler: a file from disk (static.py), when no other handler is set."""
        if req.handler is not None and req.handler != "default-handler":
            return None
        return default_handler(req)


class HttpModule(Module):
    """http_module: the HTTP protocol itself (no directives of its own, as in httpd)."""

    name = "http_module"
    source = "http_core.c"
    static = True


def validate(config: Any) -> None:
    """Whole-configuration checks after reading (httpd's post-read checks)."""
    if not config.listeners:
        raise ConfigError(
            "AH00534: mpmd: Configuration error: No listening sockets available, shutting down"
        )
