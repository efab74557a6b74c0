"""Walk configuration nodes in order and apply each directive where it stands.

The walk follows httpd: ``-C`` directives first, then the configuration file,
then ``-c`` directives. ``Define``, ``<IfDefine>``, ``<IfModule>``,
``Include`` and ``LoadModule`` take effect as they are reached, so a later
line sees what an earlier one did. Every error carries file and line.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mpmd.config.errors import ConfigError
from mpmd.config.parser import Node, parse_text, split_args, substitute
from mpmd.config.registry import Ctx, Module, ModuleSet
from mpmd.config.server import Config, DirConf, Section, ServerConfig
from mpmd.config.sources import Sources

MAX_INCLUDE_DEPTH = 128


@dataclass
class Cmd:
    """What a directive's apply function is given: where it stands and what it may change."""

    loader: Loader
    config: Config
    server: ServerConfig
    section: Section | None
    node: Node
    context: Ctx
    section_kind: str = ""  # "Directory", "Location", ... for messages
    scope: dict[str, Any] = field(default_factory=dict)  # what an enclosing section passes down

    @property
    def dir(self) -> DirConf:
        """The per-directory configuration of the section this directive is in (or the server's)."""
        return self.section.dir if self.section is not None else self.server.dir_defaults

    def dir_conf(self, module: str) -> Any:
        return self.dir[module]

    def server_conf(self, module: str) -> Any:
        return self.server.module_conf[module]

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, self.node.file, self.node.line)

    def warn(self, message: str) -> None:
        self.loader.warn(message)

    def path(self, p: str) -> str:
        return self.config.path(p)

    def walk(self, nodes: list[Node], **changes: Any) -> None:
        """Apply ``nodes`` in a changed context (a section's body)."""
        self.loader.walk(nodes, self.with_changes(**changes))

    def with_changes(self, **changes: Any) -> Cmd:
        values: dict[str, Any] = {
            "loader": self.loader,
            "config": self.config,
            "server": self.server,
            "section": self.section,
            "node": self.node,
            "context": self.context,
            "section_kind": self.section_kind,
            "scope": self.scope,
        }
        values.update(changes)
        return Cmd(**values)


@dataclass
class Loader:
    config: Config
    builtin: dict[str, type[Module]]
    warn: Callable[[str], None]
    sources: Sources = field(default_factory=Sources)
    include_depth: int = 0
    seen_loadmodule: set[str] = field(default_factory=set)

    def walk(self, nodes: list[Node], cmd: Cmd) -> None:
        for node in nodes:
            self.apply(node, cmd.with_changes(node=node))

    def apply(self, node: Node, cmd: Cmd) -> None:
        key = ("<" + node.name if node.is_section else node.name).lower()
        directive = self.config.modules.directives.get(key)
        shown = "<" + node.name if node.is_section else node.name
        if directive is None:
            raise ConfigError(
                f"Invalid command '{shown}', perhaps misspelled or defined by a module "
                "not included in the server configuration",
                node.file,
                node.line,
            )
        if not directive.context & cmd.context:
            # httpd: a server-level directive inside <VirtualHost> fails its own
            # ap_check_cmd_context ("Listen cannot occur within <VirtualHost> section",
            # "<VirtualHost> ..." with the '>'); any other misplacement fails
            # invoke_cmd's override check ("<Directory not allowed here").
            if cmd.context & Ctx.VHOST and directive.context & Ctx.SERVER:
                shown_name = directive.name + (">" if directive.section else "")
                message = f"{shown_name} cannot occur within <VirtualHost> section"
            else:
                message = f"{directive.name} not allowed here"
            raise ConfigError(message, node.file, node.line)
        text = substitute(node.args, self.config.defines, self.warn)
        if directive.section:
            directive.apply(cmd, text, node.children)
            return
        args = [text.strip()] if directive.syntax.name == "RAW_ARGS" else split_args(text)
        problem = directive.syntax.check(directive.name, directive.doc, args)
        if problem is not None:
            raise ConfigError(problem, node.file, node.line)
        try:
            directive.apply(cmd, *args)
        except ConfigError as e:
            if e.file is None:
                e.file, e.line = node.file, node.line
            raise
        if cmd.section is None:
            cmd.server.given.add(key)

    # -- Include / LoadModule, used by the core and so modules ---------------
    def include(self, cmd: Cmd, pattern: str, optional: bool) -> None:
        if self.include_depth >= MAX_INCLUDE_DEPTH:
            raise cmd.error(
                f"AH00588: Exceeded the maximum include directory nesting level of "
                f"{MAX_INCLUDE_DEPTH}. You have probably a recursion somewhere."
            )
        path = cmd.path(pattern)

        def resolve() -> list[str]:
            if glob.has_magic(path):
                files = sorted(f for f in glob.glob(path) if not os.path.isdir(f))
                if not files and not optional:
                    raise cmd.error(
                        f"No matches for the wildcard '{os.path.basename(path)}' in "
                        f"'{os.path.dirname(path)}', failing (use IncludeOptional if required)"
                    )
                return files
            if os.path.isdir(path):
                return sorted(
                    os.path.join(path, f)
                    for f in os.listdir(path)
                    if not f.startswith(".") and os.path.isfile(os.path.join(path, f))
                )
            if os.path.exists(path) or not optional:
                return [path]  # a missing file fails to open, with httpd's message
            return []

        files = self.sources.match(path, resolve)
        self.include_depth += 1
        try:
            for f in files:
                self.walk(self.sources.parse(f), cmd)
        finally:
            self.include_depth -= 1

    def load_module(self, cmd: Cmd, name: str, path: str) -> None:
        modules = self.config.modules
        if name in modules.by_name:
            if name not in modules.shared:
                self.warn(f"AH01575: module {name} is built-in and can't be loaded")
            else:
                self.warn(f"AH01574: module {name} is already loaded, skipping")
            return
        cls = self.builtin.get(name)
        if cls is None:
            cls = import_module_class(cmd, name, path)
        if cls.mpm is not None:
            if self.config.mpm_module is not None:
                raise cmd.error(
                    "AH00534: mpmd: Configuration error: More than one MPM loaded "
                    f"({self.config.mpm_module} and {name})."
                )
            self.config.mpm_name, self.config.mpm_module = cls.mpm, name
        module = cls()
        modules.add(module, shared=not cls.static)
        for server in [self.config.main, *self.config.vhosts]:
            server.add_module(module)
            for section in server.sections:
                section.dir.setdefault(name, module.create_dir_config())


