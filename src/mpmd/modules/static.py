"""The default handler: a file from disk, as httpd's core ``default_handler``.

Owns:

- ``lookup``: turning ``req.filename`` into an open file, safely. This is
  httpd's ``ap_directory_walk`` symlink rule: below the DocumentRoot (or the
  Alias target that mapped the URL) a symbolic link is followed only where
  ``Options FollowSymLinks`` or ``SymLinksIfOwnerMatch`` allows it, judged
  with the options of the directory that holds the link. The result is
  cached on the request (``req.notes["finfo"]``) so dir, autoindex and this
  handler share one ``open`` + ``fstat``.
- the response: ``ETag`` as ``FileETag`` says, ``Last-Modified``,
  ``Content-Type`` (+ ``AddDefaultCharset``), ``Accept-Ranges``; acting on
  the answers of conditional requests and byte ranges (304, 412, 206, 416);
  the body by sendfile, or pread for ``EnableSendfile Off`` and small
  multipart pieces.

Not owned here: which file a URL names (alias.py, core's translate_name),
media types (mime.py), directory indexes (dir.py, autoindex.py), access
(authz). The URL path was decoded and ``..``-normalised by the HTTP layer,
which also refuses ``%2f`` and NUL. The pure HTTP of what to send is the
HTTP layer's: preconditions and HTTP-dates in ``mpmd.http.conditional``
(RFC 9110 section 13), Range parsing and the ``multipart/byteranges``
framing in ``mpmd.http.ranges`` (RFC 9110 section 14).

Filenames: ``req.filename`` is a root from the configuration (DocumentRoot,
an Alias target) followed by the URL path with one code point per byte
(latin-1, the WSGI convention). ``fs_path`` turns that URL part into the
filesystem's own ``str`` (UTF-8 with surrogateescape, as ``os.fsdecode``).
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from mpmd.http.conditional import (
    evaluate_preconditions,
    has_preconditions,
    http_date,
    if_range_matches,
)
from mpmd.http.errors import HttpError
from mpmd.http.ranges import multipart_byteranges, parse_ranges
from mpmd.http.request import fs_path as request_fs_path
from mpmd.log.levels import ERROR, INFO

if TYPE_CHECKING:
    from mpmd.config.server import Section, ServerConfig
    from mpmd.http.request import Request

# core's Options bits (core.OPT_*); core imports this module, so no import back
OPT_INDEXES: Final = 1
OPT_SYM_LINKS: Final = 4
OPT_SYM_OWNER: Final = 64
_LINK_BITS: Final = OPT_SYM_LINKS | OPT_SYM_OWNER

ALLOW: Final = "GET,HEAD,POST,OPTIONS"
READ_CHUNK: Final = 65536  # EnableSendfile Off: read and write in pieces of this size
SMALL_PIECE: Final = 16384  # multipart pieces up to this size are read and batched into one write
DIR_MAGIC_TYPE: Final = "httpd/unix-directory"

# O_NONBLOCK: opening a FIFO must not hang the worker (it is then refused as not a regular file)
_OPEN_FLAGS: Final = os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOCTTY


# ----------------------------------------------------------------------------
# Filenames and the safe open


def fs_to_latin1(text: str) -> str:
    """A filesystem name -> URL-path text (the inverse of ``latin1_to_fs``)."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogateescape").decode("latin-1")


def fs_root(req: Request) -> str:
    """The directory the URL was mapped into: an Alias target, else DocumentRoot."""
    root: str | None = req.notes.get("fs_root")
    return root if root is not None else req.server.document_root


def fs_path(req: Request, filename: str) -> str:
    if filename.isascii():
        return filename  # root + an ASCII URL part: the bytes are the same either way
    return request_fs_path(filename, fs_root(req))


