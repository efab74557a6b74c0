"""mime_module: a file's media type, charset, encoding and language from its extensions.

Owns ``TypesConfig`` (the extension -> type table, read once at start-up),
``AddType``/``AddCharset``/``AddEncoding``/``AddLanguage`` and their
``Remove*`` forms (per directory, merged as httpd's mod_mime merges them),
and the ``type_checker`` hook that sets ``req.content_type`` (and the
``content_encoding``/``content_language`` notes static.py sends).

Every extension of a name counts, left to right, as in httpd: with
``AddEncoding gzip .gz``, ``notes.txt.gz`` is text/plain with encoding gzip;
the part before the first dot is the name, not an extension (``.png`` alone
is a hidden file called png). One difference from httpd: an extension
given an encoding (AddEncoding) does not also take its type from
TypesConfig, so ``app.js.gz`` stays text/javascript with encoding gzip
(httpd would say application/gzip there unless ``RemoveType .gz``).

An unknown extension gives no type, and the response then has no
Content-Type: httpd 2.4 removed DefaultType and does the same (RFC 9110
section 8.3 lets the recipient treat it as application/octet-stream or
sniff). ``ForceType`` (core) overrides all this.

Not here: AddHandler/RemoveHandler (handlers are chosen by SetHandler and the
WSGI mounts), MultiViews, DefaultLanguage.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Final, NamedTuple

from mpmd.config.registry import ANYWHERE, SERVER_ONLY, Module, Syntax, directive

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config
    from mpmd.http.request import Request

SYSTEM_TYPES = "/etc/mime.types"
BUNDLED_TYPES = str(Path(__file__).resolve().parent.parent / "conf" / "mime.types")
FIELDS = ("type", "charset", "encoding", "language")


def default_types_file() -> str:
    return SYSTEM_TYPES if os.path.isfile(SYSTEM_TYPES) else BUNDLED_TYPES


_types_cache: Final[dict[tuple[str, float], dict[str, str]]] = {}


def read_types(path: str) -> dict[str, str]:
    """Parse a mime.types file (``type ext ext ...`` lines); a later line wins, as in httpd."""
    key = (path, os.stat(path).st_mtime)
    table = _types_cache.get(key)
    if table is not None:
        return table
    table = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            words = line.split("#", 1)[0].split()
            if len(words) < 2:
                continue
            for ext in words[1:]:
                table[ext.lower()] = words[0]
    _types_cache[key] = table
    return table


@dataclass(frozen=True)
class ExtInfo:
    """What the Add* directives say about one extension."""

    type: str | None = None
    charset: str | None = None
    encoding: str | None = None
    language: str | None = None


class MimeResult(NamedTuple):
    content_type: str | None
    encoding: str | None
    language: str | None


NO_RESULT = MimeResult(None, None, None)


@dataclass(eq=False)
class MimeDir:
    """mime_module's per-directory configuration."""

    mappings: dict[str, ExtInfo] = field(default_factory=dict)
    removes: list[tuple[str, str]] = field(default_factory=list)  # (field, extension)
    # extensions part of a name -> result; a merged MimeDir lives as long as the merge cache
    cache: dict[str, MimeResult] = field(default_factory=dict, repr=False)


def merge_mime_dir(base: MimeDir, add: MimeDir) -> MimeDir:
    """httpd's merge_mime_dir_configs: overlay field by field, then apply the Remove* of ``add``."""
    mappings = dict(base.mappings)
    for ext, info in add.mappings.items():
        old = mappings.get(ext)
        if old is None:
            mappings[ext] = info
        else:
            mappings[ext] = ExtInfo(*(getattr(info, f) or getattr(old, f) for f in FIELDS))
    for name, ext in add.removes:
        present = mappings.get(ext)
        if present is not None:
            mappings[ext] = replace(present, **{name: None})
    return MimeDir(mappings)


def find_type(filename: str, types: dict[str, str], conf: MimeDir) -> MimeResult:
    """The type, encoding and language of ``filename`` (httpd's mod_mime find_ct)."""
    name = filename[filename.rfind("/") + 1 :].lstrip(".")  # leading dots belong to the name
    dot = name.find(".")
    if dot < 0:
        return NO_RESULT
    exts = name[dot + 1 :]
    cached = conf.cache.get(exts)
    if cached is not None:
        return cached
    ctype: str | None = None
    charset: str | None = None
    language: str | None = None
    encodings: list[str] = []
    mappings = conf.mappings
    for ext in exts.lower().split("."):
        if not ext:
            continue  # "bad..html"
        info = mappings.get(ext)
        if info is None or (info.type is None and info.encoding is None):
            ctype = types.get(ext, ctype)
        if info is not None:
            if info.type:
                ctype = info.type
            if info.charset:
                charset = info.charset
            if info.language:
                language = info.language
            if info.encoding:
                encodings.append(info.encoding)
    if ctype and charset:
        ctype = with_charset(ctype, charset)
    result = MimeResult(ctype, ", ".join(encodings) or None, language)
    if len(conf.cache) < 1024:
        conf.cache[exts] = result
    return result


