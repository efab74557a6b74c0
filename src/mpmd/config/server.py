"""The result of reading a configuration: the global settings, the servers, their sections.

A ``ServerConfig`` is one (virtual) server: its per-module server
configuration and its per-directory sections. ``dir_config_for`` merges the
sections that apply to a request in Apache's order (``<Directory>`` shortest
path first, then ``<DirectoryMatch>``, ``<Files>``/``<FilesMatch>``,
``<Location>``/``<LocationMatch>``), caching each distinct merge.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

from mpmd.config.registry import ModuleSet

if TYPE_CHECKING:
    from collections.abc import Callable

DirConf = dict[str, Any]  # module name -> that module's per-directory configuration


@dataclass(eq=False)
class Section:
    """One ``<Directory>``, ``<Files>`` or ``<Location>`` (or ``*Match``) section."""

    kind: str  # "directory" | "files" | "location"
    pattern: str
    regex: re.Pattern[str] | None
    dir: DirConf
    file: str
    line: int
    order: int = 0

    @property
    def components(self) -> int:
        return 0 if self.pattern == "/" else self.pattern.rstrip("/").count("/")

    def matches_directory(self, directory: str) -> bool:
        """Does this section apply to files in ``directory`` (absolute, normalised)?"""
        if self.regex is not None:
            return self.regex.search(directory) is not None
        base = self.pattern.rstrip("/") or "/"
        if base == "/":
            return True
        if "*" in base or "?" in base or "[" in base:
            # httpd's wildcard form (<Directory "/srv/*/htdocs">): the pattern's
            # components against as many leading components of the directory
            depth = base.count("/")
            parts = directory.split("/")
            return len(parts) > depth and fnmatchcase("/".join(parts[: depth + 1]), base)
        return directory == base or directory.startswith(base + "/")

    def matches_file(self, filename: str) -> bool:
        if self.kind == "files_path":  # <Files> nested in a <Directory>: the whole path
            return self.regex is not None and self.regex.search(filename) is not None
        basename = os.path.basename(filename)
        if self.regex is not None:
            return self.regex.search(basename) is not None
        return fnmatchcase(basename, self.pattern)

    def matches_location(self, uri: str) -> bool:
        if self.regex is not None:
            return self.regex.search(uri) is not None
        p = self.pattern
        if not uri.startswith(p):
            return False
        # "/private" matches /private, /private/ and /private/x but not /privateer
        return len(uri) == len(p) or p.endswith("/") or uri[len(p)] == "/"


# the core's server settings a <VirtualHost> takes from the main server unless it gives
# the directive itself (LogLevel is merged apart: per module, and a module level alone
# leaves the vhost's own level the main server's)
INHERITED_BY_VHOSTS: dict[str, tuple[str, ...]] = {
    "timeout": ("timeout",),
    "keepalive": ("keep_alive",),
    "keepalivetimeout": ("keep_alive_timeout",),
    "maxkeepaliverequests": ("max_keep_alive_requests",),
    "limitrequestline": ("limit_request_line",),
    "limitrequestfieldsize": ("limit_request_field_size",),
    "limitrequestfields": ("limit_request_fields",),
    "documentroot": ("document_root",),
    "serveradmin": ("server_admin",),
    "errorlog": ("error_log",),
}


@dataclass(eq=False)
class ServerConfig:
    """One server: the main server or a <VirtualHost>."""

    modules: ModuleSet
    is_virtual: bool = False
    addrs: list[str] = field(default_factory=list)
    # a <VirtualHost>'s addresses as (IP, port); IP "" is any (*, _default_), port 0 any
    vhost_addresses: list[tuple[str, int]] = field(default_factory=list)
    module_conf: dict[str, Any] = field(default_factory=dict)
    dir_defaults: DirConf = field(default_factory=dict)
    sections: list[Section] = field(default_factory=list)
    defined_in: str = ""
    defined_line: int = 0
    _merge_cache: dict[tuple[int, ...], DirConf] = field(default_factory=dict, repr=False)
    # what modules compute once from this server's configuration, dropped with it
    derived: dict[str, Any] = field(default_factory=dict, repr=False)

    # -- the core's server settings, on the object for the hot path --------
    server_name: str = ""
    server_aliases: list[str] = field(default_factory=list)
    server_admin: str = "[no address given]"
    port: int = 0
    document_root: str = ""
    timeout: float = 60.0
    keep_alive: bool = True
    keep_alive_timeout: float = 5.0
    max_keep_alive_requests: int = 100
    limit_request_line: int = 8190
    limit_request_field_size: int = 8190
    limit_request_fields: int = 100
    error_log: str | None = None
    log_level: int = 4  # warn
    module_log_levels: dict[str, int] = field(default_factory=dict)
    # the server-level directives given for this server itself (lower case): a virtual
    # host takes the main server's value of the others when the configuration is read
    given: set[str] = field(default_factory=set)
    # RequestReadTimeout (mod_reqtimeout): (initial, maximum, bytes/s that extend it); None -> Timeout
    header_read_timeout: tuple[float, float, float] | None = None
    body_read_timeout: tuple[float, float, float] | None = None

    def __post_init__(self) -> None:
        for m in self.modules.modules:
            self.add_module(m)

    def add_module(self, module: Any) -> None:
        if module.name not in self.module_conf:
            self.module_conf[module.name] = module.create_server_config()
            self.dir_defaults[module.name] = module.create_dir_config()

    def new_dir_conf(self) -> DirConf:
        return {m.name: m.create_dir_config() for m in self.modules.modules}

    # -- per-directory merging -------------------------------------------
    def finish_sections(self) -> None:
        """Order sections as Apache does; called once after the configuration is read."""
        for i, s in enumerate(self.sections):
            s.order = i
        dirs = [s for s in self.sections if s.kind == "directory" and s.regex is None]
        dirs.sort(key=lambda s: (s.components, s.order))
        dir_regex = [s for s in self.sections if s.kind == "directory" and s.regex is not None]
        self._dirs = dirs + dir_regex
        self._files = [s for s in self.sections if s.kind in ("files", "files_path")]
        self._locations = [s for s in self.sections if s.kind == "location"]
        self._merge_cache.clear()

    def dir_config_for(self, filename: str | None, uri: str) -> DirConf:
        """Merge the server defaults with every section that applies (Apache's walks)."""
        matched: list[int] = []
        if filename is not None and self._dirs:
            # The sections of the file's directory; or of the file itself if it is a
            # directory, which only a section naming exactly it (or a pattern) can tell
            # apart: then, and only then, is it worth a stat()
            parent = os.path.dirname(filename)
            dirs = self._dirs
            matched = [s.order for s in dirs if s.matches_directory(parent)]
            itself = [s.order for s in dirs if s.matches_directory(filename)]
            if itself != matched and os.path.isdir(filename):
                matched = itself
        if filename is not None and self._files:
            for s in self._files:
                if s.matches_file(filename):
                    matched.append(s.order)
        for s in self._locations:
            if s.matches_location(uri):
                matched.append(s.order)
        key = tuple(matched)
        merged = self._merge_cache.get(key)
        if merged is None:
            merged = self.dir_defaults
            for order in matched:
                merged = self.merge_dir(merged, self.sections[order].dir)
            if len(self._merge_cache) < 4096:
                self._merge_cache[key] = merged
        return merged

    def merge_dir(self, base: DirConf, add: DirConf) -> DirConf:
        out: DirConf = {}
        for m in self.modules.modules:
            b, a = base.get(m.name), add.get(m.name)
            if a is None:
                out[m.name] = b
            elif b is None:
                out[m.name] = a
            else:
                out[m.name] = m.merge_dir_config(b, a)
        return out


@dataclass(eq=False)
class Listener:
    host: str  # "" for every address
    port: int
    proto: str = "http"


@dataclass(eq=False)
class Config:
    """Everything read from one configuration, global and per server."""

    server_root: str
    config_file: str
    modules: ModuleSet
    defines: dict[str, str] = field(default_factory=dict)
    main: ServerConfig = field(init=False)
    vhosts: list[ServerConfig] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)
    listen_backlog: int = 511
    # AcceptFilter: protocol -> filter ("none" or, on Linux, anything else: TCP_DEFER_ACCEPT)
    accept_filters: dict[str, str] = field(default_factory=dict)
    pid_file: str = "logs/mpmd.pid"
    server_tokens: str = "Full"
    trace_enable: bool = True
    warnings: list[str] = field(default_factory=list)
    mpm_name: str | None = None  # "prefork", ... : the loaded MPM module's short name
    mpm_module: str | None = None
    sources: Any = None  # config.sources.Sources: the files this was read from
    scoreboard_file: str | None = None  # ScoreBoardFile; None: a file of our own in /dev/shm
    graceful_shutdown_timeout: float = 0.0  # seconds; 0 waits for ever, as httpd
    # state of the single process that serves (filled at start-up)
    hooks: dict[str, list[Callable[..., Any]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.main = ServerConfig(self.modules)

    def path(self, p: str) -> str:
        """A path relative to ServerRoot, as Apache's ``ap_server_root_relative``."""
        p = os.path.expanduser(p)
        return os.path.normpath(p if os.path.isabs(p) else os.path.join(self.server_root, p))

    def finish(self) -> None:
        """Merge vhosts onto the main server, order sections and collect hooks."""
        from mpmd.config.registry import HOOKS

        # httpd's ap_fixup_virtual_hosts: a virtual host's per-directory defaults merge
        # onto the main server's, and the main server's sections apply there too (first);
        # what the vhost did not set is the main server's, wherever in the file that is set
        main = self.main
        for vhost in self.vhosts:
            vhost.dir_defaults = vhost.merge_dir(main.dir_defaults, vhost.dir_defaults)
            vhost.sections = [*main.sections, *vhost.sections]
            if not vhost.server_name:  # httpd names it after the main server
                vhost.server_name = main.server_name
            for name, attrs in INHERITED_BY_VHOSTS.items():
                if name not in vhost.given:
                    for attr in attrs:
                        setattr(vhost, attr, getattr(main, attr))
            if "loglevel-level" not in vhost.given:
                vhost.log_level = main.log_level
            vhost.module_log_levels = {**main.module_log_levels, **vhost.module_log_levels}
        for server in [self.main, *self.vhosts]:
            server.finish_sections()
        self.hooks = {h: self.modules.hooks(h) for h in HOOKS}