def shown(path: str) -> str:
    """A path for the error log (undecodable bytes as escapes, never an exception)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class FileInfo:
    """A file opened for one request: descriptor (-1 if unreadable) and its ``fstat``.

    The descriptor is closed by the handler that sends the file, and in any
    case when the request (the last reference) is dropped.
    """

    __slots__ = ("fd", "filename", "path", "st")

    def __init__(self, filename: str, path: str, fd: int, st: os.stat_result | None) -> None:
        self.filename = filename  # req.filename it was opened for
        self.path = path  # the filesystem path
        self.fd = fd
        self.st = st  # None: does not exist

    @property
    def is_dir(self) -> bool:
        st = self.st
        return st is not None and stat.S_ISDIR(st.st_mode)

    @property
    def is_file(self) -> bool:
        st = self.st
        return st is not None and stat.S_ISREG(st.st_mode)

    def close(self) -> None:
        fd = self.fd
        if fd >= 0:
            self.fd = -1
            os.close(fd)

    def __del__(self) -> None:
        self.close()


def lookup(req: Request, filename: str | None = None) -> FileInfo | None:
    """The file ``filename`` (default ``req.filename``) names, opened; None if it does not exist.

    Raises ``HttpError(403)`` for a symbolic link the Options forbid or a
    path component we may not search, as httpd's directory walk does.
    """
    if filename is None:
        filename = req.filename
        if filename is None:
            return None
    cached: FileInfo | None = req.notes.get("finfo")
    if cached is None or cached.filename != filename:
        cached = _open(req, filename)
        req.notes["finfo"] = cached
    return cached if cached.st is not None else None


def _missing(filename: str, path: str) -> FileInfo:
    return FileInfo(filename, path, -1, None)


def _search_denied(req: Request, path: str) -> HttpError:
    return _forbidden(
        req,
        f"AH00035: access to {req.uri} denied (filesystem path '{shown(path)}') "
        "because search permissions are missing on a component of the path",
    )


def _forbidden(req: Request, message: str) -> HttpError:
    req.log(ERROR, message)
    return HttpError(403, log=False)


def _open(req: Request, filename: str) -> FileInfo:
    path = fs_path(req, filename)
    if ("/.." in path and ("/../" in path or path.endswith("/.."))) or "\x00" in path:
        # the HTTP layer normalised the URL; only a strange AliasMatch substitution gets here
        return _missing(filename, path)
    walked: os.stat_result | None = None
    flags = _OPEN_FLAGS
    if _needs_walk(req):
        walked, final_is_link = _walk(req, path)
        if walked is None:
            return _missing(filename, path)
        if not final_is_link:
            flags |= os.O_NOFOLLOW  # the last component cannot become a link after the walk
    try:
        fd = os.open(path, flags)
    except (FileNotFoundError, NotADirectoryError):
        return _missing(filename, path)
    except PermissionError:
        try:
            st = os.stat(path)
        except PermissionError:
            raise _search_denied(req, path) from None
        except OSError:
            return _missing(filename, path)
        return FileInfo(filename, path, -1, st)  # exists but unreadable: 403 when served
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise _forbidden(
                req,
                f"AH00037: Symbolic link not allowed or link target not accessible: {shown(path)}",
            ) from None
        if e.errno == errno.ENAMETOOLONG:
            return _missing(filename, path)
        raise _forbidden(
            req,
            f"AH00036: access to {req.uri} failed (filesystem path '{shown(path)}'): {e.strerror}",
        ) from None
    st = os.fstat(fd)
    if walked is not None and (st.st_ino, st.st_dev) != (walked.st_ino, walked.st_dev):
        os.close(fd)  # a directory above was swapped for a link between the walk and the open
        raise _forbidden(
            req, f"AH00037: Symbolic link not allowed or link target not accessible: {shown(path)}"
        )
    return FileInfo(filename, path, fd, st)


# -- the symlink walk (httpd's ap_directory_walk / resolve_symlink) ------------


class _ServerLinks:
    """Per server: whether any section can forbid links, its <Directory> sections, options cache."""

    __slots__ = ("dirs", "may_forbid", "options")

    def __init__(self, server: ServerConfig) -> None:
        dirs = [s for s in server.sections if s.kind == "directory" and s.regex is None]
        dirs.sort(key=lambda s: (s.components, s.order))
        self.dirs: list[Section] = dirs + [
            s for s in server.sections if s.kind == "directory" and s.regex is not None
        ]
        confs = [
            server.dir_defaults["core_module"],
            *(s.dir["core_module"] for s in server.sections),
        ]
        self.may_forbid = any(_restricts_links(c) for c in confs)
        self.options: dict[str, int] = {}


def _restricts_links(conf: object) -> bool:
    options: int | None = getattr(conf, "options", None)
    if options is not None and options & _LINK_BITS != OPT_SYM_LINKS:
        return True
    return bool(
        getattr(conf, "options_remove", 0) & OPT_SYM_LINKS
        or getattr(conf, "options_add", 0) & OPT_SYM_OWNER
    )


def _links(server: ServerConfig) -> _ServerLinks:
    state: _ServerLinks | None = server.derived.get("static_links")
    if state is None:
        state = server.derived["static_links"] = _ServerLinks(server)
    return state


def _needs_walk(req: Request) -> bool:
    """Only a configuration that can refuse a link pays for the walk (one lstat per component)."""
    if req.dir["core_module"].effective_options & _LINK_BITS != OPT_SYM_LINKS:
        return True
    return _links(req.server).may_forbid


def directory_options(server: ServerConfig, directory: str) -> int:
    """The Options in force for files in ``directory``, from <Directory> sections only.

    As in httpd's walk, a link is judged by the sections of the directory that
    holds it (<Location> and <Files> come later and do not take part).
    """
    state = _links(server)
    opts = state.options.get(directory)
    if opts is None:
        from mpmd.modules.core import merge_core_dir

        conf = server.dir_defaults["core_module"]
        for s in state.dirs:
            if s.matches_directory(directory):
                conf = merge_core_dir(conf, s.dir["core_module"])
        opts = conf.effective_options
        if len(state.options) < 4096:
            state.options[directory] = opts
    return opts


def link_allowed(options: int, link: os.stat_result, target: os.stat_result) -> bool:
    """httpd's resolve_symlink: SymLinksIfOwnerMatch wins over FollowSymLinks when both are set."""
    if options & OPT_SYM_OWNER:
        return link.st_uid == target.st_uid
    return bool(options & OPT_SYM_LINKS)


