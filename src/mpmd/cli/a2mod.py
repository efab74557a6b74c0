"""``mpmctl enmod|dismod|enconf|disconf|ensite|dissite``: Debian's a2enmod, on symlinks.

Debian keeps what exists in ``X-available/`` and what is used as relative
symlinks in ``X-enabled/`` (X: ``mods``, ``conf``, ``sites``). This follows
Debian's ``a2enmod`` Perl script (its messages, its order and its exit
status) with ``mpmctl restart``/``mpmctl graceful`` where it says
``systemctl restart|reload apache2``:

- a module is ``NAME.load`` (its LoadModule line) and, when there is one,
  ``NAME.conf`` (its settings); both are linked and unlinked together;
- the header comments of a ``.load`` file, up to its first directive, may say
  ``# Depends: a b`` (enabled first, and refusing to disable a module others
  depend on) and ``# Conflicts: c d`` (refusing while one of them is
  enabled: the other MPMs, for an MPM);
- a name with wildcards is matched in the directory the verb chooses from
  (``X-available`` to enable, ``X-enabled`` to disable); a plain name is taken
  as given, so a missing one is reported as not existing.

This module changes symlinks in the directory it is given and nothing else;
mpmctl decides which directory that is (never the package's own).
"""

from __future__ import annotations

import glob
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO


@dataclass(frozen=True)
class Kind:
    """What a2enmod's call name selects: a2enmod, a2enconf or a2ensite."""

    obj: str  # how messages name one: "module", "conf", "site"
    folder: str  # the X of X-available / X-enabled
    suffix: str
    activate: str  # the mpmctl verb that makes a change take effect

    @property
    def title(self) -> str:
        return self.obj.capitalize()


KINDS = {
    "mod": Kind("module", "mods", ".load", "restart"),
    "conf": Kind("conf", "conf", ".conf", "graceful"),
    "site": Kind("site", "sites", ".conf", "graceful"),
}

# mpmctl's verb -> (kind, enable?)
VERBS = {f"{act}{key}": (kind, act == "en") for key, kind in KINDS.items() for act in ("en", "dis")}


