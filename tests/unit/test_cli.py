"""``mpmd``, httpd's command line: -t, -M, -l, -L, -v, -V, -S, -D, -C, -c, -f, -d, -T, -e, -k."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import mpmd
from mpmd.cli.mpmd import main

INVALID = "perhaps misspelled or defined by a module not included in the server configuration"
SRC = str(Path(mpmd.__file__).resolve().parent.parent)


def write_conf(folder: Path, text: str, name: str = "mpmd.conf") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    conf = folder / name
    conf.write_text(text)
    return conf


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    """A small valid configuration."""
    return write_conf(tmp_path, "Listen 127.0.0.1:0\nTimeout 5\n")


# -- -t ------------------------------------------------------------------------------------------


def test_dash_t_says_syntax_ok_on_stderr(capsys: pytest.CaptureFixture[str], conf: Path) -> None:
    assert run(capsys, "-t", "-f", str(conf)) == (0, "", "Syntax OK\n")


def test_dash_t_prints_the_error_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "Listen 80\nBogus on\n")
    assert run(capsys, "-t", "-f", str(conf)) == (
        1,
        "",
        f"AH00526: Syntax error on line 2 of {conf}:\nInvalid command 'Bogus', {INVALID}\n",
    )


def test_dash_t_prints_warnings_before_syntax_ok(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "DocumentRoot nowhere\n")
    code, _, err = run(capsys, "-t", "-f", str(conf))
    assert code == 0
    assert (
        err
        == f"AH00112: Warning: DocumentRoot [{tmp_path / 'nowhere'}] does not exist\nSyntax OK\n"
    )


def test_dash_capital_t_skips_the_document_root_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "DocumentRoot nowhere\n")
    assert run(capsys, "-t", "-T", "-f", str(conf)) == (0, "", "Syntax OK\n")


def test_dash_t_of_a_missing_file_says_it_could_not_open_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "missing.conf"
    assert run(capsys, "-t", "-f", str(missing)) == (
        1,
        "",
        f"mpmd: Could not open configuration file {missing}: No such file or directory\n",
    )


def test_dash_t_does_not_require_a_listen(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "Timeout 5\n")
    assert run(capsys, "-t", "-f", str(conf))[0] == 0


# -- -D, -C, -c -----------------------------------------------------------------------------------


def test_dash_d_defines_a_name_for_ifdefine(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "<IfDefine BROKEN>\nBogus\n</IfDefine>\n")
    assert run(capsys, "-t", "-f", str(conf))[0] == 0
    assert run(capsys, "-t", "-D", "BROKEN", "-f", str(conf))[0] == 1


def test_dash_capital_c_runs_before_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "Timeout 5\nListen 8080\n")
    code, _, err = run(capsys, "-t", "-C", "Listen 8080", "-f", str(conf))
    assert code == 1
    assert err.startswith(f"AH00526: Syntax error on line 2 of {conf}:\n")
    assert "Cannot define multiple Listeners on the same IP:port" in err


def test_dash_capital_c_defines_are_seen_by_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "<IfDefine !EARLY>\nBogus\n</IfDefine>\n")
    assert run(capsys, "-t", "-C", "Define EARLY", "-f", str(conf))[0] == 0


def test_dash_c_runs_after_the_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "Listen 8080\n")
    code, _, err = run(capsys, "-t", "-c", "Listen 8080", "-f", str(conf))
    assert (code, err) == (
        1,
        "AH00526: Syntax error on line 1 of -c directive 1:\n"
        "Cannot define multiple Listeners on the same IP:port\n",
    )


def test_an_error_in_a_dash_c_directive_names_it(
    capsys: pytest.CaptureFixture[str], conf: Path
) -> None:
    code, _, err = run(capsys, "-t", "-c", "Timeout 1", "-c", "Nope", "-f", str(conf))
    assert (code, err.splitlines()[0]) == (1, "AH00526: Syntax error on line 1 of -c directive 2:")


# -- -f, -d ----------------------------------------------------------------------------------------


def test_dash_f_relative_is_relative_to_dash_d(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write_conf(tmp_path / "conf", "Include extra.conf\n", name="main.conf")
    write_conf(tmp_path, "Timeout 5\n", name="extra.conf")
    assert run(capsys, "-t", "-d", str(tmp_path), "-f", "conf/main.conf") == (0, "", "Syntax OK\n")


def test_dash_f_relative_without_dash_d_is_relative_to_the_working_directory(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_conf(tmp_path / "site", "Include extra.conf\n")
    write_conf(tmp_path / "site", "Timeout 5\n", name="extra.conf")
    monkeypatch.chdir(tmp_path)
    # with no -d the configuration file's folder is the ServerRoot
    assert run(capsys, "-t", "-f", "site/mpmd.conf") == (0, "", "Syntax OK\n")


def test_dash_d_sets_the_server_root(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    conf = write_conf(tmp_path / "etc", "Timeout 5\n")
    code, out, _ = run(capsys, "-S", "-d", str(tmp_path), "-f", str(conf))
    assert code == 0
    assert f'ServerRoot: "{tmp_path}"' in out.splitlines()


# -- -M, -l, -L -----------------------------------------------------------------------------------


def test_dash_capital_m_lists_static_and_shared_modules(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "LoadModule reqtimeout_module modules/mod_reqtimeout.so\n")
    code, out, err = run(capsys, "-M", "-f", str(conf))
    lines = out.splitlines()
    assert (code, err) == (0, "")
    assert lines[:2] == ["Loaded Modules:", " core_module (static)"]
    assert " so_module (static)" in lines
    assert lines[-1] == " reqtimeout_module (shared)"


def test_dash_t_dash_capital_d_dump_modules_is_dash_capital_m(
    capsys: pytest.CaptureFixture[str], conf: Path
) -> None:
    assert run(capsys, "-t", "-D", "DUMP_MODULES", "-f", str(conf)) == run(
        capsys, "-M", "-f", str(conf)
    )


def test_dash_capital_m_reports_a_configuration_error(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "Bogus\n")
    code, out, err = run(capsys, "-M", "-f", str(conf))
    assert (code, out) == (1, "")
    assert err.startswith("AH00526: Syntax error on line 1 of ")


def test_dash_l_lists_the_compiled_in_modules_by_source_file(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "-l")
    lines = out.splitlines()
    assert (code, lines[0]) == (0, "Compiled in modules:")
    assert {"  core.c", "  mod_so.c", "  mod_authz_core.c"} <= set(lines)
    assert "  mod_reqtimeout.c" not in lines  # loadable, not compiled in


def test_dash_capital_l_describes_each_directive(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-L")
    lines = out.splitlines()
    at = lines.index("Listen (core.c)")
    assert code == 0
    assert lines[at + 1] == (
        "\tA port number or a numeric IP address and a port number, and an optional protocol"
    )
    assert lines[at + 2].startswith("\tAllowed in *.conf only outside <Directory>")
    assert lines[at + 3] == "\tContext: server config; Syntax: 1-2 arguments; Module: core_module"
    assert "RequestReadTimeout (mod_reqtimeout.c)" in lines
    assert "Require (mod_authz_core.c)" in lines


# -- -v, -V, -h, -S ---------------------------------------------------------------------------------


def test_dash_v_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-v")
    assert code == 0
    assert out.startswith("Server version: ")
    assert "Server built:" in out


def test_dash_capital_v_prints_the_settings_with_the_mpm(
    capsys: pytest.CaptureFixture[str], conf: Path
) -> None:
    code, out, _ = run(capsys, "-V", "-f", str(conf))
    lines = out.splitlines()
    assert code == 0
    assert lines[0].startswith("Server version: ")
    assert any(line.startswith("Server MPM:") for line in lines)
    assert "Server compiled with...." in lines


def test_dash_h_prints_the_usage(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "-h")
    assert code == 0
    assert out.startswith("usage: mpmd")


def test_dash_capital_s_shows_virtual_hosts_and_run_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(
        tmp_path,
        "Listen 80\nDefine SITE blue\n<VirtualHost *:80>\nServerName www.example.com\n</VirtualHost>\n",
    )
    code, out, _ = run(capsys, "-S", "-f", str(conf))
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "VirtualHost configuration:"
    assert lines[1].split() == ["*:80", "www.example.com", f"({conf}:3)"]
    assert f'ServerRoot: "{tmp_path}"' in lines
    assert "Define: SITE=blue" in lines


def test_dash_upper_s_shows_the_vhosts_an_address_chooses_among_by_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(
        tmp_path,
        "Listen 80\n"
        "<VirtualHost *:80>\nServerName a.example\nServerAlias www.a.example *.a.example\n"
        "</VirtualHost>\n"
        "<VirtualHost *:80>\nServerName b.example\n</VirtualHost>\n"
        "<VirtualHost 127.0.0.1>\nServerName local.example\n</VirtualHost>\n",
    )
    code, out, _ = run(capsys, "-S", "-f", str(conf))
    assert code == 0
    assert out.splitlines()[:8] == [
        "VirtualHost configuration:",
        f"127.0.0.1:*            local.example ({conf}:9)",
        "*:80                   is a NameVirtualHost",
        f"         default server a.example ({conf}:2)",
        f"         port 80 namevhost a.example ({conf}:2)",
        "                 alias www.a.example",
        "                 wild alias *.a.example",
        f"         port 80 namevhost b.example ({conf}:6)",
    ]


# -- -e, -k, serving -------------------------------------------------------------------------------


def test_dash_e_rejects_an_unknown_level(capsys: pytest.CaptureFixture[str], conf: Path) -> None:
    assert run(capsys, "-e", "chatty", "-t", "-f", str(conf)) == (
        1,
        "",
        "mpmd: invalid log level 'chatty'\n",
    )


@pytest.mark.parametrize("verb", ["start", "restart", "graceful"])
def test_dash_k_that_starts_a_server_needs_an_mpm(
    capsys: pytest.CaptureFixture[str], conf: Path, verb: str
) -> None:
    code, out, err = run(capsys, "-k", verb, "-f", str(conf))
    assert (code, out) == (1, "")
    assert err.startswith("AH00534: mpmd: Configuration error: No MPM loaded")


@pytest.mark.parametrize("verb", ["stop", "graceful-stop"])
def test_dash_k_stop_without_a_server_says_not_running(
    capsys: pytest.CaptureFixture[str], conf: Path, verb: str
) -> None:
    code, out, _err = run(capsys, "-k", verb, "-f", str(conf))
    assert (code, out) == (0, "mpmd (no pid file) not running\n")


def test_dash_k_rejects_an_unknown_verb(capsys: pytest.CaptureFixture[str], conf: Path) -> None:
    assert run(capsys, "-k", "reload", "-f", str(conf))[0] != 0


def test_starting_without_listen_fails_with_AH00534(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    conf = write_conf(tmp_path, "Timeout 5\n")
    assert run(capsys, "-f", str(conf)) == (
        1,
        "",
        "AH00534: mpmd: Configuration error: No listening sockets available, shutting down\n",
    )


# -- end to end, as a process ----------------------------------------------------------------------


def mpmd_process(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(
        [sys.executable, "-m", "mpmd", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_mpmd_process_checks_syntax(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "Listen 80\n<Directory /srv>\nOptions None\n</Directory>\n")
    done = mpmd_process("-t", "-f", str(conf), cwd=tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "Syntax OK\n")


def test_the_mpmd_process_exits_1_on_a_syntax_error(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "Listen 80\n<Directory /srv>\n")
    done = mpmd_process("-t", "-f", str(conf), cwd=tmp_path)
    assert (done.returncode, done.stderr) == (
        1,
        f"AH00526: Syntax error on line 2 of {conf}:\n<Directory> was not closed.\n",
    )


@pytest.mark.parametrize("args", [["-L"], ["-V", "-f", "mpmd.conf"]])
def test_the_mpmd_process_ends_quietly_when_its_reader_has_gone(
    tmp_path: Path, args: list[str]
) -> None:
    # mpmd -L | head -1: a reader that is gone before the output, without a traceback
    write_conf(tmp_path, "Listen 80\n")
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mpmd", *args],
            cwd=tmp_path,
            env=env,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    finally:
        os.close(write_end)
    assert (done.returncode, done.stderr) == (1, "")


def test_the_mpmd_process_lists_modules(tmp_path: Path) -> None:
    conf = write_conf(tmp_path, "Listen 80\n")
    done = mpmd_process("-M", "-f", str(conf), cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("Loaded Modules:\n core_module (static)\n")


def test_startup_errors_go_to_the_file_given_with_capital_e(tmp_path: Path) -> None:
    from mpmd.cli.mpmd import main

    log = tmp_path / "startup.log"
    assert main(["-t", "-E", str(log), "-C", "NoSuchDirective"]) == 1
    assert "Invalid command 'NoSuchDirective'" in log.read_text()


def test_e_error_hides_startup_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mpmd.cli.mpmd import main

    assert main(["-t", "-e", "error", "-c", "DocumentRoot /no/such/dir"]) == 0
    assert "AH00112" not in capsys.readouterr().err
    assert main(["-t", "-c", "DocumentRoot /no/such/dir"]) == 0
    assert "AH00112" in capsys.readouterr().err


def test_v_capital_names_the_loaded_mpm(capsys: pytest.CaptureFixture[str], conf: Path) -> None:
    code, out, _err = run(capsys, "-V", "-f", str(conf), "-C", "LoadModule mpm_prefork_module x")
    assert code == 0
    assert "Server MPM:     prefork\n" in out
    assert "    forked:     yes (variable process count)\n" in out


def test_server_limit_caps_max_request_workers_with_httpds_warning(
    capsys: pytest.CaptureFixture[str], conf: Path
) -> None:
    code, _out, err = run(
        capsys,
        "-t",
        "-f",
        str(conf),
        "-C",
        "LoadModule mpm_prefork_module x",
        "-c",
        "ServerLimit 10",
        "-c",
        "MaxRequestWorkers 50",
    )
    assert code == 0
    assert (
        "WARNING: MaxRequestWorkers of 50 exceeds ServerLimit value of 10 servers, "
        "decreasing MaxRequestWorkers to 10." in err
    )
