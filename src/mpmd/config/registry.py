"""The directive registry: what a module is and how it declares its directives.

Every directive is declared exactly once, on the module that owns it, with its
context, argument syntax, default and a one-line doc. ``mpmd -L``, argument
checking and the ``Invalid command`` error all read from these declarations.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from mpmd.config.server import Config, ServerConfig
    from mpmd.http.request import Request


class Ctx(enum.IntFlag):
    """Where a directive may appear (Apache's RSRC_CONF / ACCESS_CONF / NOT_IN_VIRTUALHOST)."""

    SERVER = 1  # the main server, outside any section
    VHOST = 2  # inside <VirtualHost>
    DIRECTORY = 4  # inside <Directory>, <Location>, <Files> and their Match forms

    @property
    def words(self) -> str:
        names = []
        if self & Ctx.SERVER:
            names.append("server config")
        if self & Ctx.VHOST:
            names.append("virtual host")
        if self & Ctx.DIRECTORY:
            names.append("directory")
        return ", ".join(names)


SERVER_ONLY = Ctx.SERVER
SERVER_VHOST = Ctx.SERVER | Ctx.VHOST
ANYWHERE = Ctx.SERVER | Ctx.VHOST | Ctx.DIRECTORY
DIRECTORY_ONLY = Ctx.DIRECTORY


class Syntax(enum.Enum):
    """Argument shapes, named as Apache's AP_INIT_* macros."""

    NO_ARGS = "no arguments"
    TAKE1 = "one argument"
    TAKE2 = "two arguments"
    TAKE12 = "1-2 arguments"
    TAKE13 = "one or three arguments"
    TAKE23 = "two or three arguments"
    TAKE123 = "one, two or three arguments"
    ITERATE = "one or more arguments"
    ITERATE2 = "two or more arguments"
    FLAG = "On or Off"
    RAW_ARGS = "raw arguments"

    def check(self, name: str, doc: str, args: list[str]) -> str | None:
        """Return Apache's error text if ``args`` do not fit, else None."""
        n = len(args)
        ok = {
            Syntax.NO_ARGS: n == 0,
            Syntax.TAKE1: n == 1,
            Syntax.TAKE2: n == 2,
            Syntax.TAKE12: n in (1, 2),
            Syntax.TAKE13: n in (1, 3),
            Syntax.TAKE23: n in (2, 3),
            Syntax.TAKE123: n in (1, 2, 3),
            Syntax.ITERATE: n >= 1,
            Syntax.ITERATE2: n >= 2,
            Syntax.FLAG: n == 1 and args[0].lower() in ("on", "off"),
            Syntax.RAW_ARGS: True,
        }[self]
        if ok:
            return None
        if self is Syntax.FLAG:
            return f"{name} must be On or Off"
        if self is Syntax.NO_ARGS:
            return f"{name} takes no arguments"
        if self is Syntax.ITERATE:
            return f"{name} requires at least one argument, {doc}"
        if self is Syntax.ITERATE2:
            return f"{name} requires at least two arguments, {doc}"
        return f"{name} takes {self.value}, {doc}"


Apply = Callable[..., None]


@dataclass(frozen=True)
class Directive:
    """One configuration directive.

    ``apply(cmd, *args)`` applies it; for a section (``<Directory>``) it is
    ``apply(cmd, args, children)``. ``default`` is documentation (the value
    in force when the directive is absent), shown by ``mpmd -L``.
    """

    name: str
    syntax: Syntax
    context: Ctx
    doc: str
    apply: Apply
    default: str | None = None
    section: bool = False
    module: str = field(default="", compare=False)


HOOKS = (
    "post_config",
    "translate_name",
    "access_checker",
    "type_checker",
    "fixups",
    "handler",
    "log_transaction",
)

# Hook order, as Apache's APR_HOOK_* constants.
REALLY_FIRST = -10
FIRST = 0
MIDDLE = 10
LAST = 20
REALLY_LAST = 30


class Module:
    """A module: a name, its directives, its configuration and its hooks.

    Subclasses override the hook methods they take part in; a hook that is
    not overridden is not called. Hook methods on requests return True when
    they handled the phase (Apache's OK) and None to decline.
    """

    name: ClassVar[str] = ""
    source: ClassVar[str] = ""  # the C file httpd would name, for -l/-L
    static: ClassVar[bool] = False  # always loaded (compiled in)
    directives: ClassVar[tuple[Directive, ...]] = ()
    hook_order: ClassVar[dict[str, int]] = {}
    mpm: ClassVar[str | None] = None  # an MPM module names its MPM ("prefork")

    # --- per-server and per-directory configuration ---------------------
    def create_server_config(self) -> Any:
        return None

    def merge_server_config(self, base: Any, add: Any) -> Any:
        return add

    def create_dir_config(self) -> Any:
        return None

    def merge_dir_config(self, base: Any, add: Any) -> Any:
        return add

    # --- hooks -----------------------------------------------------------
    def check_config(self, config: Config, warn: Callable[[str], None]) -> None:
        """Clamp and cross-check settings after reading, with httpd's warnings (also under -t)."""

    def post_config(self, config: Config) -> None:
        """Called once the configuration is read, before serving (open logs, import apps)."""

    def translate_name(self, req: Request) -> bool | None:
        return None

    def access_checker(self, req: Request) -> bool | None:
        return None

    def type_checker(self, req: Request) -> bool | None:
        return None

    def fixups(self, req: Request) -> bool | None:
        return None

    def handler(self, req: Request) -> bool | None:
        return None

    def log_transaction(self, req: Request) -> None:
        return None

    def unused_hooks(self, config: Config) -> Collection[str]:
        """The request hooks this module has nothing to do for in ``config`` (asked after
        post_config): they are left out of every request (a call costs on every one)."""
        return ()

    # --- helpers ---------------------------------------------------------
    def takes_part_in(self, hook: str) -> bool:
        return getattr(type(self), hook) is not getattr(Module, hook)

    def server_conf(self, server: ServerConfig) -> Any:
        return server.module_conf[self.name]

    @classmethod
    def declared(cls) -> Iterable[Directive]:
        for d in cls.directives:
            if not d.module:
                _with_module(d, cls.name)
            # worker, event and winnt share one directive table: each gets its own copies
            yield d if d.module == cls.name else replace(d, module=cls.name)


def _with_module(d: Directive, module: str) -> Directive:
    object.__setattr__(d, "module", module)
    return d


def directive(
    name: str,
    syntax: Syntax,
    context: Ctx,
    doc: str,
    default: str | None = None,
    section: bool = False,
) -> Callable[[Apply], Directive]:
    """Declare a directive from the function that applies it."""

    def wrap(fn: Apply) -> Directive:
        return Directive(name, syntax, context, doc, fn, default, section)

    return wrap


def parse_flag(value: str) -> bool:
    return value.lower() == "on"


@dataclass
class ModuleSet:
    """The modules loaded for one configuration, in load order, and their directives."""

    modules: list[Module] = field(default_factory=list)
    by_name: dict[str, Module] = field(default_factory=dict)
    directives: dict[str, Directive] = field(default_factory=dict)  # lower-cased name
    shared: set[str] = field(default_factory=set)

    def add(self, module: Module, shared: bool) -> None:
        self.modules.append(module)
        self.by_name[module.name] = module
        if shared:
            self.shared.add(module.name)
        for d in type(module).declared():
            self.directives[d.name.lower()] = d

    def hooks(self, hook: str) -> list[Callable[..., Any]]:
        takers = [m for m in self.modules if m.takes_part_in(hook)]
        takers.sort(key=lambda m: m.hook_order.get(hook, MIDDLE))
        return [getattr(m, hook) for m in takers]
