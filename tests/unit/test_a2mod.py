"""``mpmctl enmod|dismod|enconf|disconf|ensite|dissite``: Debian's a2enmod on a tree from ``init``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mpmd.cli import conftree
from mpmd.cli.mpmctl import main

MPMS = ("mpm_prefork", "mpm_worker", "mpm_event", "mpm_winnt")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A configuration directory made by ``mpmctl init``, prefork enabled and no other MPM."""
    monkeypatch.delenv("MPMD_CONFDIR", raising=False)
    root = tmp_path / "conf"
    conftree.init(root)
    for mpm in MPMS[1:]:
        add_module(root, mpm, f"# Conflicts: {' '.join(m for m in MPMS if m != mpm)}\n")
    for suffix in (".load", ".conf"):  # the embedded default runs event: this tree, prefork
        link = root / "mods-enabled" / f"mpm_prefork{suffix}"
        if not link.is_symlink():
            link.symlink_to(f"../mods-available/mpm_prefork{suffix}")
    return root


def add_module(root: Path, name: str, header: str = "", conf: str | None = None) -> None:
    """Write mods-available/NAME.load (and NAME.conf), not enabled."""
    (root / "mods-available" / f"{name}.load").write_text(
        f"{header}LoadModule {name}_module modules/mod_{name}.so\n"
    )
    if conf is not None:
        (root / "mods-available" / f"{name}.conf").write_text(conf)
    for suffix in (".load", ".conf"):
        link = root / "mods-enabled" / f"{name}{suffix}"
        if link.is_symlink():
            link.unlink()


def mpmctl(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["-d", str(root), *args])
    out, err = capsys.readouterr()
    return code, out, err


def enabled(root: Path, folder: str = "mods") -> set[str]:
    return {p.name for p in (root / f"{folder}-enabled").iterdir()}


def restart_hint(root: Path, verb: str = "restart") -> str:
    return f"To activate the new configuration, you need to run:\n  mpmctl -d {root} {verb}\n"


# -- enmod ---------------------------------------------------------------------------------------


def test_enmod_links_the_load_and_conf_files_relatively_and_asks_for_a_restart(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "status", conf="<IfModule status_module>\n</IfModule>\n")
    assert mpmctl(capsys, tree, "enmod", "status") == (
        0,
        "Enabling module status.\n" + restart_hint(tree),
        "",
    )
    for suffix in (".load", ".conf"):
        link = tree / "mods-enabled" / f"status{suffix}"
        assert os.readlink(link) == f"../mods-available/status{suffix}"


def test_enmod_of_an_enabled_module_says_so_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    before = enabled(tree)
    assert mpmctl(capsys, tree, "enmod", "reqtimeout") == (
        0,
        "Module reqtimeout already enabled\n",
        "",
    )
    assert enabled(tree) == before


def test_enmod_links_a_missing_conf_of_an_enabled_module(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "status", conf="# settings\n")
    (tree / "mods-enabled" / "status.load").symlink_to("../mods-available/status.load")
    assert mpmctl(capsys, tree, "enmod", "status") == (
        0,
        "Enabling config file status.conf.\n" + restart_hint(tree),
        "",
    )
    assert (tree / "mods-enabled" / "status.conf").is_symlink()


