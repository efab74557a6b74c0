"""wsgi_module: WSGI applications (PEP 3333), mounted with mod_wsgi's WSGIScriptAlias or WSGIApp.

``WSGIScriptAlias /url /path/app.wsgi`` runs the file and serves its
``application``; ``WSGIApp /url package.module:callable`` imports the
callable (with the current directory and ``WSGIPythonPath`` on sys.path,
as gunicorn and mod_wsgi do). The longest mount matching a URL wins;
``Alias`` is consulted first, as with mod_wsgi.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Final

from mpmd.config.registry import MIDDLE, SERVER_ONLY, SERVER_VHOST, Module, Syntax, directive
from mpmd.http.body import EMPTY, Body
from mpmd.http.errors import HttpError
from mpmd.http.response import wsgi_status_line
from mpmd.log.levels import ERROR
from mpmd.modules.core import self_name_and_port

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config
    from mpmd.http.request import Request

WsgiApp = Callable[..., Iterable[bytes]]
HANDLER: Final = "wsgi-script"


@dataclass(eq=False)
class Mount:
    """One mounted application: where (URL prefix) and what (a file or an import path)."""

    prefix: str  # without trailing slash; "" for the root
    target: str  # a file path (script) or "module:callable"
    is_script: bool
    app: WsgiApp | None = None
    error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def matches(self, path: str) -> bool:
        p = self.prefix
        return not p or path == p or path.startswith(p + "/")

    def load(self) -> WsgiApp:
        """Import the application once (thread-safe); raise on failure."""
        app = self.app
        if app is not None:
            return app
        with self.lock:
            if self.app is None:
                self.app = (
                    load_script(self.target) if self.is_script else load_callable(self.target)
                )
            return self.app


def load_callable(spec: str) -> WsgiApp:
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    obj: Any = module
    for part in (attr or "application").split("."):
        obj = getattr(obj, part)
    if not callable(obj):
        raise TypeError(f"{spec} is not callable")
    return obj


def load_script(path: str) -> WsgiApp:
    """mod_wsgi's way: run the file as a module of its own and take its ``application``."""
    name = "_mpmd_wsgi_" + "".join(c if c.isalnum() else "_" for c in path)
    module = ModuleType(name)
    module.__file__ = path
    with open(path, "rb") as f:
        code = compile(f.read(), path, "exec")
    sys.modules[name] = module
    exec(code, module.__dict__)
    app = module.__dict__.get("application")
    if app is None or not callable(app):
        raise LookupError(
            f"Target WSGI script '{path}' does not contain WSGI application 'application'."
        )
    return app


@dataclass
class WsgiServerConf:
    mounts: list[Mount] = field(default_factory=list)
    python_path: list[str] = field(default_factory=list)


def _normal_prefix(url: str) -> str:
    return url.rstrip("/")


@directive(
    "WSGIScriptAlias", Syntax.ITERATE2, SERVER_VHOST, "Map location to target WSGI script file"
)
def _script_alias(cmd: Cmd, url: str, path: str, *options: str) -> None:
    for option in options:
        if "=" not in option:
            raise cmd.error(f"Invalid option to WSGI script alias definition: {option}")
    full = cmd.path(path)
    conf: WsgiServerConf = cmd.server_conf("wsgi_module")
    conf.mounts.append(Mount(_normal_prefix(url), full, is_script=True))


@directive(
    "WSGIApp",
    Syntax.TAKE2,
    SERVER_VHOST,
    "Mount a WSGI callable given as package.module:callable at a URL path",
)
def _app(cmd: Cmd, url: str, spec: str) -> None:
    module_name, _, attr = spec.partition(":")
    if not module_name or not all(p.isidentifier() for p in module_name.split(".")):
        raise cmd.error(f"WSGIApp: '{spec}' is not of the form package.module:callable")
    if attr and not all(p.isidentifier() for p in attr.split(".")):
        raise cmd.error(f"WSGIApp: '{attr}' is not a valid callable name")
    conf: WsgiServerConf = cmd.server_conf("wsgi_module")
    conf.mounts.append(Mount(_normal_prefix(url), spec, is_script=False))


@directive(
    "WSGIPythonPath",
    Syntax.ITERATE,
    SERVER_ONLY,
    "Additional directories to search for Python modules (separated by ':')",
)
def _python_path(cmd: Cmd, *paths: str) -> None:
    conf: WsgiServerConf = cmd.server_conf("wsgi_module")
    for p in paths:
        conf.python_path.extend(cmd.path(x) for x in p.split(os.pathsep) if x)