def _walk(req: Request, path: str) -> tuple[os.stat_result | None, bool]:
    """lstat each component below the root; (stat of the file or None, last component is a link)."""
    root = fs_root(req).rstrip("/")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        base, rest = root, path[len(root) :]
    else:
        base, rest = "", path  # not under a known root: judge every component
    names = [n for n in rest.split("/") if n]
    trailing_slash = rest.endswith("/") and bool(names)
    req_options = req.dir["core_module"].effective_options
    st: os.stat_result | None = None
    is_link = False
    current = base
    try:
        if not names:
            st = os.stat(base or "/")
        for i, name in enumerate(names):
            parent = current or "/"
            current = f"{current}/{name}"
            lst = os.lstat(current)
            if stat.S_ISLNK(lst.st_mode):
                try:
                    target = os.stat(current)
                except OSError:
                    target = None
                options = directory_options(req.server, parent)
                if target is None or not (
                    link_allowed(options, lst, target) and link_allowed(req_options, lst, target)
                ):
                    raise _forbidden(
                        req,
                        f"AH00037: Symbolic link not allowed or link target not accessible: {shown(current)}",
                    )
                st, is_link = target, True
            else:
                st, is_link = lst, False
            if i < len(names) - 1 and not stat.S_ISDIR(st.st_mode):
                return None, False
    except (FileNotFoundError, NotADirectoryError):
        return None, False
    except PermissionError:
        raise _search_denied(req, path) from None
    except OSError:
        return None, False
    if st is not None and trailing_slash and not stat.S_ISDIR(st.st_mode):
        return None, False
    return st, is_link


# ----------------------------------------------------------------------------
# The file's entity tag (httpd's FileETag)


# (st_mtime_ns, st_size, st_ino, FileETag parts) -> the quoted tag without "W/"
_etags: Final[dict[tuple[int, int, int, tuple[str, ...]], str]] = {}


