"""alias_module: Alias, AliasMatch and the Redirect family (httpd's mod_alias).

Owns the mapping of URL prefixes to directories outside the DocumentRoot and
answering redirects. ``translate_name`` runs FIRST (before the WSGI mounts
and the core's DocumentRoot): server-level redirects are tried before
aliases, each list in configuration order, first match wins, a virtual
host's own entries before the main server's (as httpd merges them).
Redirects inside ``<Location>``/``<Directory>`` are checked in ``fixups``.

Matching is httpd's ``alias_matches``: a prefix match that respects path
segments (``Alias /icons`` serves ``/icons`` and ``/icons/x``, never
``/iconsx``) against the decoded, normalised URL path. One deliberate
difference: httpd joins target and rest by plain concatenation, so
``Alias /x/ /srv/data`` maps ``/x/-y`` to ``/srv/data-y`` -- outside the
target. Here a ``/`` is put between them, so an alias never reaches a
sibling of its target. The target becomes the root of the symlink walk in
static.py (``req.notes["fs_root"]``): a link below it obeys the same
Options as one below the DocumentRoot.

Also here: ``absolute_url``, httpd's ``ap_construct_url`` (Location headers
for redirects, used by dir.py's DirectorySlash too).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final
from urllib.parse import quote

from mpmd.config.registry import ANYWHERE, FIRST, SERVER_VHOST, Module, Syntax, directive
from mpmd.http.errors import HttpError
from mpmd.modules.core import self_name_and_port

if TYPE_CHECKING:
    from collections.abc import Collection

    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config, ServerConfig
    from mpmd.http.request import Request

REDIRECT_KEYWORDS: Final = {"permanent": 301, "temp": 302, "seeother": 303, "gone": 410}
_PATH_SAFE: Final = "$-_.+!*'(),:@&=/~"  # httpd's ap_os_escape_path leaves these alone


@dataclass(eq=False)
class AliasEntry:
    """One Alias/AliasMatch/Redirect/RedirectMatch line."""

    fake: (
        str | None
    )  # URL-path or regex text; None: a Redirect inside a section (matches all there)
    real: str | None  # target path or URL; None for a non-redirect status (410 ...)
    regex: re.Pattern[str] | None = None
    status: int = 0  # 0 for an alias
    template: list[str | int] = field(default_factory=list)  # ``real`` split at $N for regex forms
    root: str = ""  # for an alias: the directory the symlink walk starts below


@dataclass
class AliasServer:
    aliases: list[AliasEntry] = field(default_factory=list)
    redirects: list[AliasEntry] = field(default_factory=list)


@dataclass
class AliasDir:
    redirects: list[AliasEntry] = field(default_factory=list)


def alias_matches(uri: str, fake: str) -> int:
    """httpd's alias_matches: characters of ``uri`` the alias covers, 0 if it does not match.

    Runs of ``/`` in either match each other; the alias must end at a
    segment boundary of the URI.
    """
    i = j = 0
    n, m = len(uri), len(fake)
    while j < m:
        if fake[j] == "/":
            if i >= n or uri[i] != "/":
                return 0
            while j < m and fake[j] == "/":
                j += 1
            while i < n and uri[i] == "/":
                i += 1
        else:
            if i >= n or uri[i] != fake[j]:
                return 0
            i += 1
            j += 1
    if m and fake[-1] != "/" and i < n and uri[i] != "/":
        return 0
    return i


def compile_template(text: str) -> list[str | int]:
    """Split a substitution at ``$0``..``$9`` (ap_pregsub); ``\\x`` is a literal x."""
    out: list[str | int] = []
    buf: list[str] = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "$" and i + 1 < len(text) and text[i + 1].isdigit():
            if buf:
                out.append("".join(buf))
                buf = []
            out.append(int(text[i + 1]))
            i += 2
            continue
        if c == "\\" and i + 1 < len(text):
            c = text[i + 1]
            i += 1
        buf.append(c)
        i += 1
    if buf:
        out.append("".join(buf))
    return out


def substitute(template: list[str | int], m: re.Match[str]) -> str:
    parts = []
    for piece in template:
        if isinstance(piece, int):
            try:
                parts.append(m.group(piece) or "")
            except IndexError:
                parts.append("")
        else:
            parts.append(piece)
    return "".join(parts)


def escape_path(path: str) -> str:
    """A decoded URL path (one code point per byte) -> percent-encoded, as ap_os_escape_path."""
    return quote(path.encode("latin-1", "replace"), safe=_PATH_SAFE)


def absolute_url(req: Request, path: str) -> str:
    """httpd's ap_construct_url: http://name[:port] + path, the name and port the server
    calls itself by (``self_name_and_port``: the client's Host by default,
    ServerName with UseCanonicalName On). A Host that is not a plain host[:port] is
    never echoed back (no header injection through a redirect)."""
    name, port = self_name_and_port(req)
    return f"http://{name}{path}" if port == 80 else f"http://{name}:{port}{path}"


def _target_root(real: str, regex: bool) -> str:
    """The directory an alias target is confined to (literal prefix up to the last slash before a $N)."""
    if regex:
        cut = real.find("$")
        literal = real if cut < 0 else real[:cut]
        if cut >= 0:
            literal = literal[: literal.rfind("/") + 1] if "/" in literal else ""
        return literal.rstrip("/") or "/"
    return real.rstrip("/") or "/"


# ----------------------------------------------------------------------------
# Directives


def _server(cmd: Cmd) -> AliasServer:
    conf: AliasServer = cmd.server_conf("alias_module")
    return conf


def _in_location(cmd: Cmd) -> str | None:
    """The URL-path of the plain <Location> a directive stands in, else None."""
    s = cmd.section
    if s is not None and s.kind == "location" and s.regex is None:
        return s.pattern
    return None


def _add_alias(cmd: Cmd, fake: str, real: str, regex: bool) -> None:
    conf = _server(cmd)
    target = cmd.path(real) if not regex else real
    if regex:
        try:
            compiled = re.compile(fake)
        except re.error as e:
            raise cmd.error(f"Regular expression could not be compiled: {e}") from None
        entry = AliasEntry(
            fake,
            target,
            compiled,
            template=compile_template(target),
            root=_target_root(target, True),
        )
    else:
        for old in conf.aliases:
            if old.regex is None and old.fake is not None and alias_matches(fake, old.fake):
                cmd.warn(
                    f"AH00671: The Alias directive in {cmd.node.file} at line {cmd.node.line} will probably "
                    f"never match because it overlaps an earlier Alias."
                )
                break
        entry = AliasEntry(fake, target, root=_target_root(target, False))
    conf.aliases.append(entry)


@directive(
    "Alias", Syntax.TAKE12, ANYWHERE, "a fakename and a realname, or a realname in a Location"
)
def _alias(cmd: Cmd, first: str, second: str | None = None) -> None:
    location = _in_location(cmd)
    if cmd.section is not None:
        if location is None or second is not None:
            raise cmd.error(
                "Alias must have only one argument when used in a <Location> (and no other section)"
            )
        _add_alias(cmd, location, first, False)
        return
    if second is None:
        raise cmd.error("Alias must have two arguments when used globally")
    _add_alias(cmd, first, second, False)


@directive("AliasMatch", Syntax.TAKE2, SERVER_VHOST, "a regular expression and a filename")
def _alias_match(cmd: Cmd, fake: str, real: str) -> None:
    _add_alias(cmd, fake, real, True)


def _add_redirect(cmd: Cmd, args: tuple[str, ...], status: int | None, regex: bool) -> None:
    """httpd's add_redirect_internal: ``[status] URL-path URL`` with httpd's error messages."""
    words = list(args)
    if status is None:  # Redirect / RedirectMatch: an optional status word first
        first = words[0].lower()
        status = 302
        understood = False
        if first in REDIRECT_KEYWORDS:
            status, understood = REDIRECT_KEYWORDS[first], True
        elif first.isdigit():
            status, understood = int(first), True
            if not 300 <= status <= 599:
                raise cmd.error(f"Redirect: invalid status {first} (use a number from 300 to 599)")
        if understood:
            words = words[1:]
        elif len(words) == 3:
            raise cmd.error("Redirect: invalid first argument (of three)")
    is_redirect = 300 <= status <= 399
    in_section = cmd.section is not None
    fake: str | None
    url: str | None
    if is_redirect:
        if len(words) == 2:
            fake, url = words
        elif len(words) == 1 and in_section:
            fake, url = None, words[0]
        else:
            raise cmd.error("URL to redirect to is missing")
        if not regex and "://" not in url and not url.startswith("/"):
            raise cmd.error("Redirect to non-URL")
    else:
        if len(words) == 2 or (len(words) == 1 and in_section):
            raise cmd.error("Redirect URL not valid for this status")
        if not words and not in_section:
            raise cmd.error("Redirect requires a URL-path")
        fake, url = (words[0] if words else None), None
    compiled = None
    if regex:
        if fake is None:
            raise cmd.error("RedirectMatch requires a regular expression")
        try:
            compiled = re.compile(fake)
        except re.error as e:
            raise cmd.error(f"Regular expression could not be compiled: {e}") from None
    entry = AliasEntry(fake, url, compiled, status, compile_template(url) if url and regex else [])
    if in_section:
        conf: AliasDir = cmd.dir_conf("alias_module")
        conf.redirects.append(entry)
    else:
        _server(cmd).redirects.append(entry)


@directive(
    "Redirect",
    Syntax.TAKE123,
    ANYWHERE,
    "an optional status, then document to be redirected and destination URL",
)
def _redirect(cmd: Cmd, *args: str) -> None:
    _add_redirect(cmd, args, None, False)


@directive(
    "RedirectMatch",
    Syntax.TAKE123,
    ANYWHERE,
    "an optional status, then a regular expression and destination URL",
)
def _redirect_match(cmd: Cmd, *args: str) -> None:
    _add_redirect(cmd, args, None, True)


@directive(
    "RedirectPermanent",
    Syntax.TAKE12,
    ANYWHERE,
    "a document to be redirected, then the destination URL",
)
def _redirect_permanent(cmd: Cmd, *args: str) -> None:
    _add_redirect(cmd, args, 301, False)


@directive(
    "RedirectTemp", Syntax.TAKE12, ANYWHERE, "a document to be redirected, then the destination URL"
)
def _redirect_temp(cmd: Cmd, *args: str) -> None:
    _add_redirect(cmd, args, 302, False)


# ----------------------------------------------------------------------------
# Matching


def match_redirect(req: Request, entries: list[AliasEntry]) -> None:
    """Raise the redirect (or 410 ...) of the first entry matching the request, if any."""
    path = req.path
    for e in entries:
        target: str | None
        if e.regex is not None:
            m = e.regex.search(path)
            if m is None:
                continue
            target = _regex_target(e, m)
        elif e.fake is None:
            target = e.real
        else:
            n = alias_matches(path, e.fake)
            if not n:
                continue
            target = None if e.real is None else e.real + escape_path(path[n:])
        if not 300 <= e.status <= 399 or target is None:
            raise HttpError(e.status, log=False)
        if target.startswith("/"):
            target = absolute_url(req, target)
        if req.query and "?" not in target:
            target = f"{target}?{req.query}"  # httpd keeps the query unless the target has its own
        raise HttpError(e.status, headers=[("Location", target)], log=False)


def _regex_target(e: AliasEntry, m: re.Match[str]) -> str | None:
    if e.real is None:
        return None
    found = substitute(e.template, m)
    # httpd escapes the substituted path but not the query or fragment of the result
    rest = ""
    for mark in ("#", "?"):
        if mark in found:
            found, tail = found.split(mark, 1)
            rest = mark + tail + rest
    scheme, sep, after = found.partition("://")
    if sep:
        host, slash, p = after.partition("/")
        return f"{scheme}://{host}{slash}{escape_path(p)}{rest}"
    return escape_path(found) + rest


def join_target(real: str, rest: str) -> str:
    """Target + the rest of the URL path, with exactly one ``/`` between (see the module doc)."""
    if not rest:
        return real
    if real.endswith("/"):
        return real + rest.lstrip("/")
    return real + (rest if rest.startswith("/") else "/" + rest)


class AliasModule(Module):
    name = "alias_module"
    source = "mod_alias.c"
    static = True
    directives = (
        _alias,
        _alias_match,
        _redirect,
        _redirect_match,
        _redirect_permanent,
        _redirect_temp,
    )
    hook_order = {"translate_name": FIRST, "fixups": FIRST}

    def __init__(self) -> None:
        self._lists: dict[int, tuple[list[AliasEntry], list[AliasEntry]]] = {}

    def create_server_config(self) -> AliasServer:
        return AliasServer()

    def create_dir_config(self) -> AliasDir:
        return AliasDir()

    def merge_dir_config(self, base: AliasDir, add: AliasDir) -> AliasDir:
        return AliasDir(add.redirects + base.redirects)  # the inner section's first, as httpd

    def post_config(self, config: Config) -> None:
        main: AliasServer = config.main.module_conf[self.name]
        self._lists = {id(config.main): (main.redirects, main.aliases)}
        for vhost in config.vhosts:
            own: AliasServer = vhost.module_conf[self.name]
            self._lists[id(vhost)] = (own.redirects + main.redirects, own.aliases + main.aliases)

    def unused_hooks(self, config: Config) -> Collection[str]:
        unused = []
        if not any(redirects or aliases for redirects, aliases in self._lists.values()):
            unused.append("translate_name")
        sections = [s for server in (config.main, *config.vhosts) for s in server.sections]
        if not any(
            conf is not None and conf.redirects for conf in (s.dir.get(self.name) for s in sections)
        ):
            unused.append("fixups")
        return unused

    def _for(self, server: ServerConfig) -> tuple[list[AliasEntry], list[AliasEntry]]:
        lists = self._lists.get(id(server))
        if lists is None:
            conf: AliasServer = server.module_conf[self.name]
            lists = (conf.redirects, conf.aliases)
        return lists

    def translate_name(self, req: Request) -> bool | None:
        redirects, aliases = self._for(req.server)
        if not redirects and not aliases:
            return None
        path = req.path
        if not path.startswith("/"):
            return None
        if redirects:
            match_redirect(req, redirects)
        for e in aliases:
            if e.regex is not None:
                m = e.regex.search(path)
                if m is None:
                    continue
                filename = substitute(e.template, m)
            else:
                assert e.fake is not None and e.real is not None
                n = alias_matches(path, e.fake)
                if not n:
                    continue
                filename = join_target(e.real, path[n:])
            req.filename = filename
            req.notes["fs_root"] = e.root
            return True
        return None

    def fixups(self, req: Request) -> bool | None:
        conf: AliasDir | None = req.dir.get(self.name)
        if conf is not None and conf.redirects:
            match_redirect(req, conf.redirects)
        return None
