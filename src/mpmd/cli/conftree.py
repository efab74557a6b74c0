"""Configuration directories in Debian's layout: which one mpmctl works on, and ``mpmctl init``.

A configuration directory is a ServerRoot holding ``mpmd.conf`` and the
``mods-``, ``conf-`` and ``sites-available/enabled`` pairs. mpmctl picks it as
Debian's apache2ctl picks ``$APACHE_CONFDIR``: ``-d DIR``, else
``$MPMD_CONFDIR``, else the embedded default inside the package (which is
read, never written: ``init`` copies it to a directory of the user's own).

This module knows paths and files only; it runs no server and reads no
configuration syntax beyond the three lines ``init`` points into the copy.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from mpmd.cli.mpmd import EMBEDDED_ROOT

CONF_FILE = "mpmd.conf"
ENV_CONFDIR = "MPMD_CONFDIR"
# Debian's pairs: (available, enabled)
PAIRS = ("mods", "conf", "sites")

# In the copy, the pid file and the logs live in the tree (the embedded default
# puts the pid in the runtime directory and logs on the terminal, for `make run`).
INIT_REWRITES = {
    "PidFile": "PidFile run/mpmd.pid",
    "ErrorLog": "ErrorLog logs/error_log",
    "CustomLog": "CustomLog logs/access_log combined",
}


class TreeError(Exception):
    """A configuration directory that cannot be used or made; the message says why."""


@dataclass(frozen=True)
class ConfDir:
    """The configuration directory mpmctl works on."""

    root: Path
    embedded: bool

    @property
    def conf_file(self) -> Path:
        return self.root / CONF_FILE

    def mpmd_args(self) -> list[str]:
        """The ``mpmd`` flags that read this configuration (none for the embedded default)."""
        if self.embedded:
            return []
        return ["-d", str(self.root), "-f", CONF_FILE]

    def describe(self) -> str:
        return f"the embedded default ({self.root})" if self.embedded else str(self.root)


def is_embedded(path: Path) -> bool:
    return os.path.realpath(path) == os.path.realpath(EMBEDDED_ROOT)


def choose(option: str | None, environ: Mapping[str, str]) -> ConfDir:
    """``-d DIR``, else ``$MPMD_CONFDIR``, else the embedded default."""
    given = option or environ.get(ENV_CONFDIR) or ""
    if not given:
        return ConfDir(EMBEDDED_ROOT, embedded=True)
    root = Path(given).expanduser().absolute()
    return ConfDir(root, embedded=is_embedded(root))


def require_writable(confdir: ConfDir, verb: str) -> None:
    """Refuse to change the package's own tree; the message tells what to do instead."""
    if confdir.embedded:
        raise TreeError(
            f"mpmctl {verb}: {confdir.root} is mpmd's embedded default configuration, "
            "part of the installed package; mpmctl does not change it.\n"
            "Make a configuration directory of your own and work on that:\n"
            "  mpmctl init DIR\n"
            f"  mpmctl -d DIR {verb} ...        (or: export {ENV_CONFDIR}=DIR)"
        )
    if not (confdir.root / "mods-available").is_dir():
        raise TreeError(
            f"mpmctl {verb}: {confdir.root} is not a configuration directory "
            "(it has no mods-available/); make one with: mpmctl init DIR"
        )


def init(dest: Path, source: Path = EMBEDDED_ROOT) -> list[str]:
    """Copy the embedded tree to ``dest``; returns what to tell the user."""
    dest = dest.expanduser().absolute()
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise TreeError(
            f"mpmctl init: {dest} exists and is not an empty directory; not touching it"
        )
    conf_text = rewrite_for_copy((source / CONF_FILE).read_text(encoding="utf-8"))
    dest.mkdir(parents=True, exist_ok=True)
    _copy_tree(source, dest)
    (dest / CONF_FILE).write_text(conf_text, encoding="utf-8")
    for folder in ("logs", "run"):
        (dest / folder).mkdir(exist_ok=True)
    return [
        f"Created {dest} from mpmd's default configuration.",
        f"  {dest / CONF_FILE}: global settings; PidFile run/mpmd.pid, logs in logs/",
        "  mods-, conf- and sites-available/ and -enabled/: Debian's layout",
        "Operate it with:",
        f"  mpmctl -d {dest} configtest|start|status|stop|enmod|ensite ...",
        f"  (or: export {ENV_CONFDIR}={dest})",
    ]


def rewrite_for_copy(text: str) -> str:
    """Point the copy's PidFile and logs into its tree (each directive must appear once)."""
    for directive, line in INIT_REWRITES.items():
        pattern = re.compile(rf"^{directive}\s.*$", re.MULTILINE)
        found = pattern.findall(text)
        if len(found) != 1:
            # the embedded mpmd.conf changed shape: fail loudly rather than copy a tree
            # whose pid file is outside it
            raise TreeError(
                f"mpmctl init: expected one top-level {directive} line in the default "
                f"{CONF_FILE}, found {len(found)}"
            )
        text = pattern.sub(line, text, count=1)
    return text


def _copy_tree(source: Path, dest: Path) -> None:
    """Copy files; keep the ``*-enabled`` symlinks as relative symlinks.

    An installed wheel may hold the enabled entries as plain copies (wheels
    cannot carry symlinks): an entry identical to its ``*-available`` twin is
    turned back into the symlink Debian's tools expect.
    """
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        rel = Path(dirpath).relative_to(source)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in [*filenames, *(d for d in dirnames if (Path(dirpath) / d).is_symlink())]:
            src = Path(dirpath) / name
            target = dest / rel / name
            link = _relative_link(source, src)
            if link is not None:
                os.symlink(link, target)
            else:
                shutil.copy2(src, target)


def _relative_link(source: Path, entry: Path) -> str | None:
    """What ``entry`` should be a relative symlink to in the copy, or None to copy it."""
    parent = entry.parent
    if entry.is_symlink():
        pointed = Path(os.path.normpath(parent / os.readlink(entry)))
        if pointed.is_relative_to(source):
            return os.path.relpath(pointed, parent)
        return os.readlink(entry)  # outside the tree: keep it as the user made it
    if parent.name.endswith("-enabled"):
        twin = parent.parent / (parent.name.removesuffix("-enabled") + "-available") / entry.name
        if twin.is_file() and twin.read_bytes() == entry.read_bytes():
            return os.path.relpath(twin, parent)
    return None