class ErrorStream:
    """``wsgi.errors``: each line the app writes becomes one error-log entry."""

    __slots__ = ("_buf", "req")

    def __init__(self, req: Request) -> None:
        self.req = req
        self._buf = ""

    def write(self, text: str) -> int:
        self._buf += text
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            self.req.log(ERROR, line, "wsgi")
        return len(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._buf:
            self.req.log(ERROR, self._buf, "wsgi")
            self._buf = ""


class FileWrapper:
    """``wsgi.file_wrapper``: a file the server may send with sendfile."""

    def __init__(self, filelike: Any, blksize: int = 8192) -> None:
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self) -> FileWrapper:
        return self

    def __next__(self) -> bytes:
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


_header_keys: Final[dict[bytes, str | None]] = {}


def environ_key(name: bytes) -> str | None:
    """``User-Agent`` -> ``HTTP_USER_AGENT``, cached; None for names httpd drops (underscores)."""
    key = _header_keys.get(name)
    if key is None and name not in _header_keys:
        text = name.decode("latin-1").upper()
        if "_" in text:
            key = None  # httpd drops these: "X_Forwarded" would pass for X-Forwarded
        elif text == "CONTENT-TYPE" or text == "CONTENT-LENGTH":
            key = text.replace("-", "_")
        else:
            key = "HTTP_" + text.replace("-", "_")
        if len(_header_keys) < 4096:
            _header_keys[name] = key
    return key


# Statuses and headers an app sent before, already checked: apps send the same
# few on every response. Cleared when full.
_statuses: Final[dict[str, tuple[int, bytes]]] = {}  # "200 OK" -> (200, its status line)
_checked: Final[dict[tuple[str, str], bool]] = {}  # a valid header -> is it Content-Length?
CHECKED_LIMIT: Final = 512


def check_status(status: str) -> tuple[int, bytes]:
    """A WSGI status -> (code, status line); ValueError if it is not "NNN reason"."""
    if (
        len(status) < 4
        or not status[:3].isdigit()
        or status[3] != " "
        or "\n" in status  # CR/LF would let the app (or its user's input) inject headers
        or "\r" in status
    ):
        raise ValueError(f"Invalid status line from WSGI application: {status!r}")
    known = (int(status[:3]), wsgi_status_line(status))
    if len(_statuses) >= CHECKED_LIMIT:
        _statuses.clear()
    _statuses[status] = known
    return known


def check_header(header: Any) -> bool:
    """Raise if a response header is not two str without CR, LF (or a colon in the name);
    True if it is Content-Length."""
    name, value = header
    if type(name) is not str or type(value) is not str:
        raise TypeError(f"WSGI header {name!r}: {value!r} must be str")
    if "\n" in value or "\r" in value or "\n" in name or "\r" in name or ":" in name:
        raise ValueError(f"Invalid WSGI response header {name!r}")
    is_length = len(name) == 14 and name.lower() == "content-length"
    if type(header) is tuple:
        if len(_checked) >= CHECKED_LIMIT:
            _checked.clear()
        _checked[header] = is_length
    return is_length


# SERVER_PORT's text for the usual ports: one lookup, not a conversion per request
_PORTS: Final[dict[int, str]] = {port: str(port) for port in (80, 443, 8000, 8080, 8443)}

# what environ() sets for every request (base environs hold them as placeholders)
_REQUEST_KEYS: Final = [
    "REQUEST_METHOD",
    "PATH_INFO",
    "QUERY_STRING",
    "REQUEST_URI",
    "SERVER_PROTOCOL",
    "REMOTE_ADDR",
    "REMOTE_PORT",
    "wsgi.input",
    "wsgi.errors",
    "SERVER_NAME",
    "SERVER_PORT",
]


