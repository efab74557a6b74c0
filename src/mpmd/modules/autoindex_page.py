"""The "Index of /dir" page of autoindex_module: entries and options in, HTML text out.

Owns what mod_autoindex's page looks like, byte for byte where it can be:
the IndexOptions bits that shape it and their keywords (httpd's values),
the column keys;
the client's ``?C=N;O=D`` (and ``F=``, ``V=``, ``P=``) arguments; the order
of the rows (httpd's dsortf: Parent Directory first, FoldersFirst, then the
key); plain list, FancyIndexing ``<pre>`` or HTMLTable; sizes as
apr_strfsize, dates as ``%Y-%m-%d %H:%M``, descriptions cut to their width;
HeaderName/ReadmeName text. mpmd draws no icons: the icon column is there
(empty, as httpd without AddIcon) unless ``IndexOptions SuppressIcon``.
Names are HTML-escaped and URL-quoted here.

Must not touch: the filesystem, the request or the directives. Which
entries are listed (reading the directory, IndexIgnore, the Require rules,
links) and the IndexOptions parsing are ``autoindex.py``'s; this file is
given the entries and the options and returns text.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote

if TYPE_CHECKING:
    from mpmd.modules.autoindex import AutoindexDir

# IndexOptions bits (httpd's values, so that the merge logic in autoindex.py reads as httpd's)
NO_OPTIONS = 1 << 0
ICONS_ARE_LINKS = 1 << 1
SCAN_HTML_TITLES = 1 << 2
SUPPRESS_ICON = 1 << 3
SUPPRESS_LAST_MOD = 1 << 4
SUPPRESS_SIZE = 1 << 5
SUPPRESS_DESC = 1 << 6
SUPPRESS_PREAMBLE = 1 << 7
SUPPRESS_COLSORT = 1 << 8
SUPPRESS_RULES = 1 << 9
FOLDERS_FIRST = 1 << 10
VERSION_SORT = 1 << 11
TRACK_MODIFIED = 1 << 12
FANCY_INDEXING = 1 << 13
TABLE_INDEXING = 1 << 14
IGNORE_CLIENT = 1 << 15
IGNORE_CASE = 1 << 16
EMIT_XHTML = 1 << 17
SHOW_FORBIDDEN = 1 << 18
ADDALTCLASS = 1 << 19
OPTION_UNSET = 1 << 20

KEYWORDS = {
    "fancyindexing": FANCY_INDEXING,
    "foldersfirst": FOLDERS_FIRST,
    "htmltable": TABLE_INDEXING,
    "iconsarelinks": ICONS_ARE_LINKS,  # accepted; no icons are drawn
    "ignorecase": IGNORE_CASE,
    "ignoreclient": IGNORE_CLIENT,
    "scanhtmltitles": SCAN_HTML_TITLES,
    "suppresscolumnsorting": SUPPRESS_COLSORT,
    "suppressdescription": SUPPRESS_DESC,
    "suppresshtmlpreamble": SUPPRESS_PREAMBLE,
    "suppressicon": SUPPRESS_ICON,
    "suppresslastmodified": SUPPRESS_LAST_MOD,
    "suppresssize": SUPPRESS_SIZE,
    "suppressrules": SUPPRESS_RULES,
    "trackmodified": TRACK_MODIFIED,
    "versionsort": VERSION_SORT,
    "xhtml": EMIT_XHTML,
    "showforbidden": SHOW_FORBIDDEN,
    "addaltclass": ADDALTCLASS,  # accepted; only meaningful with IndexStyleSheet
}

K_NAME, K_LAST_MOD, K_SIZE, K_DESC = "N", "M", "S", "D"
DEFAULT_NAME_WIDTH = 23
DEFAULT_DESC_WIDTH = 23
K_NOADJUST, K_ADJUST, K_UNSET = 0, 1, 2
DATE_FORMAT = "%Y-%m-%d %H:%M"
DOCTYPE_HTML_3_2 = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n'
DOCTYPE_XHTML_1_0T = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"\n'
    ' "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">\n'
)
_NUMBERS = re.compile(r"(\d+)")
_QUERY_SPLIT = re.compile(r"[;&]")
_PATH_SAFE = "$-_.+!*'(),:@&=/~"
_HTML_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})


# ----------------------------------------------------------------------------
# Rows: escaping, sizes, order, the client's arguments


@dataclass
class Entry:
    """One row of the listing, as autoindex.py found it."""

    name: str  # filesystem name, "/" appended for a directory; the parent's is its URL path
    is_dir: bool
    size: int  # -1: not shown ("-")
    mtime: float  # -1: not shown
    desc: str | None = None
    is_parent: bool = False


def escape_html(text: str) -> str:
    """ap_escape_html: & < > and the double quote."""
    return text.translate(_HTML_ESCAPES)


def escape_href(name: str) -> str:
    """ap_os_escape_path(name, 0): a relative link that a colon cannot turn into a scheme."""
    raw = name.encode("utf-8", "surrogateescape")
    quoted = quote(raw, safe=_PATH_SAFE)
    if ":" in name.split("/", 1)[0]:
        quoted = "./" + quoted
    return escape_html(quoted)


def strfsize(size: int) -> str:
    """apr_strfsize: four characters, as "  5 ", "1.2K", " 12M"."""
    if size < 0:
        return "  - "
    if size < 973:
        return f"{size:3d} "
    units = "KMGTPE"
    i = 0
    while True:
        remain = size & 1023
        size >>= 10
        if size >= 973:
            i += 1
            continue
        if size < 9 or (size == 9 and remain < 973):
            tenth = (remain * 5 + 256) // 512
            if tenth >= 10:
                size, tenth = size + 1, 0
            return f"{size}.{tenth}{units[i]}"
        if remain >= 512:
            size += 1
        return f"{size:3d}{units[i]}"


def natural_key(text: str) -> tuple[tuple[int, int, str], ...]:
    """apr_strnatcmp's order, near enough: digit runs compare as numbers."""
    out = []
    for i, part in enumerate(_NUMBERS.split(text)):
        if i % 2:
            out.append((1, int(part), part))
        elif part:
            out.append((0, 0, part))
    return tuple(out)


