"""authz_core_module: Require, <RequireAll>, <RequireAny>, <RequireNone>, AuthMerging.

Each section's Require lines form a tree evaluated per request to granted,
denied or neutral (httpd's AUTHZ_GRANTED/DENIED/NEUTRAL). Only "granted"
lets a request through; a section with no Require inherits its parent's
tree, and with no Require anywhere a request is granted (httpd's default).
Providers (``all``, ``method``, ``env`` here; ``ip``, ``local`` in
authz_host) check one condition each.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from mpmd.config.parser import Node, split_args
from mpmd.config.registry import DIRECTORY_ONLY, FIRST, Module, Syntax, directive
from mpmd.http.errors import HttpError
from mpmd.log.levels import ERROR

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.http.request import Request

Check = Callable[["Request"], bool]
# provider name -> (module that provides it, factory from the arguments to a check)
PROVIDERS: dict[str, tuple[str, Callable[[Cmd, list[str]], Check]]] = {}


def provider(
    name: str, module: str
) -> Callable[[Callable[[Cmd, list[str]], Check]], Callable[[Cmd, list[str]], Check]]:
    def wrap(factory: Callable[[Cmd, list[str]], Check]) -> Callable[[Cmd, list[str]], Check]:
        PROVIDERS[name] = (module, factory)
        return factory

    return wrap


class Result(enum.Enum):
    GRANTED = "granted"
    DENIED = "denied"
    NEUTRAL = "neutral"


GRANTED, DENIED, NEUTRAL = Result.GRANTED, Result.DENIED, Result.NEUTRAL


@dataclass
class Rule:
    """``Require [not] provider args``."""

    text: str
    check: Check
    negate: bool = False

    def evaluate(self, req: Request) -> Result:
        ok = self.check(req)
        if self.negate:
            return DENIED if ok else NEUTRAL
        return GRANTED if ok else DENIED


@dataclass
class Group:
    """<RequireAny> (the implicit group of a section), <RequireAll> or <RequireNone>."""

    kind: str  # "any" | "all" | "none"
    items: list[Rule | Group] = field(default_factory=list)

    def evaluate(self, req: Request) -> Result:
        """The group's result, stopping at the first item that decides it (as httpd)."""
        kind = self.kind
        granted = denied = False
        for item in self.items:
            result = item.evaluate(req)
            if result is GRANTED:
                if kind == "any":
                    return GRANTED
                if kind == "none":
                    return DENIED  # any granted child denies the request
                granted = True
            elif result is DENIED:
                if kind == "all":
                    return DENIED
                denied = True
        if kind == "any":
            return DENIED if denied else NEUTRAL
        if kind == "all":
            return GRANTED if granted else NEUTRAL
        return NEUTRAL


@dataclass
class AuthzDir:
    tree: Group | None = None
    merging: str | None = None  # "off" | "and" | "or"


def _current_group(cmd: Cmd) -> Group:
    """The group a Require line in this context adds to (a container's, or the section's)."""
    group: Group | None = cmd.scope.get("authz_group")
    if group is not None:
        return group
    conf: AuthzDir = cmd.dir_conf("authz_core_module")
    if conf.tree is None:
        conf.tree = Group("any")
    return conf.tree


@directive(
    "Require",
    Syntax.RAW_ARGS,
    DIRECTORY_ONLY,
    "specifies authorization directives which must be satisfied to grant access",
)
def _require(cmd: Cmd, text: str) -> None:
    words = split_args(text)
    negate = bool(words) and words[0].lower() == "not"
    if negate:
        words = words[1:]
    if not words:
        raise cmd.error("Require requires at least one argument")
    name, args = words[0].lower(), words[1:]
    entry = PROVIDERS.get(name)
    if entry is None or entry[0] not in cmd.config.modules.by_name:
        raise cmd.error(f"Unknown Authz provider: {words[0]}")
    group = _current_group(cmd)
    if negate and group.kind == "any":
        raise cmd.error(
            "AH01638: negative Require directive has no effect in <RequireAny> directive"
        )
    group.items.append(Rule(text, entry[1](cmd, args), negate))


