"""``mpmctl``: apachectl (as Debian's apache2ctl) and a2enmod for mpmd.

mpmctl [-d DIR] start|stop|restart|graceful|graceful-stop|configtest|status|fullstatus
mpmctl [-d DIR] enmod|dismod|enconf|disconf|ensite|dissite [-q] [-f] NAME...
mpmctl init DIR
mpmctl [-d DIR] MPMD-FLAGS...        (-V, -M, -S, -t, -h ...: passed to mpmd)

The configuration directory is ``-d DIR``, else ``$MPMD_CONFDIR``, else the
embedded default (read only). The server verbs run ``mpmd`` with that
directory's ``mpmd.conf`` and pass its exit status through, as apachectl
does httpd's; ``restart`` and ``graceful`` first check the configuration
(Debian's apache2ctl) so that a broken one is reported here and the running
server is left alone. ``status`` and ``fullstatus`` fetch the server's own
``/server-status`` (statusfetch) and draw it (statusview, workersview); the
``en*``/``dis*`` verbs are Debian's a2enmod (a2mod); ``init`` copies the
default tree (conftree).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from mpmd.cli import a2mod, conftree, quiet_on_broken_pipe, statusfetch, statusview, workersview

SERVER_VERBS = ("start", "stop", "restart", "graceful", "graceful-stop")
CHECKED_VERBS = ("restart", "graceful")  # apache2ctl runs -t first for these
PIPED_WIDTH = 200  # fullstatus's width when its output is not a terminal

USAGE = """\
Usage: mpmctl [-d DIR] start|stop|restart|graceful|graceful-stop|configtest|status|fullstatus
       mpmctl [-d DIR] enmod|dismod|enconf|disconf|ensite|dissite [-q] [-f] NAME...
       mpmctl init DIR
       mpmctl [-d DIR] <mpmd args>      (e.g. -V, -M, -S, -t; mpmctl -h for mpmd's flags)

  start          start the server (mpmd -k start)
  stop           stop it (mpmd -k stop)
  restart        check the configuration, then stop the children and start new ones
                 (mpmd -k restart; starts the server if it is not running)
  graceful       check the configuration, then restart without dropping a request
                 (mpmd -k graceful; starts the server if it is not running)
  graceful-stop  finish what is in flight, then stop (mpmd -k graceful-stop)
  configtest     check the configuration's syntax (mpmd -t)
  status         the server's status page, short: summary and scoreboard
  fullstatus     the server's status page with one row per worker
  enmod NAME     enable module NAME (mods-available/NAME.load and .conf); dismod disables
  enconf NAME    enable conf-available/NAME.conf; disconf disables
  ensite NAME    enable sites-available/NAME.conf; dissite disables
  init DIR       make DIR a configuration directory: a copy of the embedded default

The configuration directory is -d DIR, else $MPMD_CONFDIR, else the embedded
default (which the en*/dis* verbs refuse to change). status uses
$MPMD_STATUSURL, else http://HOST:PORT/server-status from the first Listen.
"""


def mpmd_command(confdir: conftree.ConfDir, *args: str) -> list[str]:
    return [sys.executable, "-m", "mpmd", *confdir.mpmd_args(), *args]


def run_mpmd(confdir: conftree.ConfDir, *args: str) -> int:
    return subprocess.call(mpmd_command(confdir, *args))


def action_failed(words: list[str], status: int) -> int:
    """apache2ctl's closing words when an action fails."""
    if status != 0:
        print(f"Action '{' '.join(words)}' failed.")
        print("The mpmd error log may have more information.")
    return status


def server_verb(confdir: conftree.ConfDir, verb: str, extra: list[str]) -> int:
    if verb in CHECKED_VERBS:
        check = subprocess.run(
            mpmd_command(confdir, *extra, "-t"), capture_output=True, text=True, check=False
        )
        if check.returncode != 0:
            sys.stdout.write(check.stdout)
            sys.stderr.write(check.stderr)
            return action_failed([verb, *extra], check.returncode)
    return action_failed([verb, *extra], run_mpmd(confdir, *extra, "-k", verb))


def status_verb(confdir: conftree.ConfDir, full: bool, hint: str) -> int:
    verb = "fullstatus" if full else "status"
    from rich.console import Console

    auto_url = ""
    try:
        url = statusfetch.status_url(confdir, os.environ)
        auto_url = statusfetch.with_query(url, "auto")
        auto = statusview.parse_auto(statusfetch.fetch(auto_url, mpmctl=hint))
        workers = None
        if full:
            workers = statusfetch.fetch_json(statusfetch.with_query(url, "json"), mpmctl=hint)
    except statusfetch.StatusUnavailable as e:
        print(f"mpmctl {verb}: {e}", file=sys.stderr)
        return 1
    except statusview.FormatError as e:
        print(
            f"mpmctl {verb}: {auto_url} did not answer in mod_status's ?auto format ({e})",
            file=sys.stderr,
        )
        return 1
    console = Console(highlight=False)
    if full and not console.is_terminal and "COLUMNS" not in os.environ:
        # into a file or a pager, a wide table reads better than one folded to 80 columns
        console.width = PIPED_WIDTH
    console.print(statusview.render_summary(auto, url))
    if workers is not None:
        console.print()
        console.print(workersview.render_workers(workers))
    return 0


def switch_verb(confdir: conftree.ConfDir, verb: str, args: list[str], hint: str) -> int:
    """``enmod`` and friends: a2enmod's options and behaviour."""
    kind, enable = a2mod.VERBS[verb]
    p = argparse.ArgumentParser(prog=f"mpmctl {verb}", add_help=True)
    p.add_argument("-q", "--quiet", action="store_true", help="don't show informative messages")
    p.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="disable the modules that depend on this one too (dismod)",
    )
    p.add_argument("names", nargs="*", metavar="NAME")
    try:
        opts = p.parse_args(args)
    except SystemExit as e:
        return int(e.code or 0)
    try:
        conftree.require_writable(confdir, verb)
    except conftree.TreeError as e:
        print(e, file=sys.stderr)
        return 1
    switcher = a2mod.Switcher(
        confdir.root, kind, enable, quiet=opts.quiet, force=opts.force, mpmctl=hint
    )
    names = list(opts.names)
    if not names:
        # a2enmod without a name asks for some
        act = "enable" if enable else "disable"
        print(f"Your choices are: {' '.join(switcher.choices())}")
        print(f"Which {kind.obj}(s) do you want to {act} (wildcards ok)?")
        names = sys.stdin.readline().split()
    return switcher.run(names)


