"""autoindex_module: the "Index of /dir" page for directories with Options Indexes (mod_autoindex).

Owns the handler (hook order MIDDLE, ahead of the core's default handler)
that lists a directory when dir.py found no DirectoryIndex file, and the
directives that shape the page: IndexOptions, IndexOrderDefault,
IndexIgnore, IndexIgnoreReset, AddDescription, HeaderName/ReadmeName.
AddIcon* / AddAlt* / DefaultIcon / IndexStyleSheet / IndexHeadInsert are
accepted so Apache configurations load, and are otherwise ignored. Two
choices of our own: the default charset is UTF-8 (httpd says ISO-8859-1 on
Unix, then every Debian config sets Charset=UTF-8), and HeaderName/ReadmeName
name files in the listed directory (not arbitrary URLs).

What is listed follows httpd's sub-request rule: an entry appears only if
a request for it would be allowed -- ignored names, entries the Require
rules refuse (unless ShowForbidden), links the Options forbid, broken links
and special files are left out.

How the page looks -- sorting, columns, escaping, the HTML itself -- is
``autoindex_page.py``'s: this file decides what is listed and hands it over.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

from mpmd.config.parser import split_args
from mpmd.config.registry import ANYWHERE, MIDDLE, Directive, Module, Syntax, directive, parse_flag
from mpmd.http.errors import HttpError
from mpmd.http.request import latin1_to_fs
from mpmd.log.levels import ERROR
from mpmd.modules import static as files
from mpmd.modules.autoindex_page import (
    DEFAULT_DESC_WIDTH,
    DEFAULT_NAME_WIDTH,
    FANCY_INDEXING,
    IGNORE_CLIENT,
    K_ADJUST,
    K_DESC,
    K_LAST_MOD,
    K_NAME,
    K_NOADJUST,
    K_SIZE,
    K_UNSET,
    KEYWORDS,
    NO_OPTIONS,
    OPTION_UNSET,
    SHOW_FORBIDDEN,
    SUPPRESS_COLSORT,
    TABLE_INDEXING,
    Entry,
    Included,
    escape_html,
    parse_query,
    plain_text_block,
    render,
    sort_entries,
)

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.http.request import Request


# ----------------------------------------------------------------------------
# Configuration


@dataclass
class AutoindexDir:
    """autoindex_module's per-directory configuration (httpd's autoindex_config_rec)."""

    opts: int = OPTION_UNSET
    incremented: int = 0
    decremented: int = 0
    name_width: int = DEFAULT_NAME_WIDTH
    name_adjust: int = K_UNSET
    desc_width: int = DEFAULT_DESC_WIDTH
    desc_adjust: int = K_UNSET
    default_key: str = ""
    default_direction: str = ""
    ignore: list[str] = field(default_factory=list)
    ignore_reset: bool = False
    descriptions: list[tuple[str, str, bool, bool]] = field(
        default_factory=list
    )  # pattern, text, full path, wildcards
    header: str | None = None
    readme: str | None = None
    ctype: str | None = None
    charset: str | None = None
    datetime_format: str | None = None

    @property
    def options(self) -> int:
        """The options in force (an unmerged section's own, or a merge's result)."""
        opts = 0 if self.opts == OPTION_UNSET else self.opts
        return (opts | self.incremented) & ~self.decremented


def merge_autoindex(base: AutoindexDir, add: AutoindexDir) -> AutoindexDir:
    """httpd's merge_autoindex_configs: absolute IndexOptions replace, +/- ones accumulate."""
    new = AutoindexDir(
        name_width=add.name_width if add.name_adjust != K_UNSET else base.name_width,
        name_adjust=add.name_adjust if add.name_adjust != K_UNSET else base.name_adjust,
        desc_width=add.desc_width if add.desc_adjust != K_UNSET else base.desc_width,
        desc_adjust=add.desc_adjust if add.desc_adjust != K_UNSET else base.desc_adjust,
        default_key=add.default_key or base.default_key,
        default_direction=add.default_direction or base.default_direction,
        ignore=add.ignore if add.ignore_reset else add.ignore + base.ignore,
        descriptions=add.descriptions + base.descriptions,
        header=add.header if add.header is not None else base.header,
        readme=add.readme if add.readme is not None else base.readme,
        ctype=add.ctype or base.ctype,
        charset=add.charset if add.charset is not None else base.charset,
        datetime_format=add.datetime_format or base.datetime_format,
    )
    if add.opts == NO_OPTIONS:
        new.opts = NO_OPTIONS
        return new
    if add.opts == OPTION_UNSET:
        new.incremented = (base.incremented | add.incremented) & ~add.decremented
        new.decremented = base.decremented | add.decremented
        opts = base.opts & ~NO_OPTIONS
    else:
        opts = add.opts
    new.opts = (opts | new.incremented) & ~new.decremented
    return new


