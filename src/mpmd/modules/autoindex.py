"""autoindex_module (placeholder until implemented)."""

from __future__ import annotations

from mpmd.config.registry import Module


class AutoindexModule(Module):
    name = "autoindex_module"
    source = "mod_autoindex.c"
    static = False