def init_verb(args: list[str], confdir_option: str | None) -> int:
    target = args[0] if args else confdir_option or os.environ.get(conftree.ENV_CONFDIR)
    if not target or len(args) > 1:
        print("Usage: mpmctl init DIR", file=sys.stderr)
        return 2
    try:
        lines = conftree.init(Path(target).expanduser().absolute())
    except conftree.TreeError as e:
        print(e, file=sys.stderr)
        return 1
    except OSError as e:
        print(f"mpmctl init: {e}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def split_confdir(args: list[str]) -> tuple[str | None, list[str]]:
    """Take the leading ``-d DIR`` / ``-dDIR`` (mpmctl's own, as apache2ctl's APACHE_CONFDIR)."""
    confdir: str | None = None
    rest = list(args)
    while rest:
        if rest[0] == "-d" and len(rest) > 1:
            confdir, rest = rest[1], rest[2:]
        elif rest[0].startswith("-d") and len(rest[0]) > 2:
            confdir, rest = rest[0][2:], rest[1:]
        else:
            break
    return confdir, rest


@quiet_on_broken_pipe
def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else list(argv)
    confdir_option, rest = split_confdir(args)
    if not rest:
        sys.stderr.write(USAGE)
        return 1
    verb, extra = rest[0], rest[1:]
    if verb in ("help", "--help", "usage"):
        sys.stdout.write(USAGE)
        return 0
    if verb == "init":
        return init_verb(extra, confdir_option)
    confdir = conftree.choose(confdir_option, os.environ)
    # how advice in messages calls mpmctl on this directory
    hint = f"mpmctl -d {confdir.root}" if confdir_option is not None else "mpmctl"
    if verb in SERVER_VERBS:
        return server_verb(confdir, verb, extra)
    if verb == "configtest":
        return run_mpmd(confdir, *extra, "-t")
    if verb in ("status", "fullstatus"):
        return status_verb(confdir, verb == "fullstatus", hint)
    if verb in a2mod.VERBS:
        return switch_verb(confdir, verb, extra, hint)
    if verb.startswith("-"):
        # apachectl hands anything else to httpd
        return run_mpmd(confdir, *rest)
    sys.stderr.write(f"mpmctl: unknown verb '{verb}'\n{USAGE}")
    return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