def test_enmod_of_a_missing_module_is_an_error(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    before = enabled(tree)
    assert mpmctl(capsys, tree, "enmod", "foo") == (1, "", "ERROR: Module foo does not exist!\n")
    assert enabled(tree) == before


def test_enmod_accepts_the_load_suffix_and_wildcards(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "example_one")
    add_module(tree, "example_two")
    code, out, _ = mpmctl(capsys, tree, "enmod", "example_*", "reqtimeout.load")
    assert code == 0
    assert out.startswith(
        "Enabling module example_one.\nEnabling module example_two.\n"
        "Module reqtimeout already enabled\n"
    )


def test_a_wildcard_that_matches_nothing_is_an_error(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    assert mpmctl(capsys, tree, "enmod", "nope*") == (
        1,
        "",
        "ERROR: No module found matching nope*!\n",
    )


def test_enmod_of_a_second_mpm_is_refused_while_another_is_enabled(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    code, out, err = mpmctl(capsys, tree, "enmod", "mpm_event")
    assert code == 1
    assert out == (
        "Considering conflict mpm_prefork for mpm_event:\n"
        "Considering conflict mpm_worker for mpm_event:\n"
        "Considering conflict mpm_winnt for mpm_event:\n"
    )
    assert err == (
        "ERROR: Module mpm_prefork is enabled - cannot proceed due to conflicts. "
        "It needs to be disabled first!\n"
    )
    assert "mpm_event.load" not in enabled(tree)


def test_dismod_then_enmod_switches_the_mpm(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    assert mpmctl(capsys, tree, "dismod", "mpm_prefork") == (
        0,
        "Module mpm_prefork disabled.\n" + restart_hint(tree),
        "",
    )
    assert not {"mpm_prefork.load", "mpm_prefork.conf"} & enabled(tree)
    code, out, err = mpmctl(capsys, tree, "enmod", "mpm_event")
    assert (code, err) == (0, "")
    assert out.endswith("Enabling module mpm_event.\n" + restart_hint(tree))
    assert "mpm_event.load" in enabled(tree)


def test_enmod_enables_the_dependencies_first(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "example_base")
    add_module(tree, "example", "# Depends: example_base\n")
    assert mpmctl(capsys, tree, "enmod", "example") == (
        0,
        "Considering dependency example_base for example:\n"
        "Enabling module example_base.\n"
        "Enabling module example.\n" + restart_hint(tree),
        "",
    )


def test_enmod_with_a_missing_dependency_aborts(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "example", "# Some words first\n# Depends: nothere\n")
    assert mpmctl(capsys, tree, "enmod", "example") == (
        1,
        "Considering dependency nothere for example:\n",
        "ERROR: Module nothere does not exist!\n"
        "ERROR: Could not enable dependency nothere for example, aborting\n",
    )
    assert "example.load" not in enabled(tree)


def test_headers_after_the_first_directive_are_not_read(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    (tree / "mods-available" / "example.load").write_text(
        "LoadModule example_module modules/mod_example.so\n# Depends: nothere\n"
    )
    code, out, _ = mpmctl(capsys, tree, "enmod", "example")
    assert (code, out.splitlines()[0]) == (0, "Enabling module example.")


def test_quiet_keeps_only_what_changed(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    add_module(tree, "example")
    assert mpmctl(capsys, tree, "enmod", "-q", "example") == (
        0,
        "Enabling module example.\n",
        "",
    )
    assert mpmctl(capsys, tree, "enmod", "--quiet", "example") == (0, "", "")


def test_a_real_file_in_mods_enabled_is_left_alone(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "example")
    real = tree / "mods-enabled" / "example.load"
    real.write_text("LoadModule example_module x\n")
    assert mpmctl(capsys, tree, "enmod", "example") == (
        1,
        "",
        f"ERROR: Module example not properly enabled: {real} is a real file, not touching it\n",
    )
    assert not real.is_symlink()


# -- dismod ------------------------------------------------------------------------------------


def test_dismod_of_a_disabled_module_says_so(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    assert mpmctl(capsys, tree, "dismod", "mpm_event") == (
        0,
        "Module mpm_event already disabled\n",
        "",
    )


def test_dismod_refuses_while_an_enabled_module_depends_on_it(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "example_base")
    add_module(tree, "example", "# Depends: example_base\n")
    assert mpmctl(capsys, tree, "enmod", "-q", "example")[0] == 0
    assert mpmctl(capsys, tree, "dismod", "example_base") == (
        1,
        "",
        "ERROR: The following modules depend on example_base and need to be disabled first: "
        "example\n",
    )
    assert "example_base.load" in enabled(tree)


def test_dismod_force_disables_the_dependent_modules_first(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    add_module(tree, "example_base")
    add_module(tree, "example", "# Depends: example_base\n")
    assert mpmctl(capsys, tree, "enmod", "-q", "example")[0] == 0
    code, out, err = mpmctl(capsys, tree, "dismod", "-f", "example_base")
    assert (code, err) == (0, "")
    assert out.startswith(
        "Considering dependency example for example_base:\n"
        "Module example disabled.\n"
        "Module example_base disabled.\n"
    )
    assert not {"example.load", "example_base.load"} & enabled(tree)


def test_dismod_removes_a_dangling_link(capsys: pytest.CaptureFixture[str], tree: Path) -> None:
    dangling = tree / "mods-enabled" / "gone.load"
    dangling.symlink_to("../mods-available/gone.load")
    code, out, _ = mpmctl(capsys, tree, "dismod", "gone")
    assert (code, out.splitlines()[0]) == (0, f"removing dangling symlink {dangling}")
    assert not dangling.is_symlink()


# -- conf and sites ----------------------------------------------------------------------------


def test_dissite_and_ensite_manage_the_default_site_and_ask_for_a_graceful_restart(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    assert mpmctl(capsys, tree, "dissite", "000-default") == (
        0,
        "Site 000-default disabled.\n" + restart_hint(tree, "graceful"),
        "",
    )
    assert enabled(tree, "sites") == set()
    assert mpmctl(capsys, tree, "ensite", "000-default") == (
        0,
        "Enabling site 000-default.\n" + restart_hint(tree, "graceful"),
        "",
    )
    link = tree / "sites-enabled" / "000-default.conf"
    assert os.readlink(link) == "../sites-available/000-default.conf"


def test_disconf_and_enconf_manage_conf_snippets(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    assert mpmctl(capsys, tree, "disconf", "security")[1].startswith("Conf security disabled.\n")
    assert "security.conf" not in enabled(tree, "conf")
    assert mpmctl(capsys, tree, "enconf", "security")[1].startswith("Enabling conf security.\n")
    assert "security.conf" in enabled(tree, "conf")


def test_enconf_refuses_a_conf_whose_module_is_not_enabled(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    (tree / "conf-available" / "needs.conf").write_text("# Depends: nomod\nTimeout 5\n")
    assert mpmctl(capsys, tree, "enconf", "needs") == (
        1,
        "Checking dependency nomod for needs:\n",
        "WARNING: Module nomod is not enabled, but needs depends on it, aborting\n",
    )


def test_ensite_of_a_missing_site_is_an_error(
    capsys: pytest.CaptureFixture[str], tree: Path
) -> None:
    assert mpmctl(capsys, tree, "ensite", "nosuch") == (
        1,
        "",
        "ERROR: Site nosuch does not exist!\n",
    )


# -- which directory ---------------------------------------------------------------------------


def test_the_embedded_default_is_never_changed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MPMD_CONFDIR", raising=False)
    embedded = conftree.EMBEDDED_ROOT / "mods-enabled"
    before = sorted(p.name for p in embedded.iterdir())
    code = main(["dismod", "mpm_prefork"])
    _, err = capsys.readouterr()
    assert code == 1
    assert "embedded default configuration" in err
    assert "mpmctl init DIR" in err
    assert sorted(p.name for p in embedded.iterdir()) == before


def test_the_embedded_default_is_refused_also_when_named_with_dash_d(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, _, err = mpmctl(capsys, conftree.EMBEDDED_ROOT, "enmod", "status")
    assert code == 1
    assert "mpmctl init DIR" in err


def test_mpmd_confdir_chooses_the_directory(
    capsys: pytest.CaptureFixture[str], tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPMD_CONFDIR", str(tree))
    add_module(tree, "example")
    assert main(["enmod", "example"]) == 0
    out, _ = capsys.readouterr()
    assert out.endswith("you need to run:\n  mpmctl restart\n")
    assert "example.load" in enabled(tree)


def test_a_directory_that_is_not_a_tree_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = mpmctl(capsys, tmp_path, "enmod", "status")
    assert code == 1
    assert "is not a configuration directory" in err
