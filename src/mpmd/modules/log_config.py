"""log_config_module: the access log (Apache's mod_log_config, with mod_logio's %I %O %S).

Owns LogFormat, CustomLog, GlobalLog, TransferLog and BufferedLogs; the log
files (opened in ``post_config``, before the MPM forks, so every child
appends through the same ``O_APPEND`` descriptor); and ``log_transaction``,
which writes one whole line per request with one ``write(2)`` so lines from
many processes and threads never interleave.

It only reads what the other phases left on the Request; it never changes a
request and never writes to the error log. What a line says is the log
package's: the format compiler in ``mpmd.log.accesslog``, the ``%``
directives, escaping and times in ``mpmd.log.accesslog_fields``.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from mpmd.config.errors import ConfigError
from mpmd.config.registry import SERVER_ONLY, SERVER_VHOST, Module, Syntax, directive, parse_flag
from mpmd.log.accesslog import FormatError, LineFormat, compile_format
from mpmd.log.accesslog_fields import env_get
from mpmd.log.errorlog import open_log_fd, write_all

if TYPE_CHECKING:
    from collections.abc import Collection

    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config
    from mpmd.http.request import Request

MODULE: Final = "log_config_module"
CLF: Final = '%h %l %u %t "%r" %>s %b'  # httpd's DEFAULT_LOG_FORMAT, TransferLog's fallback


# ----------------------------------------------------------------------------
# Configuration


@dataclass
class LogSpec:
    """One CustomLog, GlobalLog or TransferLog line as written."""

    path: str  # as written; resolved against ServerRoot when opened (as httpd does)
    format_text: str | None  # a format or a nickname; None: TransferLog's default
    env_var: str | None = None
    env_negate: bool = False
    is_global: bool = False


@dataclass(eq=False)
class LogFile:
    path: str
    fd: int


@dataclass(eq=False)
class ActiveLog:
    """A log ready to write: its file, its compiled format and its env= condition."""

    file: LogFile
    format: LineFormat
    env_var: str | None
    env_negate: bool


@dataclass
class LogConfig:
    """log_config_module's per-server configuration."""

    formats: dict[str, str] = field(default_factory=dict)  # nickname -> format string
    default_format: str | None = None  # the last LogFormat without a nickname
    logs: list[LogSpec] = field(default_factory=list)
    buffered: bool = False
    active: list[ActiveLog] = field(default_factory=list)  # filled by post_config


def _conf(cmd: Cmd) -> LogConfig:
    conf: LogConfig = cmd.server_conf(MODULE)
    return conf


def _check(cmd: Cmd, text: str) -> None:
    try:
        compile_format(text)
    except FormatError as e:
        raise cmd.error(str(e)) from None


@directive(
    "LogFormat",
    Syntax.TAKE12,
    SERVER_VHOST,
    "a log format string (see docs) and an optional format name",
)
def _log_format(cmd: Cmd, fmt: str, nickname: str | None = None) -> None:
    _check(cmd, fmt)
    conf = _conf(cmd)
    if nickname is None:
        conf.default_format = fmt
    else:
        conf.formats[nickname] = fmt


def _add_log(cmd: Cmd, path: str, fmt: str | None, condition: str | None, is_global: bool) -> None:
    if path.startswith("|"):
        # A piped logger needs a parent that starts it, restarts it when it dies and
        # hands its pipe to every generation of children; mpmd rotates files instead.
        raise cmd.error(
            f"{cmd.node.name}: piped logs ({path}) are not supported by mpmd; "
            "log to a file and rotate it with logrotate"
        )
    if fmt is not None:
        # a nickname is a literal string to the compiler, so this only rejects real mistakes
        _check(cmd, fmt)
    spec = LogSpec(path, fmt, is_global=is_global)
    if condition is not None:
        if condition[:4].lower() == "env=":
            var = condition[4:]
            spec.env_negate = var.startswith("!")
            spec.env_var = var[1:] if spec.env_negate else var
            if not spec.env_var:
                raise cmd.error("missing environment variable name")
        elif condition[:5].lower() == "expr=":
            raise cmd.error(f"{cmd.node.name}: expr= conditions are not supported; use env=")
        else:
            raise cmd.error("error in condition clause")
    _conf(cmd).logs.append(spec)


@directive(
    "CustomLog",
    Syntax.TAKE23,
    SERVER_VHOST,
    'a file name, a custom log format string or format name, and an optional "env=" or "expr=" clause (see docs)',
)
def _custom_log(cmd: Cmd, path: str, fmt: str, condition: str | None = None) -> None:
    _add_log(cmd, path, fmt, condition, is_global=False)