def make_etag(st: os.stat_result, parts: tuple[str, ...], request_time: float) -> str | None:
    """httpd's ap_make_etag: hex inode-size-mtime(µs) as FileETag selects.

    A file changed less than a second before the request gets a weak tag:
    it may change again within the same second without its tag changing.
    The quoted part depends on the file alone and is cached; weakness is
    judged on every request, as it depends on the request's time.
    """
    if not parts:
        return None
    key = (st.st_mtime_ns, st.st_size, st.st_ino, parts)
    tag = _etags.get(key)
    if tag is None:
        fields = []
        if "inode" in parts:
            fields.append(f"{st.st_ino:x}")
        if "size" in parts:
            fields.append(f"{st.st_size:x}")
        if "mtime" in parts:
            fields.append(f"{st.st_mtime_ns // 1000:x}")
        tag = f'"{"-".join(fields)}"'
        if len(_etags) >= 4096:
            _etags.clear()
        _etags[key] = tag
    return "W/" + tag if request_time - st.st_mtime <= 1.0 else tag


# ----------------------------------------------------------------------------
# The handler

# The request headers that can change the answer (preconditions, ranges), lower-cased.
_CONDITIONAL_HEADERS: Final = frozenset(
    (
        b"if-match",
        b"if-none-match",
        b"if-modified-since",
        b"if-unmodified-since",
        b"range",
        b"if-range",
    )
)
_CONDITIONAL_LENGTHS: Final = frozenset(len(name) for name in _CONDITIONAL_HEADERS)
_NO_HEADERS: Final[Mapping[str, str]] = {}  # never written to


def _asks_conditionally(header_list: list[tuple[bytes, bytes]]) -> bool:
    """Does the request carry any of ``_CONDITIONAL_HEADERS``?

    Scanning the parsed list is cheaper than building ``req.headers_in`` (every
    name and value decoded), which only a request with one of these needs.
    bytes.lower() agrees with the latin-1 str.lower() of headers_in here: no
    non-ASCII latin-1 letter lower-cases to ASCII.
    """
    for name, _ in header_list:
        if len(name) in _CONDITIONAL_LENGTHS and name.lower() in _CONDITIONAL_HEADERS:
            return True
    return False


def default_handler(req: Request) -> bool | None:
    """Serve ``req.filename`` (httpd's core default_handler)."""
    method = req.method
    if method == "OPTIONS":
        req.respond(200, [("Allow", ALLOW)])
        return True
    if method == "PUT":
        raise HttpError(405, headers=[("Allow", ALLOW)], log=False)
    filename = req.filename
    if filename is None:
        return None
    info = lookup(req, filename)
    if info is None:
        req.log(INFO, f"AH00128: File does not exist: {shown(fs_path(req, filename))}")
        raise HttpError(404, log=False)
    try:
        _serve(req, info)
    finally:
        info.close()
    return True


