"""``mpmctl``'s verbs: which ``mpmd`` command each runs, and apachectl's exit statuses and words.

``mpmd`` itself is replaced here by a recorder; tests/integration/test_mpmctl.py runs the real one.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mpmd.cli import mpmctl


class FakeMpmd:
    """Records every mpmd command; ``status[flag]`` is the exit status for a command with it."""

    def __init__(self) -> None:
        self.commands: list[list[str]] = []
        self.status: dict[str, int] = {}

    def exit_status(self, cmd: list[str]) -> int:
        self.commands.append(cmd)
        return next((code for flag, code in self.status.items() if flag in cmd), 0)

    def call(self, cmd: list[str], **kw: Any) -> int:
        return self.exit_status(cmd)

    def run(self, cmd: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        code = self.exit_status(cmd)
        err = "AH00526: Syntax error on line 3 of x.conf:\nBad\n" if code else "Syntax OK\n"
        return subprocess.CompletedProcess(cmd, code, "", err)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeMpmd:
    recorder = FakeMpmd()
    monkeypatch.setattr(mpmctl.subprocess, "call", recorder.call)
    monkeypatch.setattr(mpmctl.subprocess, "run", recorder.run)
    monkeypatch.delenv("MPMD_CONFDIR", raising=False)
    return recorder


MPMD = [sys.executable, "-m", "mpmd"]


def test_server_verbs_run_mpmd_dash_k_on_the_directory(fake: FakeMpmd, tmp_path: Path) -> None:
    assert mpmctl.main(["-d", str(tmp_path), "stop"]) == 0
    assert fake.commands == [[*MPMD, "-d", str(tmp_path), "-f", "mpmd.conf", "-k", "stop"]]


def test_without_a_directory_mpmd_reads_its_embedded_default(fake: FakeMpmd) -> None:
    assert mpmctl.main(["start"]) == 0
    assert fake.commands == [[*MPMD, "-k", "start"]]


def test_mpmd_confdir_is_the_directory_when_there_is_no_dash_d(
    fake: FakeMpmd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPMD_CONFDIR", str(tmp_path))
    assert mpmctl.main(["graceful-stop"]) == 0
    assert fake.commands == [[*MPMD, "-d", str(tmp_path), "-f", "mpmd.conf", "-k", "graceful-stop"]]


def test_a_failed_action_passes_mpmds_status_through_with_apache2ctls_words(
    fake: FakeMpmd, capsys: pytest.CaptureFixture[str]
) -> None:
    fake.status["-k"] = 3
    assert mpmctl.main(["start"]) == 3
    assert capsys.readouterr().out == (
        "Action 'start' failed.\nThe mpmd error log may have more information.\n"
    )


@pytest.mark.parametrize("verb", ["restart", "graceful"])
def test_restart_and_graceful_check_the_configuration_first(fake: FakeMpmd, verb: str) -> None:
    assert mpmctl.main([verb]) == 0
    assert fake.commands == [[*MPMD, "-t"], [*MPMD, "-k", verb]]


@pytest.mark.parametrize("verb", ["restart", "graceful"])
def test_a_broken_configuration_stops_a_restart_before_any_signal(
    fake: FakeMpmd, capsys: pytest.CaptureFixture[str], verb: str
) -> None:
    fake.status["-t"] = 1
    assert mpmctl.main([verb]) == 1
    assert fake.commands == [[*MPMD, "-t"]]
    out, err = capsys.readouterr()
    assert err.startswith("AH00526: Syntax error on line 3 of x.conf:")
    assert out.startswith(f"Action '{verb}' failed.")


def test_configtest_is_mpmd_dash_t_and_its_status(fake: FakeMpmd) -> None:
    fake.status["-t"] = 1
    assert mpmctl.main(["configtest"]) == 1
    assert fake.commands == [[*MPMD, "-t"]]


@pytest.mark.parametrize("flags", [["-V"], ["-M"], ["-S"], ["-t", "-D", "X"], ["-h"]])
def test_mpmd_flags_pass_through(fake: FakeMpmd, tmp_path: Path, flags: list[str]) -> None:
    assert mpmctl.main(["-d", str(tmp_path), *flags]) == 0
    assert fake.commands == [[*MPMD, "-d", str(tmp_path), "-f", "mpmd.conf", *flags]]


def test_no_verb_prints_the_usage_and_exits_1(
    fake: FakeMpmd, capsys: pytest.CaptureFixture[str]
) -> None:
    assert mpmctl.main([]) == 1
    assert capsys.readouterr().err.startswith("Usage: mpmctl [-d DIR] start|stop|restart|")
    assert fake.commands == []


def test_help_prints_the_usage_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert mpmctl.main(["help"]) == 0
    out = capsys.readouterr().out
    for verb in ("configtest", "fullstatus", "enmod", "dissite", "init DIR"):
        assert verb in out


def test_an_unknown_verb_is_refused(fake: FakeMpmd, capsys: pytest.CaptureFixture[str]) -> None:
    assert mpmctl.main(["frobnicate"]) == 1
    assert capsys.readouterr().err.startswith("mpmctl: unknown verb 'frobnicate'\nUsage:")
    assert fake.commands == []


def test_the_mpmctl_script_is_installed() -> None:
    from importlib.metadata import entry_points

    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts.get("mpmctl") == "mpmd.cli.mpmctl:main"
