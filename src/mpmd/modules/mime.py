"""mime_module (placeholder until implemented)."""

from __future__ import annotations

from mpmd.config.registry import Module


class MimeModule(Module):
    name = "mime_module"
    source = "mod_mime.c"
    static = True
