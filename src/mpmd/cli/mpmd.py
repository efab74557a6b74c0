"""``mpmd``: httpd's command line.

mpmd [-D name] [-d directory] [-f file] [-C "directive"] [-c "directive"]
     [-k start|restart|graceful|graceful-stop|stop] [-v] [-V] [-h] [-l] [-L]
     [-t] [-T] [-S] [-X] [-M] [-e level]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

import mpmd
from mpmd.cli import quiet_on_broken_pipe
from mpmd.config.errors import ConfigError
from mpmd.config.loader import read_config
from mpmd.config.registry import Ctx
from mpmd.config.server import Config, ServerConfig
from mpmd.config.sources import Sources
from mpmd.log.levels import LEVELS
from mpmd.modules import builtin_modules

EMBEDDED_ROOT = Path(__file__).resolve().parent.parent / "conf"
EMBEDDED_CONF = EMBEDDED_ROOT / "mpmd.conf"
DEFAULT_PORT = "8080"
BUILT = "2026-11-26"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="mpmd",
        add_help=False,
        description="mpmd: Apache httpd's process model for Python WSGI apps and static files",
    )
    p.add_argument("-f", dest="config_file", help="specify an alternate ServerConfigFile")
    p.add_argument("-d", dest="server_root", help="specify an alternate initial ServerRoot")
    p.add_argument(
        "-C",
        dest="before",
        action="append",
        default=[],
        help="process directive before reading config files",
    )
    p.add_argument(
        "-c",
        dest="after",
        action="append",
        default=[],
        help="process directive after reading config files",
    )
    p.add_argument(
        "-D",
        dest="defines",
        action="append",
        default=[],
        help="define a parameter for use in <IfDefine name> directives",
    )
    p.add_argument("-e", dest="level", help="show startup errors of level (see LogLevel)")
    p.add_argument("-E", dest="startup_log", help="log startup errors to file")
    p.add_argument(
        "-k", dest="verb", choices=["start", "restart", "graceful", "graceful-stop", "stop"]
    )
    p.add_argument("-v", dest="version", action="store_true", help="show version number")
    p.add_argument("-V", dest="settings", action="store_true", help="show compile settings")
    p.add_argument(
        "-h",
        dest="help",
        action="store_true",
        help="list available command line options (this page)",
    )
    p.add_argument("-l", dest="compiled", action="store_true", help="list compiled in modules")
    p.add_argument(
        "-L", dest="directives", action="store_true", help="list available configuration directives"
    )
    p.add_argument("-t", dest="test", action="store_true", help="run syntax check for config files")
    p.add_argument(
        "-T",
        dest="no_docroot_check",
        action="store_true",
        help="start without DocumentRoot(s) check",
    )
    p.add_argument(
        "-S",
        dest="dump_vhosts",
        action="store_true",
        help="a synonym for -t -D DUMP_VHOSTS -D DUMP_RUN_CFG",
    )
    p.add_argument(
        "-M", dest="dump_modules", action="store_true", help="a synonym for -t -D DUMP_MODULES"
    )
    p.add_argument(
        "-X", dest="debug", action="store_true", help="debug mode (only one worker, do not detach)"
    )
    return p


def load(opts: argparse.Namespace, warn: list[str], sources: Sources | None = None) -> Config:
    """Read the configuration as httpd would, from the options (or replay ``sources``)."""
    if opts.config_file and opts.server_root:
        # httpd: a relative -f is relative to the ServerRoot
        root = opts.server_root
        config_file = os.path.join(os.path.abspath(root), opts.config_file)
    elif opts.config_file:
        # no -d: the file is found from the working directory and its folder is the ServerRoot
        config_file = os.path.abspath(opts.config_file)
        root = os.path.dirname(config_file)
    else:
        root = opts.server_root or str(EMBEDDED_ROOT)
        config_file = str(EMBEDDED_CONF)
    defines = list(opts.defines)
    if opts.no_docroot_check:
        defines.append("__SKIP_DOCROOT_CHECK")
    config = read_config(
        config_file,
        os.path.abspath(root),
        opts.before,
        opts.after,
        [],
        builtin_modules(),
        warn.append,
        preset_defines={**{d: "" for d in defines}, **_port_define()},
        sources=sources,
    )
    return config


def _port_define() -> dict[str, str]:
    """``${PORT}`` (as gunicorn honours $PORT; 8080 when unset) and ``${MPMD_RUNTIME_DIR}``."""
    import tempfile

    defines = {} if "PORT" in os.environ else {"PORT": DEFAULT_PORT}
    if "MPMD_RUNTIME_DIR" not in os.environ:
        defines["MPMD_RUNTIME_DIR"] = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return defines


def print_version() -> None:
    from mpmd.http.response import server_banner

    print(f"Server version: {server_banner('Full')}")
    print(f"Server built:   {BUILT}")


def print_settings(config: Config | None) -> None:
    print_version()
    print(f"Server's Module Magic Number: 20120211:{mpmd.__version__.replace('.', '')}")
    print(f"Server loaded:  Python {platform.python_version()}")
    print(
        f"Compiled using: Python {platform.python_version()} ({platform.python_implementation()})"
    )
    print(f"Architecture:   {platform.architecture()[0]}")
    compiled = mpmd.compiled_modules()
    print(
        f"Compiled path:  {f'{len(compiled)} modules (mypyc)' if compiled else 'none (plain Python)'}"
    )
    mpm = config.mpm_name if config is not None else None
    if mpm:
        print(f"Server MPM:     {mpm}")
        print(f"  threaded:     {'no' if mpm == 'prefork' else 'yes (fixed thread count)'}")
        if mpm == "winnt":
            print("    forked:     no")
        else:
            print("    forked:     yes (variable process count)")
    else:
        print("Server MPM:     none (no MPM module loaded: only -X, one process, is available)")
        print("  threaded:     no")
        print("    forked:     no")
    print("Server compiled with....")
    print(" -D APR_HAS_SENDFILE")
    print(" -D APR_HAVE_IPV6 (IPv4-mapped addresses enabled)")
    print(f' -D HTTPD_ROOT="{EMBEDDED_ROOT}"')
    print(' -D SERVER_CONFIG_FILE="mpmd.conf"')
    print(' -D DEFAULT_ERRORLOG="logs/error_log"')
    print(' -D DEFAULT_PIDLOG="logs/mpmd.pid"')


def print_compiled() -> None:
    print("Compiled in modules:")
    for cls in builtin_modules().values():
        if cls.static:
            print(f"  {cls.source}")


def print_directives() -> None:
    where = {
        Ctx.SERVER: "Allowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>",
        Ctx.SERVER
        | Ctx.VHOST: "Allowed in *.conf only outside <Directory>, <Files>, <Location>, or <If>",
        Ctx.DIRECTORY: "Allowed in *.conf only inside <Directory>, <Files>, <Location>, or <If>",
    }
    for cls in builtin_modules().values():
        for d in cls.declared():
            print(f"{d.name} ({cls.source})")
            print(f"\t{d.doc}")
            print(f"\t{where.get(d.context, 'Allowed in *.conf anywhere')}")
            print(
                f"\tContext: {d.context.words}; Syntax: {d.syntax.value}; Module: {cls.name}"
                + (f"; Default: {d.default}" if d.default is not None else "")
            )


def print_modules(config: Config) -> None:
    print("Loaded Modules:")
    for m in config.modules.modules:
        kind = "shared" if m.name in config.modules.shared else "static"
        print(f" {m.name} ({kind})")


def print_vhosts(config: Config) -> None:
    """httpd -S: each address a <VirtualHost> names, with the vhosts it may pick among."""
    print("VirtualHost configuration:")
    chains: dict[tuple[str, int], list[ServerConfig]] = {}
    for v in config.vhosts:
        for address in v.vhost_addresses:
            chains.setdefault(address, []).append(v)
    for (ip, port), chain in sorted(chains.items(), key=lambda item: item[0][0] == ""):
        host = "*" if ip == "" else f"[{ip}]" if ":" in ip else ip
        where = f"{host}:{port or '*'}"
        first = chain[0]
        if len(chain) == 1:
            print(f"{where:<22} {first.server_name} ({first.defined_in}:{first.defined_line})")
            continue
        print(f"{where:<22} is a NameVirtualHost")
        print(
            f"{'':8} default server {first.server_name} ({first.defined_in}:{first.defined_line})"
        )
        for v in chain:
            print(
                f"{'':8} port {port or '*'} namevhost {v.server_name} ({v.defined_in}:{v.defined_line})"
            )
            for alias in v.server_aliases:
                wild = "wild " if "*" in alias or "?" in alias else ""
                print(f"{'':16} {wild}alias {alias}")
    print(f'ServerRoot: "{config.server_root}"')
    print(f'Main DocumentRoot: "{config.main.document_root}"')
    print(f'Main ErrorLog: "{config.main.error_log or config.path("logs/error_log")}"')
    print(f'PidFile: "{config.path(config.pid_file)}"')
    for name, value in sorted(config.defines.items()):
        if name.startswith("__"):
            continue
        print(f"Define: {name}" + (f"={value}" if value else ""))


def report_startup(opts: argparse.Namespace, warnings: list[str], error: str = "") -> None:
    """-E FILE: start-up messages go to FILE; -e LEVEL: warnings only at LEVEL warn or above."""
    lines = warnings if LEVELS[(opts.level or "warn").lower()] >= LEVELS["warn"] else []
    lines = [*lines, error] if error else lines
    if not lines:
        return
    if opts.startup_log:
        with open(opts.startup_log, "a", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
    else:
        sys.stderr.write("".join(line + "\n" for line in lines))


@quiet_on_broken_pipe
def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        opts = parser().parse_args(args)
    except SystemExit as e:
        return int(e.code or 0)
    if opts.help:
        parser().print_help()
        return 0
    if opts.version:
        print_version()
        return 0
    if opts.compiled:
        print_compiled()
        return 0
    if opts.directives:
        print_directives()
        return 0
    if opts.level and opts.level.lower() not in LEVELS:
        print(f"mpmd: invalid log level '{opts.level}'", file=sys.stderr)
        return 1
    warnings: list[str] = []
    from mpmd.mpm import winnt

    # a winnt child, started by its parent as a new interpreter: it reads the configuration
    # the parent read (a snapshot), not the files as they are now
    child = winnt.child_info()
    try:
        config = load(opts, warnings, child.sources if child else None)
        from mpmd.modules.core import validate

        if not (opts.test or opts.dump_modules or opts.dump_vhosts or opts.settings):
            validate(config)
        for module in config.modules.modules:
            module.check_config(config, warnings.append)
    except ConfigError as e:
        report_startup(opts, warnings, str(e))
        return 1
    if child is not None:
        return winnt.child_process(config, child, "mpmd " + " ".join(args))
    report_startup(opts, warnings)
    if opts.settings:
        print_settings(config)
        return 0
    if opts.dump_modules or "DUMP_MODULES" in opts.defines:
        print_modules(config)
        return 0
    if opts.dump_vhosts or "DUMP_VHOSTS" in opts.defines:
        print_vhosts(config)
        return 0
    if opts.test:
        print("Syntax OK", file=sys.stderr)
        return 0
    if opts.debug and config.mpm_name in (None, "prefork"):
        from mpmd.mpm import single

        return single.run(config, "mpmd " + " ".join(args))
    return serve(opts, config, args)


def serve(opts: argparse.Namespace, config: Config, args: list[str]) -> int:
    """``-k VERB``, or start the parent (detached unless -DFOREGROUND) with the loaded MPM."""
    from mpmd.mpm import control, mpm_for
    from mpmd.mpm.base import Parent

    def reload() -> Config:
        again: list[str] = []
        fresh = load(opts, again)
        from mpmd.modules.core import validate

        validate(fresh)
        fresh.warnings.extend(again)
        return fresh

    command_line = "mpmd " + " ".join(args)
    if opts.debug:  # -X with a threaded MPM: one child's threads, in the foreground
        return Parent(config, reload, command_line, mpm_for(config.mpm_name), args).run_single()
    verb = opts.verb or "start"
    done, status = control.signal_server(config, verb)
    if done:
        return status
    if config.mpm_name is None:
        print(
            "AH00534: mpmd: Configuration error: No MPM loaded "
            "(LoadModule mpm_prefork_module, or run 'mpmd -X' to serve in one process).",
            file=sys.stderr,
        )
        return 1
    parent = Parent(config, reload, command_line, mpm_for(config.mpm_name), args)
    if "FOREGROUND" not in opts.defines:
        # httpd binds before it detaches, so that `-k start` can say why it cannot serve;
        # the daemon keeps these sockets (Parent.open_listeners reuses them)
        from mpmd.net.listeners import ListenError

        try:
            parent.open_listeners()
        except ListenError as e:
            print(e, file=sys.stderr)
            print("AH00015: no listening sockets available, shutting down", file=sys.stderr)
            return 1
        if not control.detach():
            return 0
    return parent.run()