class WsgiResponse:
    """One call of an application: start_response, write(), and the body it returns."""

    __slots__ = ("code", "has_length", "headers", "line", "req", "status")

    def __init__(self, req: Request) -> None:
        self.req = req
        self.status: str | None = None
        self.code = 0
        self.line = b""
        self.headers: list[tuple[str, str]] = []
        self.has_length = False

    def start_response(
        self,
        status: Any,
        headers: Any,
        exc_info: Any = None,
    ) -> Callable[[bytes], None]:
        """The app's arguments are checked here, not by their annotations (compiled, those
        would raise a TypeError of their own before the app's error could be reported)."""
        if exc_info is not None:
            try:
                if self.req.head_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        if type(status) is not str:
            raise ValueError(f"Invalid status line from WSGI application: {status!r}")
        self.code, self.line = _statuses.get(status) or check_status(status)
        self.status = status
        if type(headers) is not list:
            headers = list(headers)  # PEP 3333 asks for a list: take any iterable, once
        has_length = False
        exact = True
        checked = _checked
        header: Any
        for header in headers:
            try:
                is_length = checked[header]
            except (KeyError, TypeError):  # not seen yet, or a list (unhashable)
                is_length = check_header(header)
                exact = exact and type(header) is tuple
            if is_length:
                has_length = True
        # a list of tuples, as PEP 3333 asks: one with lists in it is copied
        self.headers = headers if exact else [(name, value) for name, value in headers]
        self.has_length = has_length
        return self.write

    def _start(self, content_length: int | None) -> None:
        if self.status is None:
            raise AssertionError("WSGI application sent a body before calling start_response")
        req = self.req
        req.conn.start_response(req, self.code, self.line, self.headers, content_length)

    def write(self, data: Any) -> None:
        if type(data) is not bytes:
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise TypeError(f"WSGI application yielded {type(data).__name__}, not bytes")
            data = bytes(data)
        req = self.req
        if not req.head_sent:
            self._start(None)
        if self.has_length:
            data = self._clip(data)
        req.write(data)

    def _clip(self, data: bytes) -> bytes:
        """PEP 3333: send no more than the app's Content-Length (the rest would be read
        as the next response on a keep-alive connection)."""
        req = self.req
        left = (req.content_length_out or 0) - req.bytes_sent
        return data if len(data) <= left else data[: max(left, 0)]

    def send_single(self, body: Any) -> None:
        """A one-item body: send head and body in one write with an exact Content-Length."""
        if type(body) is not bytes:
            self.write(body)
            return
        req = self.req
        if self.has_length:  # the app's own Content-Length is the one that goes out
            if not req.head_sent:
                self._start(None)
            body = self._clip(body)
        elif not req.head_sent:
            self._start(len(body))
        if body and not req.no_body:
            req.conn.write_body(req, body)

    def send_file(self, wrapper: FileWrapper) -> bool:
        """Send a wsgi.file_wrapper whose file has a descriptor with sendfile; False if it can't."""
        filelike = wrapper.filelike
        try:
            fd = filelike.fileno()
            offset = filelike.tell() if hasattr(filelike, "tell") else 0
            size = os.fstat(fd).st_size
        except (AttributeError, OSError, ValueError):
            return False
        count = max(size - offset, 0)
        req = self.req
        if not req.head_sent:
            length = None
            for name, value in self.headers:
                if name.lower() == "content-length" and value.strip().isdigit():
                    length = int(value)
            if length is not None:
                count = min(count, length)
            self._start(length if length is not None else count)
        req.sendfile(fd, offset, count)
        return True