class Switcher:
    """One run of ``enmod``/``dismod``/...: ``run(names)`` returns the exit status."""

    def __init__(
        self,
        root: Path,
        kind: Kind,
        enable: bool,
        *,
        quiet: bool = False,
        force: bool = False,
        mpmctl: str = "mpmctl",
        out: TextIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.kind = kind
        self.enable = enable
        self.act = "enable" if enable else "disable"
        self.quiet = quiet
        self.force = force
        self.mpmctl = mpmctl  # how to call mpmctl on this directory, for the closing hint
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.avail = root / f"{kind.folder}-available"
        self.enabled = root / f"{kind.folder}-enabled"
        self.mods_enabled = root / "mods-enabled"
        self.changed = False
        self._in_progress: set[str] = set()

    # -- messages, as a2enmod's info / error / warning -----------------------------------
    def info(self, text: str) -> None:
        if not self.quiet:
            print(text, file=self.out)

    def say(self, text: str) -> None:
        """What a2enmod prints even with -q (it uses print, not info, for these)."""
        print(text, file=self.out)

    def error(self, text: str) -> None:
        self.out.flush()  # keep the order of the two streams on one terminal
        print(f"ERROR: {text}", file=self.err)

    def warning(self, text: str) -> None:
        self.out.flush()
        print(f"WARNING: {text}", file=self.err)

    # -- the run -----------------------------------------------------------------------
    def choices(self) -> list[str]:
        return self.glob("*")

    def glob(self, pattern: str) -> list[str]:
        """a2enmod's myglob: names in the directory the verb chooses from."""
        folder = self.avail if self.enable else self.enabled
        suffix = self.kind.suffix
        found = glob.glob(glob.escape(str(folder)) + os.sep + pattern + suffix)
        return sorted(os.path.basename(f).removesuffix(suffix) for f in found)

    def run(self, names: list[str]) -> int:
        status = 0
        chosen: list[str] = []
        for arg in names:
            arg = arg.removesuffix(self.kind.suffix)
            if glob.has_magic(arg):
                matches = self.glob(arg)
                if not matches:
                    self.error(f"No {self.kind.obj} found matching {arg}!")
                    status = 1
                chosen.extend(matches)
            else:
                # Perl's glob returns a name without wildcards as it is, existing or not
                chosen.append(arg)
        for name in chosen:
            if not self.doit(name):
                status = 1
        if self.changed:
            self.info(
                "To activate the new configuration, you need to run:\n"
                f"  {self.mpmctl} {self.kind.activate}"
            )
        return status

    # -- one name ----------------------------------------------------------------------
    def doit(self, name: str) -> bool:
        if name in self._in_progress:
            return True  # a dependency cycle: the outer call finishes the job
        self._in_progress.add(name)
        try:
            return self._doit(name)
        finally:
            self._in_progress.discard(name)

    def _doit(self, name: str) -> bool:
        kind = self.kind
        target = self.avail / f"{name}{kind.suffix}"
        link = self.enabled / f"{name}{kind.suffix}"
        conf_target: Path | None = None
        conf_link: Path | None = None
        if kind.obj == "module":
            conf_target = self.avail / f"{name}.conf"
            if conf_target.exists():
                conf_link = self.enabled / f"{name}.conf"

        if not target.exists():
            if link.is_symlink() and not link.exists():
                if not self.enable:
                    self.info(f"removing dangling symlink {link}")
                    link.unlink()
                    stale_conf = self.enabled / f"{name}.conf"
                    if stale_conf.is_symlink() and not stale_conf.exists():
                        self.info(f"removing dangling symlink {stale_conf}")
                        stale_conf.unlink()
                    self.changed = True
                    return True
                self.error(f"{link} is a dangling symlink!")
            self.error(f"{kind.title} {name} does not exist!")
            return False

        if kind.obj == "module":
            if self.enable:
                if not self.do_deps(name, header_list(target, "Depends", self.error)):
                    return False
                if not self.check_conflicts(name, header_list(target, "Conflicts", self.error)):
                    return False
            else:
                depending = self.dependents(name)
                if depending:
                    if not self.force:
                        self.error(
                            f"The following modules depend on {name} "
                            f"and need to be disabled first: {' '.join(depending)}"
                        )
                        return False
                    if not self.do_deps(name, depending):
                        return False
        elif self.enable and not self.warn_deps(name, header_list(target, "Depends", self.error)):
            return False

        if self.enable:
            return self._enable(name, target, link, conf_target, conf_link)
        return self._disable(name, link, conf_link)

    def _enable(
        self,
        name: str,
        target: Path,
        link: Path,
        conf_target: Path | None,
        conf_link: Path | None,
    ) -> bool:
        check = self.check_link(target, link)
        if check == "ok":
            if conf_link is not None and conf_target is not None:
                conf_check = self.check_link(conf_target, conf_link)
                if conf_check == "missing":
                    self.say(f"Enabling config file {name}.conf.")
                    self.add_link(conf_target, conf_link)
                    return True
                if conf_check != "ok":
                    self.error(f"Config file {name}.conf not properly enabled: {conf_check}")
                    return False
            self.info(f"{self.kind.title} {name} already enabled")
            return True
        if check != "missing":
            self.error(f"{self.kind.title} {name} not properly enabled: {check}")
            return False
        if conf_link is not None and conf_target is not None:
            conf_check = self.check_link(conf_target, conf_link)
            if conf_check == "missing":
                self.add_link(conf_target, conf_link)
            elif conf_check != "ok":
                self.error(f"Config file {name}.conf not properly enabled: {conf_check}")
                return False
        self.say(f"Enabling {self.kind.obj} {name}.")
        self.add_link(target, link)
        return True

    def _disable(self, name: str, link: Path, conf_link: Path | None) -> bool:
        if link.exists() or link.is_symlink():
            if not self.remove_link(link):
                return False
            if conf_link is not None and conf_link.exists():
                self.remove_link(conf_link)
            self.say(f"{self.kind.title} {name} disabled.")
        elif conf_link is not None and conf_link.exists():
            self.say(f"Disabling stale config file {name}.conf.")
            self.remove_link(conf_link)
        else:
            self.info(f"{self.kind.title} {name} already disabled")
        return True

    # -- dependencies and conflicts ----------------------------------------------------
    def do_deps(self, name: str, deps: list[str]) -> bool:
        for dep in deps:
            self.info(f"Considering dependency {dep} for {name}:")
            if not self.doit(dep):
                self.error(f"Could not {self.act} dependency {dep} for {name}, aborting")
                return False
        return True

    def warn_deps(self, name: str, deps: list[str]) -> bool:
        """A conf or site that needs a module: a2enconf only checks that it is enabled."""
        for dep in deps:
            self.info(f"Checking dependency {dep} for {name}:")
            if not (self.mods_enabled / f"{dep}.load").exists():
                self.warning(f"Module {dep} is not enabled, but {name} depends on it, aborting")
                return False
        return True

    def check_conflicts(self, name: str, conflicts: list[str]) -> bool:
        had_error = False
        for other in conflicts:
            self.info(f"Considering conflict {other} for {name}:")
            target = self.avail / f"{other}{self.kind.suffix}"
            link = self.enabled / f"{other}{self.kind.suffix}"
            if self.check_link(target, link) == "ok":
                self.error(
                    f"Module {other} is enabled - cannot proceed due to conflicts. "
                    "It needs to be disabled first!"
                )
                had_error = True  # go on: there may be several conflicts to report
        return not had_error

    def dependents(self, name: str) -> list[str]:
        """Enabled modules whose ``# Depends:`` names ``name``."""
        out = []
        for load in sorted(self.enabled.glob("*.load")):
            if name in header_list(load, "Depends", self.error):
                out.append(load.name.removesuffix(".load"))
        return out

    # -- links ---------------------------------------------------------------------------
    def check_link(self, target: Path, link: Path) -> str:
        """'ok', 'missing', or why the link is left alone (a2enmod's check_link)."""
        if not link.exists():
            if link.is_symlink():
                self.info(f"Removing dangling link {link}")
                link.unlink()
            return "missing"
        if not link.is_symlink():
            return f"{link} is a real file, not touching it"
        if os.path.realpath(link) != os.path.realpath(target):
            return f"{link} exists but does not point to {target}, not touching it"
        return "ok"

    def add_link(self, target: Path, link: Path) -> None:
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(os.path.relpath(target, link.parent), link)
        self.changed = True

    def remove_link(self, link: Path) -> bool:
        if link.is_symlink():
            link.unlink()
        elif link.exists():
            self.error(f"{link} is not a symbolic link, not deleting")
            return False
        self.changed = True
        return True


def header_list(path: Path, field: str, error: Callable[[str], None] | None = None) -> list[str]:
    """``# Depends: a b`` / ``# Conflicts: ...`` from the comments before the first directive."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as e:
        if error is not None:
            error(f"Can't open {path}: {e.strerror}")
        return []
    prefix = f"# {field}:"
    for line in lines:
        if line.startswith(prefix) and line[len(prefix) : len(prefix) + 1].isspace():
            return line[len(prefix) :].split()
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            break
    return []