# ----------------------------------------------------------------------------
# Directives


def _conf(cmd: Cmd) -> AutoindexDir:
    conf: AutoindexDir = cmd.dir_conf("autoindex_module")
    return conf


def _number(cmd: Cmd, text: str) -> int:
    digits = ""
    for ch in text:  # atoi: leading digits
        if not ch.isdigit():
            break
        digits += ch
    return int(digits) if digits else 0


@directive("IndexOptions", Syntax.RAW_ARGS, ANYWHERE, "one or more index options [+|-][]")
def _index_options(cmd: Cmd, text: str) -> None:
    d = _conf(cmd)
    opts, add, remove = d.opts, d.incremented, d.decremented
    words = split_args(text)
    if not words:
        raise cmd.error(
            "IndexOptions requires at least one argument, one or more index options [+|-][]"
        )
    for word in words:
        action = word[0] if word[0] in "+-" else ""
        w = word[1:] if action else word
        lw = w.lower()
        option = KEYWORDS.get(lw, 0)
        if option:
            pass
        elif lw == "none":
            if action:
                raise cmd.error("Cannot combine '+' or '-' with 'None' keyword")
            opts, add, remove = NO_OPTIONS, 0, 0
            continue
        elif lw in ("iconwidth", "iconheight") or lw.startswith(("iconwidth=", "iconheight=")):
            continue  # icon sizes: accepted, no icons are drawn
        elif lw == "namewidth":
            if action != "-":
                raise cmd.error("NameWidth with no value may only appear as '-NameWidth'")
            d.name_width, d.name_adjust = DEFAULT_NAME_WIDTH, K_NOADJUST
            continue
        elif lw.startswith("namewidth="):
            if action == "-":
                raise cmd.error("Cannot combine '-' with NameWidth=n")
            if w[10:11] == "*":
                d.name_adjust = K_ADJUST
            else:
                width = _number(cmd, w[10:])
                if width and width < 5:
                    raise cmd.error("NameWidth value must be greater than 5")
                d.name_width, d.name_adjust = width, K_NOADJUST
            continue
        elif lw == "descriptionwidth":
            if action != "-":
                raise cmd.error(
                    "DescriptionWidth with no value may only appear as '-DescriptionWidth'"
                )
            d.desc_width, d.desc_adjust = DEFAULT_DESC_WIDTH, K_NOADJUST
            continue
        elif lw.startswith("descriptionwidth="):
            if action == "-":
                raise cmd.error("Cannot combine '-' with DescriptionWidth=n")
            if w[17:18] == "*":
                d.desc_adjust = K_ADJUST
            else:
                width = _number(cmd, w[17:])
                if width and width < 12:
                    raise cmd.error("DescriptionWidth value must be greater than 12")
                d.desc_width, d.desc_adjust = width, K_NOADJUST
            continue
        elif lw.startswith("type="):
            d.ctype = w[5:]
            continue
        elif lw.startswith("charset="):
            d.charset = w[8:]
            continue
        elif lw == "useolddateformat":
            d.datetime_format = "%d-%b-%Y %H:%M"
            continue
        else:
            raise cmd.error("Invalid directory indexing option")
        if not action:
            opts = (0 if opts == OPTION_UNSET else opts) | option
            add, remove = 0, 0
        elif action == "+":
            add |= option
            remove &= ~option
        else:
            remove |= option
            add &= ~option
    if opts & NO_OPTIONS and opts & ~NO_OPTIONS:
        raise cmd.error("Cannot combine other IndexOptions keywords with 'None'")
    d.opts, d.incremented, d.decremented = opts, add, remove


@directive(
    "IndexOrderDefault",
    Syntax.TAKE2,
    ANYWHERE,
    "{Ascending,Descending} {Name,Size,Description,Date}",
)
def _index_order_default(cmd: Cmd, direction: str, key: str) -> None:
    d = _conf(cmd)
    directions = {"ascending": "A", "descending": "D"}
    keys = {"name": K_NAME, "date": K_LAST_MOD, "size": K_SIZE, "description": K_DESC}
    if direction.lower() not in directions:
        raise cmd.error("First keyword must be 'Ascending' or 'Descending'")
    if key.lower() not in keys:
        raise cmd.error("Second keyword must be 'Name', 'Date', 'Size', or 'Description'")
    d.default_direction, d.default_key = directions[direction.lower()], keys[key.lower()]


@directive("IndexIgnore", Syntax.ITERATE, ANYWHERE, "one or more file extensions")
def _index_ignore(cmd: Cmd, *patterns: str) -> None:
    _conf(cmd).ignore.extend(p.rsplit("/", 1)[-1] for p in patterns)


