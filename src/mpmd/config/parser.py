"""Apache configuration syntax -> a tree of nodes.

What this owns: comments, ``\\`` continuation lines, sections and their
nesting, argument splitting with quotes (Apache's ``ap_getword_conf``) and
``${VAR}`` substitution. It knows nothing of what a directive means; the
loader walks the nodes in order and applies them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mpmd.config.errors import ConfigError


@dataclass
class Node:
    """A directive (``children is None``) or a section with its body."""

    name: str
    args: str
    file: str
    line: int
    children: list[Node] | None = None

    @property
    def is_section(self) -> bool:
        return self.children is not None


def logical_lines(text: str) -> list[tuple[int, str]]:
    """Join ``\\``-continued lines; drop blanks and comments; keep the first line's number."""
    out: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r\n")
        if not pending:
            start = number
        stripped = line.rstrip()
        if stripped.endswith("\\"):
            pending.append(stripped[:-1])
            continue
        pending.append(line)
        joined = "".join(pending).strip()
        pending = []
        if joined and not joined.startswith("#"):
            out.append((start, joined))
    if pending:
        joined = "".join(pending).strip()
        if joined and not joined.startswith("#"):
            out.append((start, joined))
    return out


def parse_text(text: str, file: str) -> list[Node]:
    """Parse configuration text into nodes; section nesting is checked here."""
    root: list[Node] = []
    stack: list[Node] = []
    body = root
    for number, line in logical_lines(text):
        if line.startswith("</"):
            name = line[2:].rstrip().rstrip(">").strip()
            if not line.rstrip().endswith(">"):
                raise ConfigError(f"</{name} directive missing closing '>'", file, number)
            if not stack:
                raise ConfigError(f"</{name}> without matching <{name}> section", file, number)
            opened = stack.pop()
            if opened.name.lower() != name.lower():
                raise ConfigError(f"Expected </{opened.name}> but saw </{name}>", file, number)
            body = stack[-1].children if stack else root  # type: ignore[assignment]
            continue
        if line.startswith("<"):
            words = line[1:].split(None, 1)
            if not words or words[0] == ">":
                raise ConfigError(
                    f"Invalid command '{line.split(None, 1)[0]}', perhaps misspelled or defined "
                    "by a module not included in the server configuration",
                    file,
                    number,
                )
            if not line.endswith(">"):
                raise ConfigError(f"<{words[0]}> directive missing closing '>'", file, number)
            inner = line[1:-1].strip()
            parts = inner.split(None, 1)
            node = Node(parts[0], parts[1] if len(parts) > 1 else "", file, number, [])
            body.append(node)
            stack.append(node)
            body = node.children  # type: ignore[assignment]
            continue
        parts = line.split(None, 1)
        body.append(Node(parts[0], parts[1] if len(parts) > 1 else "", file, number))
    if stack:
        opened = stack[-1]
        raise ConfigError(f"<{opened.name}> was not closed.", opened.file, opened.line)
    return root


def read_file(path: str) -> str:
    """A configuration file's text; a file that cannot be read is httpd's error."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as e:
        raise ConfigError(f"Could not open configuration file {path}: {e.strerror}") from None


def parse_file(path: str) -> list[Node]:
    return parse_text(read_file(path), path)


def split_args(text: str) -> list[str]:
    """Split arguments as Apache's ``ap_getword_conf``: whitespace, or "..."/'...' quotes.

    A backslash escapes a backslash, and inside quotes the quote character too
    (httpd's ``substring_conf``).
    """
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            break
        ch = text[i]
        if ch in "\"'":
            quote = ch
            i += 1
            buf: list[str] = []
            while i < n and text[i] != quote:
                if text[i] == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
                    i += 1
                buf.append(text[i])
                i += 1
            i += 1  # the closing quote (a missing one ends the word, as httpd)
            words.append("".join(buf))
        else:
            start = i
            while i < n and not text[i].isspace():
                i += 1
            words.append(text[start:i].replace("\\\\", "\\"))
    return words


_VAR = re.compile(r"\$\{([A-Za-z0-9_.:-]+)\}")


def substitute(
    text: str,
    defines: Mapping[str, str],
    warn: Callable[[str], None] | None = None,
    environ: Mapping[str, str] = os.environ,
) -> str:
    """Replace ``${VAR}`` by a ``Define``d value or an environment variable (``ap_resolve_env``)."""
    if "${" not in text:
        return text

    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name in defines:
            return defines[name]
        if name in environ:
            return environ[name]
        if warn is not None:
            warn(f"AH00111: Config variable ${{{name}}} is not defined")
        return m.group(0)

    return _VAR.sub(repl, text)