@directive(
    "GlobalLog",
    Syntax.TAKE23,
    SERVER_ONLY,
    "Same as CustomLog, but forces virtualhosts to inherit the log",
)
def _global_log(cmd: Cmd, path: str, fmt: str, condition: str | None = None) -> None:
    _add_log(cmd, path, fmt, condition, is_global=True)


@directive("TransferLog", Syntax.TAKE1, SERVER_VHOST, "the filename of the access log")
def _transfer_log(cmd: Cmd, path: str) -> None:
    _add_log(cmd, path, None, None, is_global=False)


@directive(
    "BufferedLogs",
    Syntax.FLAG,
    SERVER_VHOST,
    "Enable Buffered Logging (experimental)",
    "Off",
)
def _buffered_logs(cmd: Cmd, value: str) -> None:
    # Accepted and recorded, but lines are always written unbuffered: a per-process
    # buffer loses its lines when a child crashes or is killed, reorders lines between
    # processes, and saves little -- one write(2) of a whole line costs about 1 us.
    _conf(cmd).buffered = parse_flag(value)


# ----------------------------------------------------------------------------
# The module


class LogConfigModule(Module):
    """The access logs of one configuration: its open files and the hook that writes them."""

    name = MODULE
    source = "mod_log_config.c"
    static = True
    directives = (_log_format, _custom_log, _global_log, _transfer_log, _buffered_logs)

    def __init__(self) -> None:
        self.files: dict[str, LogFile] = {}  # resolved path -> open file, shared by servers
        self._compiled: dict[str, LineFormat] = {}

    def create_server_config(self) -> LogConfig:
        return LogConfig()

    # -- start-up --------------------------------------------------------------
    def post_config(self, config: Config) -> None:
        """Resolve nicknames and open every log (httpd's open_multi_logs), before forking."""
        self.close()
        main: LogConfig = config.main.module_conf[MODULE]
        main.active = [self._activate(config, main, spec) for spec in main.logs]
        inherited = [
            log for spec, log in zip(main.logs, main.active, strict=True) if spec.is_global
        ]
        for vhost in config.vhosts:
            conf: LogConfig = vhost.module_conf[MODULE]
            if not conf.logs:
                conf.active = main.active  # httpd: a vhost without logs uses the main server's
                continue
            # a vhost sees the main server's nicknames and default under its own
            merged = LogConfig(
                formats={**main.formats, **conf.formats},
                default_format=conf.default_format or main.default_format,
            )
            conf.active = [self._activate(config, merged, spec) for spec in conf.logs]
            conf.active += inherited

    def _activate(self, config: Config, conf: LogConfig, spec: LogSpec) -> ActiveLog:
        if spec.format_text is None:
            default = conf.default_format
            text = CLF if default is None else conf.formats.get(default, default)
        else:
            # an undefined nickname is a literal format string, as in httpd
            text = conf.formats.get(spec.format_text, spec.format_text)
        return ActiveLog(
            self._open(config.path(spec.path)), self._format(text), spec.env_var, spec.env_negate
        )

    def _format(self, text: str) -> LineFormat:
        compiled = self._compiled.get(text)
        if compiled is None:
            compiled = self._compiled[text] = compile_format(text)
        return compiled

    def _open(self, path: str) -> LogFile:
        log = self.files.get(path)
        if log is None:
            try:
                fd = open_log_fd(path)
            except OSError as e:
                reason = os.strerror(e.errno or errno.EIO)
                raise ConfigError(
                    f"({e.errno}){reason}: AH00649: could not open transfer log file {path}."
                ) from None
            log = self.files[path] = LogFile(path, fd)
        return log

    def reopen(self) -> None:
        """Reopen every log file by name (after logrotate moved it away).

        The new file is ``dup2``-ed onto the old descriptor number: a thread writing a
        line at that moment writes to one file or the other, never to a closed (and
        perhaps reused) descriptor.
        """
        for log in self.files.values():
            fd = open_log_fd(log.path)
            try:
                os.dup2(fd, log.fd)
            finally:
                os.close(fd)

    def close(self) -> None:
        for log in self.files.values():
            try:
                os.close(log.fd)
            except OSError:
                pass
        self.files.clear()

    def unused_hooks(self, config: Config) -> Collection[str]:
        servers = (config.main, *config.vhosts)
        if any(server.module_conf[MODULE].active for server in servers):
            return ()
        return ("log_transaction",)

    # -- every request -----------------------------------------------------------
    def log_transaction(self, req: Request) -> None:
        conf: LogConfig = req.server.module_conf[MODULE]
        for log in conf.active:
            var = log.env_var
            if var is not None and (env_get(req.env, var) is not None) == log.env_negate:
                continue
            write_all(log.file.fd, log.format.render(req))


__all__ = ["CLF", "LogConfig", "LogConfigModule"]