def sort_entries(entries: list[Entry], key: str, ascending: bool, opts: int) -> list[Entry]:
    """httpd's dsortf: parent first, then folders (FoldersFirst), then the key, then the name."""
    version = bool(opts & VERSION_SORT)
    ignore_case = bool(opts & IGNORE_CASE)

    def name_key(e: Entry) -> tuple[object, ...]:
        parts: list[object] = []
        if version:
            if ignore_case:
                parts.append(natural_key(e.name.lower()))
            parts.append(natural_key(e.name))
        if ignore_case:
            parts.append(e.name.lower())
        parts.append(e.name)
        return tuple(parts)

    def full_key(e: Entry) -> tuple[object, ...]:
        if key == K_LAST_MOD:
            primary: tuple[object, ...] = (e.mtime,)
        elif key == K_SIZE:
            primary = (e.size,)
        elif key == K_DESC:
            d = e.desc or ""
            primary = (natural_key(d),) if version else (d,)
        else:
            primary = ()
        return primary + name_key(e)

    parents = [e for e in entries if e.is_parent]
    rest = [e for e in entries if not e.is_parent]
    if opts & FOLDERS_FIRST:
        groups = [[e for e in rest if e.is_dir], [e for e in rest if not e.is_dir]]
    else:
        groups = [rest]
    out = parents
    for g in groups:
        out += sorted(g, key=full_key, reverse=not ascending)
    return out


def parse_query(
    query: str, key: str, direction: str, opts: int
) -> tuple[str, str, int, str | None, str]:
    """The client's C=, O=, F=, V=, P= arguments, as httpd reads them (stop at the first it does not know).

    Returns key, direction, options, the P= pattern and the arguments the
    column links must carry on (F=, V=, P=).
    """
    pattern: str | None = None
    fval = vval = pval = ""
    for item in _QUERY_SPLIT.split(query) if query else []:
        name, _, value = item.partition("=")
        if name == "C" and value in ("N", "M", "S", "D"):
            key = value
        elif name == "O" and value in ("A", "D"):
            direction = value
        elif name == "F" and value in ("0", "1", "2"):
            if value == "0":
                opts &= ~(FANCY_INDEXING | TABLE_INDEXING)
            elif value == "1":
                opts = (opts | FANCY_INDEXING) & ~TABLE_INDEXING
            else:
                opts |= FANCY_INDEXING | TABLE_INDEXING
            fval = f";F={value}"
        elif name == "V" and value in ("0", "1"):
            opts = opts | VERSION_SORT if value == "1" else opts & ~VERSION_SORT
            vval = f";V={value}"
        elif name == "P":
            pattern = unquote(value) or None
            pval = f";P={escape_html(quote(pattern, safe=_PATH_SAFE))}" if pattern else ""
        else:
            break
    return key, direction, opts, pattern, fval + vval + pval


