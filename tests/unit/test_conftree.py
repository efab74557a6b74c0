"""``mpmctl init DIR``: a copy of the embedded default in Debian's layout, that runs from where it is."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mpmd.cli import conftree
from mpmd.cli import mpmd as mpmd_cli
from mpmd.cli.mpmctl import main

EMBEDDED = conftree.EMBEDDED_ROOT
LAYOUT = ("mods", "conf", "sites")


def links(folder: Path) -> dict[str, str]:
    return {p.name: os.readlink(p) for p in folder.iterdir() if p.is_symlink()}


def test_the_embedded_default_is_a_debian_tree_with_a_conf_and_a_site_enabled() -> None:
    for pair in LAYOUT:
        assert (EMBEDDED / f"{pair}-available").is_dir()
        assert (EMBEDDED / f"{pair}-enabled").is_dir()
    assert links(EMBEDDED / "conf-enabled")["security.conf"] == "../conf-available/security.conf"
    assert links(EMBEDDED / "sites-enabled")["000-default.conf"] == (
        "../sites-available/000-default.conf"
    )
    text = (EMBEDDED / "mpmd.conf").read_text()
    assert "IncludeOptional conf-enabled/*.conf" in text
    assert "IncludeOptional sites-enabled/*.conf" in text


def test_init_copies_the_tree_with_its_enabled_entries_as_relative_symlinks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "site"
    assert main(["init", str(dest)]) == 0
    assert f"Created {dest}" in capsys.readouterr().out
    for pair in LAYOUT:
        enabled = dest / f"{pair}-enabled"
        assert links(enabled) == links(EMBEDDED / f"{pair}-enabled")
        for name in links(enabled):
            assert (enabled / name).resolve().is_relative_to(dest)
    assert (dest / "htdocs" / "index.html").read_bytes() == (
        EMBEDDED / "htdocs" / "index.html"
    ).read_bytes()


def test_init_points_the_pid_file_and_logs_into_the_copy(tmp_path: Path) -> None:
    dest = tmp_path / "site"
    conftree.init(dest)
    config = mpmd_cli.load(mpmd_cli.parser().parse_args(["-d", str(dest), "-f", "mpmd.conf"]), [])
    assert config.server_root == str(dest)
    assert config.path(config.pid_file) == str(dest / "run" / "mpmd.pid")
    assert config.main.error_log == str(dest / "logs" / "error_log")
    assert config.main.document_root == str(dest / "htdocs")
    assert (dest / "logs").is_dir() and (dest / "run").is_dir()


def test_the_copy_passes_the_syntax_check(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "site"
    conftree.init(dest)
    assert mpmd_cli.main(["-t", "-d", str(dest), "-f", "mpmd.conf"]) == 0
    assert capsys.readouterr().err.endswith("Syntax OK\n")


def test_init_refuses_a_directory_that_is_not_empty(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 1
    assert "exists and is not an empty directory" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


def test_init_turns_plain_copies_in_enabled_back_into_symlinks(tmp_path: Path) -> None:
    """An installed wheel holds the enabled entries as files (wheels carry no symlinks)."""
    source = tmp_path / "wheel-conf"
    (source / "mods-available").mkdir(parents=True)
    (source / "mods-enabled").mkdir()
    (source / "mpmd.conf").write_text("PidFile x\nErrorLog y\nCustomLog z combined\n")
    (source / "mods-available" / "a.load").write_text("LoadModule a_module x\n")
    (source / "mods-enabled" / "a.load").write_text("LoadModule a_module x\n")
    (source / "mods-enabled" / "own.load").write_text("LoadModule own_module x\n")
    dest = tmp_path / "copy"
    conftree.init(dest, source)
    assert os.readlink(dest / "mods-enabled" / "a.load") == "../mods-available/a.load"
    assert not (dest / "mods-enabled" / "own.load").is_symlink()


def test_init_fails_loudly_when_the_default_has_no_pid_file_line(tmp_path: Path) -> None:
    source = tmp_path / "odd"
    source.mkdir()
    (source / "mpmd.conf").write_text("ErrorLog y\nCustomLog z combined\n")
    with pytest.raises(conftree.TreeError, match="one top-level PidFile"):
        conftree.init(tmp_path / "copy", source)
    assert not (tmp_path / "copy").exists()


def test_the_configuration_directory_is_dash_d_then_the_environment_then_embedded(
    tmp_path: Path,
) -> None:
    env = {"MPMD_CONFDIR": str(tmp_path / "env")}
    assert conftree.choose(str(tmp_path / "opt"), env).root == tmp_path / "opt"
    assert conftree.choose(None, env).root == tmp_path / "env"
    embedded = conftree.choose(None, {})
    assert embedded.embedded and embedded.mpmd_args() == []
    assert conftree.choose(None, env).mpmd_args() == [
        "-d",
        str(tmp_path / "env"),
        "-f",
        "mpmd.conf",
    ]
