"""log_config_module (placeholder until implemented)."""

from __future__ import annotations

from mpmd.config.registry import Module


class LogConfigModule(Module):
    name = "log_config_module"
    source = "mod_log_config.c"
    static = True