@directive(
    "IndexIgnoreReset", Syntax.FLAG, ANYWHERE, "Reset the inherited list of IndexIgnore filenames"
)
def _index_ignore_reset(cmd: Cmd, value: str) -> None:
    _conf(cmd).ignore_reset = parse_flag(value)


@directive(
    "AddDescription",
    Syntax.ITERATE2,
    ANYWHERE,
    "Descriptive text followed by one or more filenames",
)
def _add_description(cmd: Cmd, text: str, *names: str) -> None:
    d = _conf(cmd)
    for to in names:
        full_path = "/" in to
        wildcards = full_path or any(c in to for c in "*?[")
        pattern = (("*/" if full_path else "*") + to + "*") if wildcards else to
        d.descriptions.append((pattern, text, full_path, wildcards))


@directive("HeaderName", Syntax.TAKE1, ANYWHERE, "a filename")
def _header_name(cmd: Cmd, name: str) -> None:
    _conf(cmd).header = name


@directive("ReadmeName", Syntax.TAKE1, ANYWHERE, "a filename")
def _readme_name(cmd: Cmd, name: str) -> None:
    _conf(cmd).readme = name


def _accepted(name: str, syntax: Syntax, doc: str) -> Directive:
    """A directive Apache configurations use that changes nothing here (icons, style sheets)."""

    def apply(cmd: Cmd, *args: str) -> None:
        return None

    return directive(
        name, syntax, ANYWHERE, doc + " (accepted; mpmd draws no icons and adds no style)"
    )(apply)


_IGNORED = tuple(
    _accepted(name, syntax, doc)
    for name, syntax, doc in (
        ("AddIcon", Syntax.ITERATE2, "an icon URL followed by one or more filenames"),
        ("AddIconByType", Syntax.ITERATE2, "an icon URL followed by one or more MIME types"),
        (
            "AddIconByEncoding",
            Syntax.ITERATE2,
            "an icon URL followed by one or more content encodings",
        ),
        ("AddAlt", Syntax.ITERATE2, "alternate descriptive text followed by one or more filenames"),
        (
            "AddAltByType",
            Syntax.ITERATE2,
            "alternate descriptive text followed by one or more MIME types",
        ),
        (
            "AddAltByEncoding",
            Syntax.ITERATE2,
            "alternate descriptive text followed by one or more content encodings",
        ),
        ("DefaultIcon", Syntax.TAKE1, "an icon URL"),
        ("IndexStyleSheet", Syntax.TAKE1, "URL to style sheet"),
        ("IndexHeadInsert", Syntax.TAKE1, "String to insert in HTML HEAD section"),
    )
)


# ----------------------------------------------------------------------------
# What is listed