def truncate_description(desc: str, width: int) -> str:
    """httpd's terminate_description: count visible characters, markup and entities as one."""
    count = 0
    i = 0
    n = len(desc)
    while i < n:
        c = desc[i]
        if c == "<":
            end = desc.find(">", i)
            if end < 0:
                return desc
            i = end + 1
            continue
        if count >= width:
            return desc[: max(i - 1, 0)] + ">"
        if c == "&":
            end = desc.find(";", i)
            i = n if end < 0 else end + 1
        else:
            i += 1
        count += 1
    return desc


# ----------------------------------------------------------------------------
# The page


@dataclass
class Included:
    """A HeaderName/ReadmeName file ready to insert: HTML as is, text already in <pre>."""

    text: str
    is_html: bool


def render(
    title: str,
    entries: list[Entry],
    conf: AutoindexDir,
    opts: int,
    key: str,
    direction: str,
    colargs: str,
    header: Included | None,
    readme: Included | None,
    signature: str,
) -> str:
    """The whole page as text (httpd's emit_head, output_directories, emit_tail)."""
    suppress_amble = bool(opts & SUPPRESS_PREAMBLE)
    xhtml = bool(opts & EMIT_XHTML)
    out: list[str] = []
    # an HTML header file may bring its own <html><head> (SuppressHTMLPreamble)
    if header is None or not header.is_html or not suppress_amble:
        if xhtml:
            out.append(DOCTYPE_XHTML_1_0T + '<html xmlns="http://www.w3.org/1999/xhtml">\n')
            out.append(f" <head>\n  <title>Index of {title}</title>\n")
        else:
            out.append(f"{DOCTYPE_HTML_3_2}<html>\n <head>\n  <title>Index of {title}</title>\n")
        out.append(" </head>\n <body>\n")
    out.append(header.text if header is not None else f"<h1>Index of {title}</h1>\n")
    out.append(_listing(entries, conf, opts, key, direction, colargs, " /" if xhtml else ""))
    if readme is not None:
        out.append(readme.text)  # a readme replaces the signature
    else:
        out.append(signature)
    if readme is None or not readme.is_html or not suppress_amble:
        out.append("</body></html>\n")
    return "".join(out)


def _link(
    label: str, column: str, key: str, direction: str, colargs: str, static_columns: bool
) -> str:
    if static_columns:
        return label
    order = "D" if key == column and direction == "A" else "A"
    return f'<a href="?C={column};O={order}{colargs}">{label}</a>'


