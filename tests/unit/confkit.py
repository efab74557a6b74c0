"""Helpers for the unit tests: read a configuration from text, catch its error, start its
modules, and a loopback TCP pair for a real Connection (compiled code takes no stand-ins)."""

from __future__ import annotations

import socket
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mpmd.config.errors import ConfigError
from mpmd.config.loader import read_config
from mpmd.config.registry import Module
from mpmd.config.server import Config, ServerConfig
from mpmd.modules import builtin_modules
from mpmd.modules.core import CoreDir


@dataclass
class Loaded:
    config: Config
    warnings: list[str]
    file: Path

    @property
    def main(self) -> ServerConfig:
        return self.config.main


def load(
    root: Path,
    text: str,
    *,
    before: Sequence[str] = (),
    after: Sequence[str] = (),
    defines: Sequence[str] = (),
    extra: Sequence[type[Module]] = (),
    name: str = "mpmd.conf",
) -> Loaded:
    """Write ``text`` to ROOT/NAME and read it with ServerRoot ROOT, as ``mpmd -f`` would."""
    root.mkdir(parents=True, exist_ok=True)
    conf = root / name
    conf.write_text(text)
    warnings: list[str] = []
    builtin = {**builtin_modules(), **{m.name: m for m in extra}}
    config = read_config(
        str(conf), str(root), list(before), list(after), list(defines), builtin, warnings.append
    )
    return Loaded(config, warnings, conf)


def run_post_config(config: Config) -> Config:
    """Run every module's post_config hook (logs opened, hooks chosen), as the parent does."""
    for post_config in config.hooks["post_config"]:
        post_config(config)
    return config


def loopback_pair() -> tuple[socket.socket, Any, socket.socket]:
    """A connected TCP pair on 127.0.0.1: (the server's end, its peer address, the client's)."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.create_connection(listener.getsockname(), timeout=5)
        server_side, address = listener.accept()
    return server_side, address, client


def fail(root: Path, text: str, **kw: Any) -> ConfigError:
    """The ConfigError that reading ``text`` raises."""
    with pytest.raises(ConfigError) as info:
        load(root, text, **kw)
    return info.value


def core_dir(config: Config, filename: str | None, uri: str) -> CoreDir:
    """core_module's merged per-directory configuration for a request."""
    conf: CoreDir = config.main.dir_config_for(filename, uri)["core_module"]
    return conf