def import_module_class(cmd: Cmd, name: str, path: str) -> type[Module]:
    """A third-party module: PATH is a Python path (``pkg.mod`` or ``pkg.mod:Class``)."""
    import importlib

    modpath, _, attr = path.partition(":")
    if "/" in modpath or modpath.endswith(".so"):
        raise cmd.error(
            f"Cannot load {path} into server: {name} is not a built-in module and "
            f"{path} is not a Python module path"
        )
    try:
        pymod = importlib.import_module(modpath)
    except Exception as e:
        raise cmd.error(f"Cannot load {path} into server: {e}") from None
    candidates: list[Any] = [getattr(pymod, attr, None)] if attr else list(vars(pymod).values())
    for obj in candidates:
        if isinstance(obj, type) and issubclass(obj, Module) and obj.name == name:
            return obj
    raise cmd.error(f"Can't locate API module structure `{name}' in file {path}: not found")


def read_config(
    config_file: str | None,
    server_root: str,
    before: list[str],
    after: list[str],
    defines: list[str],
    builtin: dict[str, type[Module]],
    warn: Callable[[str], None],
    default_text: str | None = None,
    preset_defines: dict[str, str] | None = None,
    sources: Sources | None = None,
) -> Config:
    """Read a whole configuration as httpd does: -C lines, the file, then -c lines.

    ``sources`` replays a snapshot of the files instead of reading the disk
    (a winnt child); ``config.sources`` is what this read, for a snapshot.
    """
    modules = ModuleSet()
    shown = config_file or "(embedded default)"
    config = Config(server_root=server_root, config_file=shown, modules=modules)
    for d in defines:
        config.defines[d] = ""
    config.defines.update(preset_defines or {})
    loader = Loader(config, builtin, warn, sources or Sources())
    config.sources = loader.sources
    for cls in builtin.values():
        if cls.static:
            modules.add(cls(), shared=False)
            config.main.add_module(modules.by_name[cls.name])
    root = Cmd(loader, config, config.main, None, Node("", "", shown, 0), Ctx.SERVER)
    for i, line in enumerate(before, start=1):
        loader.walk(parse_text(line, f"-C directive {i}"), root)
    if config_file is not None:
        try:
            nodes = loader.sources.parse(config_file)
        except ConfigError as e:
            if e.file is not None:
                raise
            # httpd: "httpd: Could not open configuration file ...", no line to point at
            raise ConfigError(f"mpmd: {e.message}") from None
        loader.walk(nodes, root)
    elif default_text is not None:
        loader.walk(parse_text(default_text, shown), root)
    for i, line in enumerate(after, start=1):
        loader.walk(parse_text(line, f"-c directive {i}"), root)
    config.finish()
    return config
