"""dir_module: DirectoryIndex, DirectorySlash and FallbackResource (httpd's mod_dir).

Owns what happens when a URL names a directory, or nothing at all, in the
``fixups`` phase:

- a directory URL without its trailing slash -> 301 to the slash form, the
  query string kept, ``Location`` built as httpd's ap_construct_url does
  (DirectorySlash On, the default);
- a directory URL with the slash -> the first DirectoryIndex name that is a
  regular file (or that some handler claims, e.g. a WSGI mount) replaces
  the request's file, as httpd's internal fast redirect: URL path,
  filename, per-directory configuration, handler and type are those of the
  index. Each candidate passes the access checks (Require) and the symlink
  rules like a request of its own; a refusal is remembered and answered if
  no later candidate works, as httpd does, so ``Require all denied`` on
  ``index.html`` never turns into a listing;
- a URL with no file and no handler -> FallbackResource, the same way.

Nothing found: the request goes on to autoindex (if loaded) and then the
default handler, which refuses a directory with 403.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import ANYWHERE, MIDDLE, Module, Syntax, directive, parse_flag
from mpmd.http.errors import HttpError
from mpmd.modules import static as files
from mpmd.modules.alias import absolute_url, escape_path

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.http.request import Request

DEFAULT_INDEX = ("index.html",)
_SAVED_NOTES = ("fs_root", "finfo", "content_encoding", "content_language", "wsgi_mount")


@dataclass
class DirConfig:
    """dir_module's per-directory configuration (None: not set here)."""

    index_names: tuple[str, ...] | None = None  # () is "DirectoryIndex disabled"
    slash: bool | None = None
    fallback: str | None = None  # "" is "FallbackResource disabled"


def merge_dir_config(base: DirConfig, add: DirConfig) -> DirConfig:
    return DirConfig(
        add.index_names if add.index_names is not None else base.index_names,
        add.slash if add.slash is not None else base.slash,
        add.fallback if add.fallback is not None else base.fallback,
    )


def _conf(cmd: Cmd) -> DirConfig:
    conf: DirConfig = cmd.dir_conf("dir_module")
    return conf


@directive("DirectoryIndex", Syntax.RAW_ARGS, ANYWHERE, "a list of file names", "index.html")
def _directory_index(cmd: Cmd, text: str) -> None:
    from mpmd.config.parser import split_args

    names = split_args(text)
    if not names:
        raise cmd.error("DirectoryIndex requires at least one argument, a list of file names")
    conf = _conf(cmd)
    if len(names) == 1 and names[0].lower() == "disabled":
        conf.index_names = ()  # "disabled" alone clears the list (httpd 2.4)
        return
    # several DirectoryIndex lines in one context add up (httpd 2.4)
    conf.index_names = (conf.index_names or ()) + tuple(names)


@directive("DirectorySlash", Syntax.FLAG, ANYWHERE, "On or Off", "On")
def _directory_slash(cmd: Cmd, value: str) -> None:
    _conf(cmd).slash = parse_flag(value)


@directive("FallbackResource", Syntax.TAKE1, ANYWHERE, "Set a default handler")
def _fallback_resource(cmd: Cmd, value: str) -> None:
    _conf(cmd).fallback = "" if value.lower() == "disabled" else value


class _Saved:
    """What a trial lookup changes on the request, to put back if the candidate is refused."""

    __slots__ = ("content_type", "dir", "filename", "handler", "notes", "path", "path_info")

    def __init__(self, req: Request) -> None:
        self.path = req.path
        self.filename = req.filename
        self.handler = req.handler
        self.content_type = req.content_type
        self.dir = req.dir
        self.path_info = req.path_info
        self.notes: dict[str, Any] = {k: req.notes[k] for k in _SAVED_NOTES if k in req.notes}

    def restore(self, req: Request) -> None:
        req.path = self.path
        req.filename = self.filename
        req.handler = self.handler
        req.content_type = self.content_type
        req.dir = self.dir
        req.path_info = self.path_info
        for k in _SAVED_NOTES:
            req.notes.pop(k, None)
        req.notes.update(self.notes)