def _listing(
    entries: list[Entry],
    conf: AutoindexDir,
    opts: int,
    key: str,
    direction: str,
    colargs: str,
    close: str,
) -> str:
    """httpd's output_directories."""
    static_columns = bool(opts & SUPPRESS_COLSORT)
    name_width = conf.name_width
    desc_width = conf.desc_width
    date_format = conf.datetime_format or DATE_FORMAT
    table = bool(opts & TABLE_INDEXING)
    fancy = bool(opts & FANCY_INDEXING)
    if fancy and not table:
        if conf.name_adjust == K_ADJUST:
            name_width = max([name_width, *(len(e.name) for e in entries)])
        if conf.desc_adjust == K_ADJUST:
            desc_width = max([desc_width, *(len(e.desc) for e in entries if e.desc)])
    if conf.desc_adjust == K_UNSET:
        # no DescriptionWidth: the description may use the room of suppressed columns (httpd)
        desc_width += (6 if opts & SUPPRESS_ICON else 0) + (19 if opts & SUPPRESS_LAST_MOD else 0)
        desc_width += 7 if opts & SUPPRESS_SIZE else 0
    link = lambda label, column: _link(label, column, key, direction, colargs, static_columns)  # noqa: E731
    out: list[str] = []
    breakrow = ""
    if table:
        cols = 1
        out.append("  <table>\n   <tr>")
        if not opts & SUPPRESS_ICON:
            out.append('<th valign="top">&nbsp;</th>')
            cols += 1
        out.append("<th>" + link("Name", K_NAME))
        if not opts & SUPPRESS_LAST_MOD:
            out.append("</th><th>" + link("Last modified", K_LAST_MOD))
            cols += 1
        if not opts & SUPPRESS_SIZE:
            out.append("</th><th>" + link("Size", K_SIZE))
            cols += 1
        if not opts & SUPPRESS_DESC:
            out.append("</th><th>" + link("Description", K_DESC))
            cols += 1
        if not opts & SUPPRESS_RULES:
            breakrow = f'   <tr><th colspan="{cols}"><hr{close}></th></tr>\n'
        out.append("</th></tr>\n" + breakrow)
    elif fancy:
        out.append("<pre>")
        if not opts & SUPPRESS_ICON:
            out.append("      ")
        out.append(link("Name", K_NAME) + " " * max(name_width - 4, 0) + " ")
        if not opts & SUPPRESS_LAST_MOD:
            out.append(link("Last modified", K_LAST_MOD) + "      ")
        if not opts & SUPPRESS_SIZE:
            out.append(link("Size", K_SIZE) + "  ")
        if not opts & SUPPRESS_DESC:
            out.append(link("Description", K_DESC))
        out.append(f"<hr{close}>" if not opts & SUPPRESS_RULES else "\n")
    else:
        out.append("<ul>")

    for e in entries:
        anchor = escape_html(escape_path_parent(e.name)) if e.is_parent else escape_href(e.name)
        text = "Parent Directory" if e.is_parent else e.name
        if not (table or fancy):
            out.append(f'<li><a href="{anchor}"> {escape_html(text)}</a></li>\n')
            continue
        pad = ""
        if not (table and conf.name_adjust == K_ADJUST):
            if len(text) > name_width:
                text = text[: name_width - 3] + "..>"
            pad = " " * (name_width - len(text))
        cell = f'<a href="{anchor}">{escape_html(text)}</a>{pad}'
        when = time.strftime(date_format, time.localtime(e.mtime)) if e.mtime >= 0 else None
        desc = e.desc
        if desc and conf.desc_adjust != K_ADJUST:
            desc = truncate_description(desc, desc_width)
        if table:
            out.append("<tr>")
            if not opts & SUPPRESS_ICON:
                out.append('<td valign="top">&nbsp;</td>')
            out.append("<td>" + cell)
            if not opts & SUPPRESS_LAST_MOD:
                out.append(f'</td><td align="right">{when}  ' if when else "</td><td>&nbsp;")
            if not opts & SUPPRESS_SIZE:
                out.append(f'</td><td align="right">{strfsize(e.size)}')
            if not opts & SUPPRESS_DESC:
                out.append(f"</td><td>{desc}" if desc else "</td><td>&nbsp;")
            out.append("</td></tr>\n")
        else:
            if not opts & SUPPRESS_ICON:
                out.append("      ")
            out.append(cell + " ")
            if not opts & SUPPRESS_LAST_MOD:
                out.append(f"{when}  " if when else " " * 19)
            if not opts & SUPPRESS_SIZE:
                out.append(strfsize(e.size) + "  ")
            if not opts & SUPPRESS_DESC and desc:
                out.append(desc)
            out.append("\n")
    if table:
        out.append(breakrow + "</table>\n")
    elif fancy:
        out.append(f"<hr{close}></pre>\n" if not opts & SUPPRESS_RULES else "</pre>\n")
    else:
        out.append("</ul>\n")
    return "".join(out)


def escape_path_parent(url_path: str) -> str:
    """The Parent Directory link: the parent's URL path (decoded, one code point per byte)."""
    return quote(url_path.encode("latin-1", "replace"), safe=_PATH_SAFE)


def plain_text_block(data: bytes) -> str:
    """httpd's do_emit_plain: a text file inside <pre>, with & < > escaped."""
    text = data.decode("utf-8", "surrogateescape")
    return (
        "<pre>\n"
        + text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        + "</pre>\n"
    )