def with_charset(ctype: str, charset: str) -> str:
    """Set the charset parameter: replace one that is there, else append (as httpd)."""
    params = [p.strip() for p in ctype.split(";")]
    for i, p in enumerate(params[1:], 1):
        if p.lower().startswith("charset="):
            params[i] = f"charset={charset}"
            return "; ".join(params)
    return f"{ctype}; charset={charset}"


# ----------------------------------------------------------------------------
# Directives


@dataclass
class MimeServer:
    types_config: str | None = None


def _mime_dir(cmd: Cmd) -> MimeDir:
    conf: MimeDir = cmd.dir_conf("mime_module")
    return conf


def _extension(ext: str) -> str:
    return ext[1:].lower() if ext.startswith(".") else ext.lower()


def _add(cmd: Cmd, name: str, value: str, exts: tuple[str, ...]) -> None:
    conf = _mime_dir(cmd)
    value = value.lower()  # httpd lower-cases types, charsets, encodings and languages
    if name == "encoding" and value.startswith("."):
        value = value[1:]
    for ext in exts:
        key = _extension(ext)
        conf.mappings[key] = replace(conf.mappings.get(key, ExtInfo()), **{name: value})
        conf.cache.clear()


def _remove(cmd: Cmd, name: str, exts: tuple[str, ...]) -> None:
    conf = _mime_dir(cmd)
    for ext in exts:
        conf.removes.append((name, _extension(ext)))


@directive(
    "TypesConfig",
    Syntax.TAKE1,
    SERVER_ONLY,
    "the MIME types config file",
    "/etc/mime.types, else the bundled conf/mime.types",
)
def _types_config(cmd: Cmd, path: str) -> None:
    full = cmd.path(path)
    if not os.path.isfile(full):
        raise cmd.error(f"AH01597: could not open mime types config file {full}.")
    cmd.server_conf("mime_module").types_config = full


@directive(
    "AddType", Syntax.ITERATE2, ANYWHERE, "a mime type followed by one or more file extensions"
)
def _add_type(cmd: Cmd, value: str, *exts: str) -> None:
    _add(cmd, "type", value, exts)


@directive(
    "AddCharset",
    Syntax.ITERATE2,
    ANYWHERE,
    "a charset (e.g., iso-2022-jp), followed by one or more file extensions",
)
def _add_charset(cmd: Cmd, value: str, *exts: str) -> None:
    _add(cmd, "charset", value, exts)


@directive(
    "AddEncoding",
    Syntax.ITERATE2,
    ANYWHERE,
    "an encoding (e.g., gzip), followed by one or more file extensions",
)
def _add_encoding(cmd: Cmd, value: str, *exts: str) -> None:
    _add(cmd, "encoding", value, exts)


@directive(
    "AddLanguage",
    Syntax.ITERATE2,
    ANYWHERE,
    "a language (e.g., fr), followed by one or more file extensions",
)
def _add_language(cmd: Cmd, value: str, *exts: str) -> None:
    _add(cmd, "language", value, exts)


@directive("RemoveType", Syntax.ITERATE, ANYWHERE, "one or more file extensions")
def _remove_type(cmd: Cmd, *exts: str) -> None:
    _remove(cmd, "type", exts)


@directive("RemoveCharset", Syntax.ITERATE, ANYWHERE, "one or more file extensions")
def _remove_charset(cmd: Cmd, *exts: str) -> None:
    _remove(cmd, "charset", exts)


@directive("RemoveEncoding", Syntax.ITERATE, ANYWHERE, "one or more file extensions")
def _remove_encoding(cmd: Cmd, *exts: str) -> None:
    _remove(cmd, "encoding", exts)


@directive("RemoveLanguage", Syntax.ITERATE, ANYWHERE, "one or more file extensions")
def _remove_language(cmd: Cmd, *exts: str) -> None:
    _remove(cmd, "language", exts)


class MimeModule(Module):
    name = "mime_module"
    source = "mod_mime.c"
    static = True
    directives = (
        _types_config, _add_type, _add_charset, _add_encoding, _add_language,
        _remove_type, _remove_charset, _remove_encoding, _remove_language,
    )  # fmt: skip

    def __init__(self) -> None:
        self.types: dict[str, str] | None = None
        self._empty = MimeDir()

    def create_server_config(self) -> MimeServer:
        return MimeServer()

    def create_dir_config(self) -> MimeDir:
        return MimeDir()

    def merge_dir_config(self, base: MimeDir, add: MimeDir) -> MimeDir:
        return merge_mime_dir(base, add)

    def post_config(self, config: Config) -> None:
        # TypesConfig is global in httpd: the main server's setting serves every vhost
        conf: MimeServer = config.main.module_conf[self.name]
        self.types = read_types(conf.types_config or default_types_file())

    def type_checker(self, req: Request) -> bool | None:
        filename = req.filename
        if filename is None or req.content_type is not None:
            return None
        types = self.types
        if types is None:
            types = self.types = read_types(default_types_file())
        conf: MimeDir = req.dir.get(self.name) or self._empty
        ctype, encoding, language = find_type(filename, types, conf)
        if encoding:
            req.notes["content_encoding"] = encoding
        if language:
            req.notes["content_language"] = language
        if ctype is None:
            return None
        req.content_type = ctype
        return True
