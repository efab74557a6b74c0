"""The parent process every MPM shares: it never serves a request.

It owns the listen sockets, the scoreboard, the pid file, the generation
counter and the children. Once a second it reaps dead children (logging
httpd's AH00052 for a child killed by a signal) and runs the MPM's spare
maintenance. Signals, as httpd's: TERM stops (children killed after a short
grace), HUP restarts (children stopped, configuration re-read, new
children), USR1 restarts gracefully (configuration re-read, listen sockets
kept, old-generation children finish what they hold while new ones take new
connections; the new generation's StartServers children start as the old
ones free their slots), WINCH stops gracefully (bounded by
GracefulShutdownTimeout).
A configuration that fails on a restart leaves the running server as it was.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import socket
import time
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mpmd.config.errors import ConfigError
from mpmd.http.site import Site
from mpmd.log.errorlog import ErrorLog, open_error_log
from mpmd.log.levels import ALERT, EMERG, ERROR, NOTICE, WARN
from mpmd.net.listeners import ListenError, open_listener, prepare_listener

if TYPE_CHECKING:
    from mpmd.config.server import Config
    from mpmd.mpm.scoreboard import Scoreboard

STOP_GRACE = 3.0  # seconds children get after SIGTERM before SIGKILL (httpd waits about 3 s)
TICK = 1.0  # spare maintenance runs once a second, as httpd's


def signal_name(signum: int) -> str:
    try:
        return f"{signal.Signals(signum).name.removeprefix('SIG').capitalize()}"
    except ValueError:
        return str(signum)


_SIGNAL_WORDS = {
    signal.SIGKILL: "Killed",
    signal.SIGSEGV: "Segmentation fault",
    signal.SIGABRT: "Aborted",
    signal.SIGBUS: "Bus error",
    signal.SIGILL: "Illegal instruction",
    signal.SIGFPE: "Floating point exception",
    signal.SIGINT: "Interrupt",
    signal.SIGTERM: "Terminated",
}


def close_modules(config: Config) -> None:
    """Let a configuration's modules close what they opened (log files)."""
    for module in config.modules.modules:
        close = getattr(module, "close", None)
        if callable(close):
            with contextlib.suppress(Exception):
                close()


class Child:
    def __init__(self, pid: int, slot: int, generation: int) -> None:
        self.pid = pid
        self.slot = slot
        self.generation = generation
        self.quiescing = False