def _serve(req: Request, info: FileInfo) -> None:
    st = info.st
    assert st is not None
    method = req.method
    if stat.S_ISDIR(st.st_mode):
        names = req.notes.get("dir-index-names", "none")
        req.log(
            ERROR,
            f"AH01276: Cannot serve directory {shown(info.path.rstrip('/'))}/: No matching DirectoryIndex "
            f"({names}) found, and server-generated directory index forbidden by Options directive",
        )
        raise HttpError(403, log=False)
    if method != "GET" and method != "HEAD":
        req.log(INFO, f"AH00131: This resource does not accept the {method} method.")
        raise HttpError(405, headers=[("Allow", ALLOW)], log=False)
    if not stat.S_ISREG(st.st_mode):
        raise _forbidden(req, f"MP00301: not a regular file, not served: {shown(info.path)}")
    if info.fd < 0:
        raise _forbidden(req, f"AH00132: file permissions deny server access: {shown(info.path)}")

    core = req.dir["core_module"]
    now = req.start_time
    mtime = int(st.st_mtime)
    if mtime > now:
        mtime = int(now)  # a file dated in the future is "modified now"
    last_modified = http_date(mtime)
    etag = make_etag(st, core.etag_parts, now)
    headers_in: Mapping[str, str]
    if _asks_conditionally(req.header_list):
        headers_in = req.headers_in
        condition = (
            evaluate_preconditions(method, headers_in, etag, mtime, now)
            if has_preconditions(headers_in)
            else 0
        )
    else:
        headers_in = _NO_HEADERS  # most requests: no need to build req.headers_in
        condition = 0
    if condition == 304:
        # RFC 9110 section 15.4.5: the validators that guide caches; Last-Modified only without an ETag
        req.respond(304, [("ETag", etag)] if etag else [("Last-Modified", last_modified)])
        return
    if condition == 412:
        raise HttpError(412, log=False)

    headers = [("Last-Modified", last_modified)]
    if etag:
        headers.append(("ETag", etag))
    headers.append(("Accept-Ranges", "bytes"))
    ctype = req.content_type
    default_charset = core.add_default_charset
    if ctype and default_charset:
        ctype = content_type(req, default_charset)
    if ctype:
        headers.append(("Content-Type", ctype))
    encoding = req.notes.get("content_encoding")
    if encoding:
        headers.append(("Content-Encoding", encoding))
    language = req.notes.get("content_language")
    if language:
        headers.append(("Content-Language", language))
    size = st.st_size
    use_sendfile = core.enable_sendfile is not False
    fd = info.fd

    range_header = headers_in.get("range")
    if range_header is not None and method == "GET":  # RFC 9110 section 14.2: GET only
        if_range = headers_in.get("if-range")
        if if_range is None or if_range_matches(if_range, etag, mtime, now):
            ranges = parse_ranges(range_header, size)
            if ranges is not None:
                if not ranges:
                    raise HttpError(416, headers=[("Content-Range", f"bytes */{size}")], log=False)
                if len(ranges) == 1:
                    start, end = ranges[0]
                    headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
                    req.start(206, headers, end - start + 1)
                    _send(req, fd, start, end - start + 1, use_sendfile)
                else:
                    _send_multipart(req, fd, headers, ctype, ranges, size, use_sendfile)
                req.end()
                return

    req.start(200, headers, size)
    if method == "GET":
        _send(req, fd, 0, size, use_sendfile)
    req.end()


def content_type(req: Request, default_charset: str | None) -> str | None:
    """``req.content_type``, with AddDefaultCharset added to text/plain and text/html as httpd does."""
    ctype = req.content_type
    if ctype and default_charset:
        base = ctype.split(";", 1)[0].strip().lower()
        if base in ("text/plain", "text/html") and "charset=" not in ctype.lower():
            return f"{ctype}; charset={default_charset}"
    return ctype


def _send(req: Request, fd: int, offset: int, count: int, use_sendfile: bool) -> None:
    if use_sendfile:
        req.sendfile(fd, offset, count)
        return
    end = offset + count
    while offset < end:  # EnableSendfile Off (network filesystems): read and write
        data = os.pread(fd, min(READ_CHUNK, end - offset), offset)
        if not data:
            break  # the file shrank; the connection notices the short body
        req.write(data)
        offset += len(data)


def _send_multipart(
    req: Request,
    fd: int,
    headers: list[tuple[str, str]],
    ctype: str | None,
    ranges: list[tuple[int, int]],
    size: int,
    use_sendfile: bool,
) -> None:
    """206 multipart/byteranges (RFC 9110 section 14.6), with httpd's part layout."""
    body = multipart_byteranges(ranges, size, ctype)
    out = [(n, v) for n, v in headers if n != "Content-Type"]
    out.append(("Content-Type", body.content_type))
    req.start(206, out, body.length)
    pending = bytearray()
    for head, (a, b) in zip(body.heads, ranges, strict=True):
        count = b - a + 1
        pending += head
        if count <= SMALL_PIECE:
            pending += os.pread(fd, count, a)
        else:
            req.write(bytes(pending))
            pending.clear()
            _send(req, fd, a, count, use_sendfile)
    pending += body.tail
    req.write(bytes(pending))
