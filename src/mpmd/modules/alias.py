"""alias_module (placeholder until implemented)."""

from __future__ import annotations

from mpmd.config.registry import Module


class AliasModule(Module):
    name = "alias_module"
    source = "mod_alias.c"
    static = True
