"""so_module: LoadModule. A built-in module's name loads the built-in whatever the path says,
so a line copied from an Apache configuration (``LoadModule status_module modules/mod_status.so``)
just works; any other name is imported from the Python path given."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpmd.config.registry import SERVER_ONLY, Module, Syntax, directive

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd


@directive(
    "LoadModule",
    Syntax.TAKE2,
    SERVER_ONLY,
    "a module name and the name of a shared object file to load it from",
)
def _load_module(cmd: Cmd, name: str, path: str) -> None:
    cmd.loader.load_module(cmd, name, path)


class SoModule(Module):
    name = "so_module"
    source = "mod_so.c"
    static = True
    directives = (_load_module,)