def _container(kind: str, name: str) -> Callable[[Cmd, str, list[Node]], None]:
    def apply(cmd: Cmd, text: str, children: list[Node]) -> None:
        if text.strip():
            raise cmd.error(f"<{name}> does not take an argument")
        parent = _current_group(cmd)
        group = Group(kind)
        parent.items.append(group)
        cmd.walk(children, scope={**cmd.scope, "authz_group": group})
        if not group.items:
            raise cmd.error(f"AH01637: <{name}> directive contains no authorization directives")
        if kind == "none" and parent.kind == "any":
            raise cmd.error(
                f"AH01638: negative <{name}> directive has no effect in <RequireAny> directive"
            )

    return apply


_require_all = directive(
    "<RequireAll",
    Syntax.RAW_ARGS,
    DIRECTORY_ONLY,
    "Container for authorization directives grouped under an authz logic type",
    section=True,
)(_container("all", "RequireAll"))
_require_any = directive(
    "<RequireAny",
    Syntax.RAW_ARGS,
    DIRECTORY_ONLY,
    "Container for authorization directives grouped under an authz logic type",
    section=True,
)(_container("any", "RequireAny"))
_require_none = directive(
    "<RequireNone",
    Syntax.RAW_ARGS,
    DIRECTORY_ONLY,
    "Container for authorization directives grouped under an authz logic type",
    section=True,
)(_container("none", "RequireNone"))


@directive(
    "AuthMerging",
    Syntax.TAKE1,
    DIRECTORY_ONLY,
    "Controls how a <Directory>, <Location>, or similar directive's authorization directives are combined with those of its predecessor",
    "Off",
)
def _auth_merging(cmd: Cmd, value: str) -> None:
    v = value.lower()
    if v not in ("off", "and", "or"):
        raise cmd.error("AuthMerging must be one of: Off, And, Or")
    conf: AuthzDir = cmd.dir_conf("authz_core_module")
    conf.merging = v


@provider("all", "authz_core_module")
def _all(cmd: Cmd, args: list[str]) -> Check:
    if len(args) != 1 or args[0].lower() not in ("granted", "denied"):
        raise cmd.error("Require all: use 'granted' or 'denied'")
    granted = args[0].lower() == "granted"
    return lambda req: granted


@provider("method", "authz_core_module")
def _method(cmd: Cmd, args: list[str]) -> Check:
    if not args:
        raise cmd.error("Require method requires at least one method name")
    methods = {a.upper() for a in args}
    return lambda req: req.method in methods


@provider("env", "authz_core_module")
def _env(cmd: Cmd, args: list[str]) -> Check:
    if not args:
        raise cmd.error("Require env requires at least one variable name")
    return lambda req: any(a in req.env for a in args)


class AuthzCoreModule(Module):
    name = "authz_core_module"
    source = "mod_authz_core.c"
    static = True
    directives = (_require, _require_all, _require_any, _require_none, _auth_merging)
    hook_order = {"access_checker": FIRST}

    def create_dir_config(self) -> AuthzDir:
        return AuthzDir()

    def merge_dir_config(self, base: AuthzDir, add: AuthzDir) -> AuthzDir:
        if add.tree is None:
            return AuthzDir(base.tree, add.merging or base.merging)
        merging = add.merging or "off"
        if base.tree is None or merging == "off":
            return AuthzDir(add.tree, add.merging)
        return AuthzDir(
            Group("all" if merging == "and" else "any", [base.tree, add.tree]), add.merging
        )

    def access_checker(self, req: Request) -> bool | None:
        conf: AuthzDir | None = req.dir.get(self.name)
        if conf is None or conf.tree is None:
            return None
        if conf.tree.evaluate(req) is Result.GRANTED:
            return None
        where = req.filename or req.uri
        req.log(ERROR, f"AH01630: client denied by server configuration: {where}", "authz_core")
        raise HttpError(403, log=False)