class WsgiModule(Module):
    name = "wsgi_module"
    source = "mod_wsgi.c"
    directives = (_script_alias, _app, _python_path)
    hook_order = {"translate_name": MIDDLE}

    def create_server_config(self) -> WsgiServerConf:
        return WsgiServerConf()

    def post_config(self, config: Config) -> None:
        main: WsgiServerConf = config.main.module_conf[self.name]
        for path in reversed(["", *main.python_path]):
            entry = path or os.getcwd()
            if entry not in sys.path:
                sys.path.insert(0, entry)
        self._mounts: dict[int, list[Mount]] = {}
        for server in [config.main, *config.vhosts]:
            conf: WsgiServerConf = server.module_conf[self.name]
            mounts = conf.mounts if conf.mounts or not server.is_virtual else main.mounts
            # the longest prefix first: /hello is found before /
            self._mounts[id(server)] = sorted(mounts, key=lambda m: len(m.prefix), reverse=True)
        self._bases: dict[tuple[int, int], dict[str, Any]] = {}
        for mounts in self._mounts.values():
            for m in mounts:
                self._preload(m, config)

    def _preload(self, mount: Mount, config: Config) -> None:
        """Import at start-up so a broken app is reported at once (it is retried per request)."""
        if mount.app is not None:
            return
        try:
            mount.load()
        except Exception as e:
            import traceback

            mount.error = f"{e!r}"
            config.warnings.append(
                f"MP00010: Failed to load WSGI application {mount.target} for URL "
                f"'{mount.prefix or '/'}': {e!r}\n{traceback.format_exc()}"
            )

    def translate_name(self, req: Request) -> bool | None:
        if req.filename is not None:
            return None  # an Alias got there first
        mounts = self._mounts.get(id(req.server))
        if not mounts:
            return None
        path = req.path
        for mount in mounts:
            if mount.matches(path):
                req.handler = HANDLER
                req.notes["wsgi_mount"] = mount
                req.path_info = path[len(mount.prefix) :]
                if mount.is_script:
                    req.filename = mount.target
                return True
        return None

    def _base_environ(self, req: Request, mount: Mount) -> dict[str, Any]:
        """The keys that are the same for every request to this mount from this process."""
        key = (id(req.server), id(mount))
        base = self._bases.get(key)
        if base is None:
            site = req.conn.site
            server = req.server
            base = {
                "SCRIPT_NAME": mount.prefix,
                "SERVER_SOFTWARE": site.banner,
                "GATEWAY_INTERFACE": "CGI/1.1",
                "wsgi.version": (1, 0),
                "wsgi.url_scheme": "http",
                "wsgi.multithread": site.multithread,
                "wsgi.multiprocess": site.multiprocess,
                "wsgi.run_once": False,
                "wsgi.input_terminated": True,
                "wsgi.file_wrapper": FileWrapper,
            }
            if mount.is_script:
                base["SCRIPT_FILENAME"] = mount.target
            if server.document_root:
                base["DOCUMENT_ROOT"] = server.document_root
            # the keys environ() sets on every request, as placeholders: the copy of a dict
            # that has them is written in place, where adding them grew it (and rehashed)
            for name in _REQUEST_KEYS:
                base[name] = ""
            self._bases[key] = base
        return base

    def environ(self, req: Request, mount: Mount) -> dict[str, Any]:
        conn = req.conn
        base = self._bases.get((id(req.server), id(mount))) or self._base_environ(req, mount)
        environ = base.copy()
        environ["REQUEST_METHOD"] = req.method
        environ["PATH_INFO"] = req.path_info
        environ["QUERY_STRING"] = req.query
        environ["REQUEST_URI"] = req.target
        environ["SERVER_PROTOCOL"] = req.version
        environ["REMOTE_ADDR"] = conn.client_ip
        environ["REMOTE_PORT"] = str(conn.client_port)
        # the body, or when all of it has arrived and it is empty, the one shared empty input
        environ["wsgi.input"] = EMPTY if req.body_done and not req.body_chunks else Body(req)
        environ["wsgi.errors"] = ErrorStream(req)
        for name, value in req.header_list:
            key = environ_key(name)
            if key is None:
                continue
            text = value.decode("latin-1")
            if key in environ:
                # httpd (apr_table_merge, hence mod_wsgi) joins repeated fields with ", "
                text = environ[key] + ", " + text
            environ[key] = text
        # as httpd's: UseCanonicalName Off (the default) gives what the client asked for
        self_name, self_port = self_name_and_port(req, environ.get("HTTP_HOST", ""))
        environ["SERVER_NAME"] = self_name
        environ["SERVER_PORT"] = _PORTS.get(self_port) or str(self_port)
        if req.env:
            environ.update(req.env)
        return environ

    def handler(self, req: Request) -> bool | None:
        if req.handler != HANDLER:
            return None
        mount: Mount = req.notes["wsgi_mount"]
        try:
            app = mount.app or mount.load()
        except Exception as e:
            req.conn.site.log_exception(
                f"MP00011: Failed to load WSGI application {mount.target}: {e!r}",
                req.conn.client_label,
                server=req.server,
            )
            raise HttpError(500, log=False) from None
        environ = self.environ(req, mount)
        response = WsgiResponse(req)
        result: Any = None  # the app's: any iterable, checked as it is sent
        try:
            result = app(environ, response.start_response)
            if type(result) is list and len(result) == 1:
                response.send_single(result[0])
            elif type(result) is list and all(type(chunk) is bytes for chunk in result):
                response.send_single(b"".join(result))  # one write, exact length
            elif isinstance(result, FileWrapper) and response.send_file(result):
                pass
            else:
                for chunk in result:
                    if chunk:
                        response.write(chunk)
            if not req.head_sent:
                response.send_single(b"")
            req.conn.end_response(req)
        finally:
            # (a list has no close: asking would build and drop an AttributeError)
            close = None if type(result) is list else getattr(result, "close", None)
            if close is not None:
                close()
            environ["wsgi.errors"].flush()
        return True