def _start_over(req: Request, path: str) -> None:
    """Clear what the phases decide, for a run on ``path``. (Not inline in lookup_uri:
    there mypy would take ``req.filename`` to stay None after the phases set it, and the
    compiled module checks that.)"""
    req.path = path
    req.filename = None
    req.handler = None
    req.content_type = None
    req.path_info = ""
    for k in _SAVED_NOTES:
        req.notes.pop(k, None)


def lookup_uri(req: Request, path: str) -> bool:
    """Run ``req`` again for URL ``path`` up to (not including) the handler, as a sub-request.

    True when the result can be served (a regular file, or a handler claimed
    it); the request then stands changed. False leaves it as it was.
    Raises HttpError when a phase refuses (403 from Require, a redirect...),
    after restoring the request.
    """
    saved = _Saved(req)
    site = req.conn.site
    _start_over(req, path)
    try:
        for translate in site.translate:
            if translate(req):
                break
        req.dir = req.server.dir_config_for(req.fs_filename, req.path)
        for access in site.access:
            access(req)
        core = req.dir["core_module"]
        if core.handler is not None:
            req.handler = core.handler
        claimed = req.handler is not None and req.handler not in (
            "default-handler",
            files.DIR_MAGIC_TYPE,
        )
        if not claimed:
            info = files.lookup(req, req.filename) if req.filename is not None else None
            if info is None or not info.is_file:
                saved.restore(req)
                return False
        for type_checker in site.type_checkers:
            if type_checker(req):
                break
        if core.force_type is not None:
            req.content_type = core.force_type
    except HttpError:
        saved.restore(req)
        raise
    return True


def _is_redirect_or_refusal(status: int) -> bool:
    return 300 <= status <= 399 or status in (401, 403)


class DirModule(Module):
    name = "dir_module"
    source = "mod_dir.c"
    static = True
    directives = (_directory_index, _directory_slash, _fallback_resource)
    hook_order = {"fixups": MIDDLE}

    def create_dir_config(self) -> DirConfig:
        return DirConfig()

    def merge_dir_config(self, base: DirConfig, add: DirConfig) -> DirConfig:
        return merge_dir_config(base, add)

    def fixups(self, req: Request) -> bool | None:
        filename = req.filename
        if filename is None:
            return None
        handler = req.handler
        if handler is not None and handler not in ("default-handler", files.DIR_MAGIC_TYPE):
            return None  # a handler (WSGI, server-status...) owns this URL
        conf: DirConfig = req.dir[self.name]
        info = files.lookup(req, filename)
        if info is None:
            if conf.fallback and handler is None:
                self._fallback(req, conf.fallback)
            return None
        if not info.is_dir:
            return None
        path = req.path
        if not path.endswith("/"):
            if conf.slash is False:
                return None
            # RFC 9110 section 15.4.2; relative links in the index need the slash
            info.close()
            location = absolute_url(req, escape_path(path) + "/")
            if req.query:
                location = f"{location}?{req.query}"
            raise HttpError(301, headers=[("Location", location)], log=False)
        names = conf.index_names if conf.index_names is not None else DEFAULT_INDEX
        refused: HttpError | None = None
        for name in names:
            candidate = name if name.startswith("/") else path + files.fs_to_latin1(name)
            try:
                if lookup_uri(req, candidate):
                    return None
            except HttpError as e:
                if _is_redirect_or_refusal(e.status) or e.status >= 500:
                    refused = e
        if refused is not None:
            raise refused
        req.notes["dir-index-names"] = ",".join(names)  # for autoindex's and the handler's messages
        return None

    def log_transaction(self, req: Request) -> None:
        """Close a file fixups opened that no handler sent (an error answered the request)."""
        info: files.FileInfo | None = req.notes.get("finfo")
        if info is not None and info.fd >= 0:  # usually the handler closed it already
            info.close()

    def _fallback(self, req: Request, target: str) -> None:
        if req.notes.get("error_document"):
            return  # an ErrorDocument's own lookup does not fall back again
        if not target.startswith("/"):
            target = req.path[: req.path.rfind("/") + 1] + target  # relative to the URL's directory
        lookup_uri(req, target)
