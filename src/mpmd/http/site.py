"""The served configuration, as a connection sees it: run a request through the modules' hooks.

Phases in httpd's order (``ap_process_request_internal``): translate_name
(Alias, WSGI mounts, DocumentRoot) -> the per-directory walk -> access
(Require) -> type_checker (mime, SetHandler) -> fixups (DirectoryIndex) ->
handler -> log_transaction. A phase stops the request by raising HttpError.
"""

from __future__ import annotations

import html
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from mpmd.config.vhosts import VirtualHosts
from mpmd.http.errors import DROPS_CONNECTION, BodyError, ClientGone, HttpError
from mpmd.http.request import Request
from mpmd.http.response import error_page, server_banner
from mpmd.log.levels import ERROR, INFO

if TYPE_CHECKING:
    from mpmd.config.server import Config, ServerConfig
    from mpmd.log.errorlog import ErrorLog

_perf_counter: Final = time.perf_counter  # compiled, one module lookup less per call
HTML: Final = "text/html; charset=iso-8859-1"


def serving(config: Config, hook: str) -> list[Callable[..., Any]]:
    """``hook``'s functions, less those whose module has nothing to do in ``config``."""
    unused = {m.name: m.unused_hooks(config) for m in config.modules.modules}
    return [
        f
        for f in config.hooks[hook]
        if hook not in unused.get(getattr(getattr(f, "__self__", None), "name", ""), ())
    ]