def find_description(conf: AutoindexDir, path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    for pattern, text, full_path, wildcards in conf.descriptions:
        subject = path if full_path else name
        if fnmatchcase(subject, pattern) if wildcards else pattern in subject:
            return text
    return None


def ignored(conf: AutoindexDir, name: str) -> bool:
    return any(fnmatchcase(name, p) for p in conf.ignore)


# ----------------------------------------------------------------------------
# The module


class AutoindexModule(Module):
    name = "autoindex_module"
    source = "mod_autoindex.c"
    static = False
    directives = (
        _index_options, _index_order_default, _index_ignore, _index_ignore_reset,
        _add_description, _header_name, _readme_name, *_IGNORED,
    )  # fmt: skip
    hook_order = {"handler": MIDDLE}

    def create_dir_config(self) -> AutoindexDir:
        return AutoindexDir()

    def merge_dir_config(self, base: AutoindexDir, add: AutoindexDir) -> AutoindexDir:
        return merge_autoindex(base, add)

    def handler(self, req: Request) -> bool | None:
        handler = req.handler
        if handler is not None and handler not in (files.DIR_MAGIC_TYPE, "default-handler"):
            return None
        if req.filename is None or req.method not in ("GET", "HEAD"):
            return None
        info = files.lookup(req, req.filename)
        if info is None or not info.is_dir:
            return None
        if not req.dir["core_module"].effective_options & files.OPT_INDEXES:
            return None  # the default handler refuses it with AH01276
        try:
            self._index(req, info)
        finally:
            info.close()
        return True

    def _index(self, req: Request, info: files.FileInfo) -> None:
        conf: AutoindexDir = req.dir[self.name]
        opts = conf.options
        key = conf.default_key or K_NAME
        direction = conf.default_direction or "A"
        pattern: str | None = None
        colargs = ""
        if opts & IGNORE_CLIENT:
            opts |= SUPPRESS_COLSORT
        else:
            key, direction, opts, pattern, colargs = parse_query(req.query, key, direction, opts)
        ctype = conf.ctype or "text/html"
        charset = conf.charset if conf.charset is not None else "UTF-8"
        headers = [("Content-Type", f"{ctype};charset={charset}" if charset else ctype)]
        entries = self._entries(req, info, conf, opts, key, pattern)
        entries = sort_entries(entries, key, direction == "A", opts)
        title = escape_html(latin1_to_fs(req.path).rstrip("/") or "/")
        header = self._included(req, info, conf.header, opts)
        readme = self._included(req, info, conf.readme, opts)
        site = req.conn.site
        signature = site.signature(req, req.dir["core_module"].server_signature)
        page = render(
            title, entries, conf, opts, key, direction, colargs, header, readme, signature
        )
        req.respond(200, headers, page.encode("utf-8", "surrogateescape"))

    def _entries(
        self,
        req: Request,
        info: files.FileInfo,
        conf: AutoindexDir,
        opts: int,
        key: str,
        pattern: str | None,
    ) -> list[Entry]:
        entries: list[Entry] = []
        path = req.path if req.path.endswith("/") else req.path + "/"
        fancy = bool(opts & (FANCY_INDEXING | TABLE_INDEXING))
        if path != "/" and not ignored(conf, ".."):
            parent = path[: path.rstrip("/").rfind("/") + 1] or "/"
            desc = find_description(conf, info.path.rstrip("/") + "/..") if fancy else None
            entries.append(Entry(parent, True, -1, -1, desc, is_parent=True))
        try:
            listing = os.scandir(info.fd if info.fd >= 0 else info.path)
        except OSError:
            req.log(ERROR, f"AH01275: Can't open directory for index: {files.shown(info.path)}")
            raise HttpError(403, log=False) from None
        dir_path = info.path.rstrip("/")
        link_options = files.directory_options(req.server, dir_path)
        req_options = req.dir["core_module"].effective_options
        with listing:
            for d in listing:
                name = d.name
                if pattern is not None and not fnmatchcase(name, pattern):
                    continue
                if ignored(conf, name):
                    continue
                try:
                    st = d.stat()  # follows links: a broken link is left out, as httpd
                    if d.is_symlink():
                        lst = d.stat(follow_symlinks=False)
                        if not (
                            files.link_allowed(link_options, lst, st)
                            and files.link_allowed(req_options, lst, st)
                        ):
                            continue  # its sub-request would be refused
                except OSError:
                    continue
                is_dir = stat.S_ISDIR(st.st_mode)
                if not is_dir and not stat.S_ISREG(st.st_mode):
                    continue
                full = f"{dir_path}/{name}"
                if not self._visible(req, full, path + files.fs_to_latin1(name), opts):
                    continue
                entries.append(
                    Entry(
                        name + "/" if is_dir else name,
                        is_dir,
                        -1 if is_dir or not fancy else st.st_size,
                        st.st_mtime if fancy else -1,
                        find_description(conf, full) if fancy else None,
                    )
                )
        if key == K_LAST_MOD:
            for e in entries:
                if e.mtime < 0 and not e.is_parent:
                    e.mtime = 0
        return entries

    def _visible(self, req: Request, filename: str, uri: str, opts: int) -> bool:
        """Would a request for this entry pass the access checks? (httpd's per-entry sub-request)"""
        site = req.conn.site
        if not site.access:
            return True
        saved = req.dir, req.filename
        req_filename = files.fs_to_latin1(filename)
        req.dir = req.server.dir_config_for(filename, uri)
        req.filename = req_filename
        try:
            for access in site.access:
                access(req)
        except HttpError as e:
            return bool(opts & SHOW_FORBIDDEN) and e.status in (401, 403)
        finally:
            req.dir, req.filename = saved
        return True

    def _included(
        self, req: Request, info: files.FileInfo, name: str | None, opts: int
    ) -> Included | None:
        """HeaderName/ReadmeName: a file in the listed directory, if a request for it would be allowed."""
        if not name or "/" in name:
            return None
        candidates = [name] if "." in name else [name + ".html", name + ".htm", name + ".txt", name]
        directory = info.path.rstrip("/")
        for candidate in candidates:
            full = f"{directory}/{candidate}"
            try:
                # O_NOFOLLOW: a link here is never included, whatever the Options say
                fd = os.open(full, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK | os.O_NOFOLLOW)
            except OSError:
                continue
            try:
                if not stat.S_ISREG(os.fstat(fd).st_mode):
                    continue
                data = os.read(fd, 1 << 20)
            finally:
                os.close(fd)
            uri = req.path.rstrip("/") + "/" + files.fs_to_latin1(candidate)
            if not self._visible(req, full, uri, opts & ~SHOW_FORBIDDEN):
                return None
            if candidate.lower().endswith((".html", ".htm")):
                return Included(data.decode("utf-8", "surrogateescape"), True)
            return Included(plain_text_block(data), False)
        return None