class Parent:
    """The parent of one MPM run; ``mpm`` supplies the MPM's own steps."""

    def __init__(
        self,
        config: Config,
        reload: Callable[[], Config],
        command_line: str,
        mpm: Any,
        argv: list[str] | None = None,
    ) -> None:
        self.config = config
        self.reload = reload
        self.command_line = command_line
        self.argv = argv or []  # mpmd's own arguments, for a child that is a new interpreter
        self.mpm = mpm
        self.generation = 0
        self.children: dict[int, Child] = {}
        self.listeners: list[socket.socket] = []
        self._listen_keys: list[tuple[str, int]] = []
        self.error_log = ErrorLog(2)
        self.scoreboard: Scoreboard
        self.pending: list[int] = []
        self.idle_spawn_rate = 1
        self.max_workers_logged = False
        # StartServers children not started yet: on a graceful restart the old
        # generation still holds its slots (httpd's remaining_children_to_start)
        self.remaining_to_start = 0
        self.pid_file = ""
        # False under -X: one child's threads run in this process, with no parent
        self.supervised = True

    # -- small services for the MPM and its children -------------------------
    def log(self, level: int, message: str, module: str = "", force: bool = False) -> None:
        self.error_log.log(level, message, module or self.mpm.log_module, force=force)

    def set_title(self, title: str) -> None:
        try:
            import setproctitle

            setproctitle.setproctitle(title)
        except ImportError:  # pragma: no cover - a declared dependency
            pass

    def make_site(self, multithread: bool, multiprocess: bool) -> Site:
        return Site(self.config, self.error_log, multithread=multithread, multiprocess=multiprocess)

    # -- start-up ---------------------------------------------------------------
    def open_logs(self) -> None:
        old = self.error_log
        self.error_log = open_error_log(self.config)
        old.close()

    def open_listeners(self) -> None:
        """Open what Listen asks for, keeping sockets that stay (graceful restart)."""
        keep = dict(zip(self._listen_keys, self.listeners, strict=True))
        sockets: list[socket.socket] = []
        keys: list[tuple[str, int]] = []
        for listener in self.config.listeners:
            key = (listener.host, listener.port)
            sock = keep.pop(key, None)
            if sock is None:
                sock = open_listener(listener, self.config)
                sock.setblocking(False)
            else:
                prepare_listener(sock, listener, self.config)  # the new configuration's values
            sockets.append(sock)
            keys.append(key)
        for sock in keep.values():
            sock.close()
        self.listeners, self._listen_keys = sockets, keys

    def write_pid_file(self) -> None:
        self.pid_file = self.config.path(self.config.pid_file)
        os.makedirs(os.path.dirname(self.pid_file), exist_ok=True)
        tmp = f"{self.pid_file}.{os.getpid()}"
        with open(tmp, "w") as f:
            f.write(f"{os.getpid()}\n")
        os.replace(tmp, self.pid_file)

    def remove_pid_file(self) -> None:
        if self.pid_file:
            with contextlib.suppress(OSError):
                os.unlink(self.pid_file)

    def post_config(self) -> None:
        for post_config in self.config.hooks["post_config"]:
            post_config(self.config)
        self.log_config_warnings()

    def log_config_warnings(self) -> None:
        for warning in self.config.warnings:
            self.log(ERROR, warning, "core", force=True)
        self.config.warnings.clear()

    def _start(self) -> bool:
        """Error log, listen sockets, the MPM's numbers, the scoreboard; False if it cannot serve."""
        self.open_logs()
        for warning in self.config.warnings:
            self.log(WARN, warning, "core", force=True)
        self.config.warnings.clear()
        try:
            self.open_listeners()
        except ListenError as e:
            self.log(EMERG, str(e), "core", force=True)
            self.log(
                ALERT, "AH00015: no listening sockets available, shutting down", "core", force=True
            )
            return False
        self.mpm.check_config(self)
        self.scoreboard = self.mpm.create_scoreboard(self)
        return True

    def _announce(self, how: str) -> None:
        from mpmd.net.listeners import describe

        self.log(
            NOTICE,
            f"AH00163: {self.make_site(False, False).banner} configured -- resuming normal operations",
            force=True,
        )
        self.log(NOTICE, f"AH00094: Command line: '{self.command_line}'", "core", force=True)
        for sock in self.listeners:
            self.log(NOTICE, f"MP00020: serving on {describe(sock)} ({how})", force=True)

    def run(self) -> int:
        if not self._start():
            return 1
        self.write_pid_file()
        wake_r, wake_w = os.pipe()
        os.set_blocking(wake_w, False)
        os.set_blocking(wake_r, False)
        signal.set_wakeup_fd(wake_w)
        for signum in (
            signal.SIGTERM,
            signal.SIGINT,
            signal.SIGHUP,
            signal.SIGUSR1,
            signal.SIGWINCH,
        ):
            signal.signal(signum, self._on_signal)
        signal.signal(signal.SIGCHLD, self._on_signal)
        try:
            self.post_config()
            self.set_title(f"mpmd: parent (generation {self.generation}) {self.command_line}")
            self._announce(self.mpm.name)
            self.mpm.startup_children(self)
            return self.main_loop(wake_r)
        except Exception as e:  # the parent's own failure: say why before going down
            self.log(
                EMERG,
                f"MP00045: parent failed, stopping: {e!r}\n{traceback.format_exc()}",
                "core",
                force=True,
            )
            self.stop_children()
            return 1
        finally:
            signal.set_wakeup_fd(-1)
            self.remove_pid_file()
            board = getattr(self, "scoreboard", None)
            if board is not None:
                board.close()
                board.unlink()

    def run_single(self) -> int:
        """httpd's -X with a threaded MPM: one child's threads in this process, no parent.

        TERM, INT and HUP stop it the way a graceful stop ends a child: what is
        in progress finishes, then the process exits.
        """
        self.supervised = False
        if not self._start():
            return 1
        try:
            self.post_config()
            self._announce(f"{self.mpm.name}, one process, -X")
            slot = self.scoreboard.claim_process_slot()
            assert slot is not None
            self.scoreboard.set_process(slot, os.getpid(), self.generation)
            self.mpm.child_main(self, slot)
            self.log(NOTICE, "AH00169: caught SIGTERM, shutting down", force=True)
            return 0
        finally:
            for sock in self.listeners:
                sock.close()
            self.scoreboard.close()
            self.scoreboard.unlink()

    # -- the loop ------------------------------------------------------------------
    def _on_signal(self, signum: int, frame: Any) -> None:
        if signum != signal.SIGCHLD:
            self.pending.append(signum)

    def main_loop(self, wake_r: int) -> int:
        next_tick = time.monotonic() + TICK
        while True:
            timeout = max(0.0, next_tick - time.monotonic())
            with contextlib.suppress(InterruptedError):
                select.select([wake_r], [], [], timeout)
            with contextlib.suppress(OSError):
                while os.read(wake_r, 512):
                    pass
            self.reap()
            while self.pending:
                signum = self.pending.pop(0)
                if signum in (signal.SIGTERM, signal.SIGINT):
                    self.log(NOTICE, "AH00169: caught SIGTERM, shutting down", force=True)
                    self.stop_children()
                    return 0
                if signum == signal.SIGWINCH:
                    self.log(
                        NOTICE, "AH00170: caught SIGWINCH, shutting down gracefully", force=True
                    )
                    self.graceful_stop()
                    return 0
                if signum == signal.SIGHUP:
                    self.log(NOTICE, "AH00172: SIGHUP received.  Attempting to restart", force=True)
                    self.restart(graceful=False)
                elif signum == signal.SIGUSR1:
                    self.log(
                        NOTICE, "AH00171: Graceful restart requested, doing restart", force=True
                    )
                    self.restart(graceful=True)
            if time.monotonic() >= next_tick:
                next_tick = time.monotonic() + TICK
                # as httpd, no maintenance in a tick that started children: they are
                # not idle yet, and would be counted as missing
                if not (self.remaining_to_start and self.start_children(self.remaining_to_start)):
                    self.mpm.perform_idle_server_maintenance(self)

    # -- children ---------------------------------------------------------------
    def spawn(self, slot: int) -> int:
        """Start the child of scoreboard slot ``slot`` the MPM's way (fork, or winnt's spawn)."""
        pid: int = self.mpm.make_child(self, slot)
        self.children[pid] = Child(pid, slot, self.generation)
        self.scoreboard.set_process(slot, pid, self.generation)
        return pid

    def start_children(self, count: int) -> int:
        """Start up to ``count`` children in free slots; how many started.

        What finds no slot (after a graceful restart, the old generation's
        children keep theirs until they finish) is left in
        ``remaining_to_start``, and the main loop starts it as slots free: the
        new generation gets its StartServers children, as httpd's 1-for-1
        replacement gives them, however long the old ones take.
        """
        started = 0
        while started < count:
            slot = self.scoreboard.claim_process_slot()
            if slot is None:
                break
            self.spawn(slot)
            started += 1
        self.remaining_to_start = count - started
        return started

    def fork_child(self, slot: int) -> int:
        # what the parent has built so far is never collected in a child: a collection
        # there would write to every object's header and unshare its copy-on-write pages
        # (3 MiB of PSS less over two event children, measured with bench's PSS sum)
        gc.freeze()
        pid = os.fork()
        if pid == 0:  # the child
            code = 0
            try:
                signal.set_wakeup_fd(-1)
                self.mpm.child_main(self, slot)
            except BaseException as e:  # never return into the parent's loop
                code = 1
                with contextlib.suppress(Exception):
                    self.error_log.log(
                        ERROR, f"MP00040: child {os.getpid()} failed: {e!r}", force=True
                    )
            finally:
                os._exit(code)
        return pid

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            child = self.children.pop(pid, None)
            if child is None:
                continue
            self.scoreboard.free_process(child.slot)
            if os.WIFSIGNALED(status):
                signum = os.WTERMSIG(status)
                if signum not in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGWINCH):
                    word = _SIGNAL_WORDS.get(signal.Signals(signum), signal_name(signum))
                    self.log(
                        NOTICE,
                        f"AH00052: child pid {pid} exit signal {word} ({signum})",
                        "core",
                        force=True,
                    )

    def signal_children(self, signum: int, only_generation: int | None = None) -> None:
        for child in list(self.children.values()):
            if only_generation is not None and child.generation != only_generation:
                continue
            if signum in (signal.SIGUSR1, signal.SIGWINCH):
                child.quiescing = True
                self.scoreboard.set_quiescing(child.slot)
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signum)

    def wait_children(self, timeout: float) -> bool:
        """Reap until no child is left or ``timeout`` passes (0 waits for ever); True if all gone."""
        deadline = time.monotonic() + timeout if timeout else None
        while self.children:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
            self.reap()
        return True

    def stop_children(self) -> None:
        self.signal_children(signal.SIGTERM)
        if not self.wait_children(STOP_GRACE):
            self.signal_children(signal.SIGKILL)
            self.wait_children(STOP_GRACE)

    def graceful_stop(self) -> None:
        for sock in self.listeners:
            sock.close()
        self.listeners = []
        self.signal_children(signal.SIGWINCH)
        timeout = self.config.graceful_shutdown_timeout
        if not self.wait_children(timeout):
            self.stop_children()

    def restart(self, graceful: bool) -> None:
        try:
            config = self.reload()
        except ConfigError as e:
            self.log(
                ERROR,
                f"AH00116: {e.one_line()} -- configuration error: keeping the running server",
                "core",
                force=True,
            )
            return
        except Exception as e:
            self.log(
                ERROR,
                f"MP00041: restart failed, keeping the running server: {e!r}",
                "core",
                force=True,
            )
            return
        new_mpm = config.mpm_name
        switch = new_mpm != self.config.mpm_name
        if switch and (graceful or new_mpm is None):
            # old and new children would share one scoreboard of the old MPM's shape
            self.log(
                ERROR,
                f"MP00042: a graceful restart cannot change the MPM ({self.config.mpm_name} -> "
                f"{new_mpm}): keeping the running server; use a full restart (mpmd -k restart)",
                "core",
                force=True,
            )
            return
        try:
            # modules open their logs and import apps now, while the old generation still
            # serves: a failure (a log directory gone, say) keeps the server as it was
            for post_config in config.hooks["post_config"]:
                post_config(config)
        except Exception as e:
            message = e.one_line() if isinstance(e, ConfigError) else repr(e)
            self.log(
                ERROR,
                f"MP00046: {message} -- the new configuration cannot start: keeping the "
                "running server",
                "core",
                force=True,
            )
            close_modules(config)
            return
        old_generation = self.generation
        # winnt: the new child must be serving before the old one is told to finish
        start_first = graceful and getattr(self.mpm, "start_before_stop", False)
        if graceful and not start_first:
            self.signal_children(signal.SIGUSR1, only_generation=old_generation)
        elif not graceful:
            self.stop_children()
        old_config, self.config = self.config, config
        self.generation += 1
        if switch:
            from mpmd.mpm import mpm_for

            self.log(
                NOTICE,
                f"MP00044: switching MPM: {old_config.mpm_name} -> {new_mpm}",
                "core",
                force=True,
            )
            self.scoreboard.close()
            self.scoreboard.unlink()
            del self.scoreboard  # the new MPM sizes its own
            self.mpm = mpm_for(new_mpm)
            self.mpm.check_config(self)
            self.scoreboard = self.mpm.create_scoreboard(self)
        self.scoreboard.set_generation(self.generation)
        self.open_logs()
        try:
            self.open_listeners()
        except ListenError as e:
            self.log(
                ERROR,
                f"{e} -- keeping the listen sockets of the previous generation",
                "core",
                force=True,
            )
        self.mpm.check_config(self)
        self.log_config_warnings()
        close_modules(old_config)  # the old generation's children hold their own copies
        self.idle_spawn_rate = 1
        self.set_title(f"mpmd: parent (generation {self.generation}) {self.command_line}")
        self._announce(self.mpm.name)
        self.mpm.startup_children(self)
        if start_first:
            self.mpm.wait_ready(self)
            self.signal_children(signal.SIGUSR1, only_generation=old_generation)
