"""dir_module (placeholder until implemented)."""

from __future__ import annotations

from mpmd.config.registry import Module


class DirModule(Module):
    name = "dir_module"
    source = "mod_dir.c"
    static = True