class Site:
    """What every connection of one process shares: configuration, hooks, error log."""

    def __init__(
        self,
        config: Config,
        error_log: ErrorLog,
        multithread: bool = False,
        multiprocess: bool = False,
    ) -> None:
        self.config = config
        self.main: ServerConfig = config.main
        # which <VirtualHost> answers (None: there are none, the main server answers all)
        self.vhosts: VirtualHosts | None = VirtualHosts(config.vhosts) if config.vhosts else None
        self.error_log = error_log
        self.multithread = multithread
        self.multiprocess = multiprocess
        self.accepting = True
        # a stop signal waits while this is true: no half-sent reply or log line
        self.in_request = False
        # the scoreboard slot new connections report to (a threaded MPM gives each
        # connection its thread's); None under -X
        self.slot: Any = None
        # may a connection poll briefly for its next keep-alive request (connection.py)?
        self.poll_keepalive = True
        self.banner = server_banner(config.server_tokens)
        self.server_header = b"Server: " + self.banner.encode("latin-1") + b"\r\n"
        self.translate = serving(config, "translate_name")
        self.access = serving(config, "access_checker")
        self.type_checkers = serving(config, "type_checker")
        self.fixups = serving(config, "fixups")
        self.handlers = serving(config, "handler")
        self.loggers = serving(config, "log_transaction")

    # -- logging -----------------------------------------------------------
    def log(
        self,
        level: int,
        message: str,
        module: str = "core",
        client: str | None = None,
        server: ServerConfig | None = None,
    ) -> None:
        log = self.error_log if server is None else self.error_log.for_server(server)
        log.log(level, message, module, client)

    def log_exception(
        self,
        message: str,
        client: str | None = None,
        module: str = "core",
        server: ServerConfig | None = None,
    ) -> None:
        self.log(ERROR, message + "\n" + traceback.format_exc(), module, client, server)

    # -- the request ---------------------------------------------------------
    def handle(self, req: Request) -> None:
        """Run ``req`` start to finish: process, answer errors, log. Never raises."""
        self.in_request = True
        conn = req.conn
        slot = conn.slot
        if slot is not None:
            slot.begin_request(conn.client_ip, req.server.server_name, req.request_line)
        try:
            try:
                self.process(req)
                if not req.head_sent:
                    raise HttpError(500, "handler returned without a response", log_id="MP00002")
                if not req.done:
                    conn.end_response(req)
            except HttpError as e:
                self.fail(req, e.status, e.note, e.headers, e.log)
            except BodyError as e:
                self.fail(req, e.status, str(e))
            except ClientGone:
                req.close_after = True
            except Exception as e:
                self.log_exception(
                    f"MP00003: exception while serving {req.request_line!r}: {e!r}",
                    req.conn.client_label,
                    server=req.server,
                )
                self.fail(req, 500, "", log=False)
        except ClientGone:
            req.close_after = True
        except Exception:
            req.close_after = True
            self.log_exception(
                "MP00004: error while sending an error response",
                req.conn.client_label,
                server=req.server,
            )
        req.end_perf = _perf_counter()
        if req.close_after and self.loggers:
            req.conn.end_output()
        for log_transaction in self.loggers:
            try:
                log_transaction(req)
            except Exception:
                self.log_exception("MP00005: log_transaction hook failed", server=req.server)
        if slot is not None:
            slot.end_request(
                req.bytes_sent, int((req.end_perf - req.start_perf) * 1_000_000), status=req.status
            )
        self.in_request = False

    def process(self, req: Request) -> None:
        if req.status:
            raise HttpError(req.status, req.error_note)
        if req.path == "*":
            if req.method == "OPTIONS":
                req.respond(200, [("Allow", "GET,POST,OPTIONS,HEAD,TRACE")])
                return
            raise HttpError(400, "invalid request-URI *")
        if req.method == "TRACE":
            self.trace(req)
            return
        for translate in self.translate:
            if translate(req):
                break
        filename = req.filename
        if filename is not None and not filename.isascii():
            filename = req.fs_filename  # the disk's name for it (only non-ASCII differs)
        req.dir = req.server.dir_config_for(filename, req.path)
        core = req.dir["core_module"]
        req.body_limit = limit = core.body_limit
        if (req.content_length or 0) > limit or req.body_received > limit:
            raise HttpError(
                413,
                f"Requested content-length of {req.content_length} is larger than the configured limit of {limit}",
            )
        for access in self.access:
            access(req)
        if core.handler is not None:
            req.handler = core.handler
        for type_checker in self.type_checkers:
            if type_checker(req):
                break
        if core.force_type is not None:
            req.content_type = core.force_type
        for fixup in self.fixups:
            fixup(req)
        for handler in self.handlers:
            if handler(req):
                return
        if req.handler:
            self.log(
                ERROR,
                f"AH00141: Handler for {req.handler} returned invalid result code",
                client=req.conn.client_label,
                server=req.server,
            )
            raise HttpError(500, log=False)
        raise HttpError(404, log=False)

    def trace(self, req: Request) -> None:
        if not self.config.trace_enable:
            raise HttpError(
                405,
                "TRACE forbidden by server configuration",
                headers=[("Allow", "GET,POST,OPTIONS,HEAD")],
            )
        if req.content_length or req.chunked_in:
            raise HttpError(413, "TRACE with a request body is not allowed")
        head = [req.request_line] + [
            f"{n.decode('latin-1')}: {v.decode('latin-1')}" for n, v in req.header_list
        ]
        body = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        req.respond(200, [("Content-Type", "message/http")], body)

    # -- errors ---------------------------------------------------------------
    def fail(
        self,
        req: Request,
        status: int,
        note: str = "",
        headers: list[tuple[str, str]] | None = None,
        log: bool = True,
    ) -> None:
        if log and note:
            # 501/505 are the client's doing; only the server's own failures are errors
            level = ERROR if status in (500, 503) else INFO
            self.log(level, note, client=req.conn.client_label, server=req.server)
        if req.head_sent:
            req.close_after = True  # too late for an error page: cut the response short
            return
        if status in DROPS_CONNECTION:
            req.close_after = True
        self.send_error(req, status, note, headers or [])

    def send_error(
        self, req: Request, status: int, note: str, headers: list[tuple[str, str]]
    ) -> None:
        dirconf = req.dir or req.server.dir_defaults
        core = dirconf["core_module"]
        doc = core.error_documents.get(status)
        recursive_error = 0
        if doc and not req.notes.get("error_document"):
            if doc.startswith('"'):
                req.respond(status, [("Content-Type", HTML), *headers], doc[1:].encode("utf-8"))
                return
            if "://" in doc:
                req.respond(
                    302, [("Location", doc), ("Content-Type", HTML)], error_page(302, location=doc)
                )
                return
            if doc.startswith("/"):
                recursive_error = self.error_document(req, status, doc)
                if not recursive_error:
                    return
        location = next((v for k, v in headers if k.lower() == "location"), None)
        body = error_page(
            status,
            req.method,
            req.uri,
            location,
            req.server.server_admin,
            note if status != 500 else "",
            self.signature(req, core.server_signature),
            recursive_error,
        )
        if req.method == "HEAD":
            req.respond(status, [("Content-Type", HTML), *headers], b"", content_length=len(body))
        else:
            req.respond(status, [("Content-Type", HTML), *headers], body)

    def signature(self, req: Request, mode: str | None) -> str:
        if mode not in ("On", "EMail"):
            return ""
        name = req.server.server_name or req.conn.local_ip
        text = f"{self.banner} Server at {html.escape(name)} Port {req.conn.local_port}"
        if mode == "EMail":
            text = f'{self.banner} Server at <a href="mailto:{html.escape(req.server.server_admin)}">{html.escape(name)}</a> Port {req.conn.local_port}'
        return f"<address>{text}</address>\n"

    def error_document(self, req: Request, status: int, url: str) -> int:
        """ErrorDocument with a local URL: an internal redirect that keeps the error status.

        Returns 0 when served, else the status the redirect itself failed with (httpd then
        sends its own page for ``status``, saying so).
        """
        sub = Request(req.conn, req.start_time, req.start_perf)
        sub.server = req.server
        sub.method = "HEAD" if req.method == "HEAD" else "GET"
        sub.version, sub.http_minor = req.version, req.http_minor
        sub.header_list = req.header_list
        sub.keep_alive = req.keep_alive and status not in DROPS_CONNECTION
        sub.keep_alive_token = req.keep_alive_token
        sub.target = url
        path, _, query = url.partition("?")
        sub.uri = sub.path = path
        sub.query = query
        sub.body_done = True
        sub.notes["force_status"] = status
        sub.notes["error_document"] = True
        sub.env.update(
            REDIRECT_STATUS=str(status),
            REDIRECT_URL=req.uri,
            REDIRECT_QUERY_STRING=req.query,
            REDIRECT_REQUEST_METHOD=req.method,
        )
        try:
            self.process(sub)
            sub.end()
        except HttpError as e:
            if sub.head_sent:
                raise
            return e.status
        except ClientGone:
            raise
        except Exception as e:
            if sub.head_sent:
                raise
            self.log_exception(
                f"MP00006: exception while serving ErrorDocument {url}: {e!r}",
                req.conn.client_label,
                server=req.server,
            )
            return 500
        req.status = sub.status
        req.bytes_sent, req.header_bytes = sub.bytes_sent, sub.header_bytes
        req.head_sent, req.done = True, True
        req.close_after = sub.close_after
        req.content_type = sub.content_type
        return 0
