"""The configuration walk: dispatch, argument checks, contexts, -C/-c, Include, Define, <If*>."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpmd.config.loader import Cmd
from mpmd.config.registry import ANYWHERE, Directive, Module, Syntax, directive
from tests.unit.confkit import core_dir, fail, load

INVALID = "perhaps misspelled or defined by a module not included in the server configuration"


# A module with one directive per argument shape, to check each shape's message.
def _record(cmd: Cmd, *args: str) -> None:
    cmd.server_conf("shapes_module").append((cmd.node.name, args))


def _shape(name: str, syntax: Syntax) -> Directive:
    return directive(name, syntax, ANYWHERE, f"doc of {name}")(_record)


class ShapesModule(Module):
    name = "shapes_module"
    source = "mod_shapes.c"
    static = True
    directives = tuple(
        _shape(name, syntax)
        for name, syntax in (
            ("NoArgs", Syntax.NO_ARGS),
            ("Take1", Syntax.TAKE1),
            ("Take2", Syntax.TAKE2),
            ("Take12", Syntax.TAKE12),
            ("Take13", Syntax.TAKE13),
            ("Take23", Syntax.TAKE23),
            ("Take123", Syntax.TAKE123),
            ("Iterate", Syntax.ITERATE),
            ("Iterate2", Syntax.ITERATE2),
            ("Flag", Syntax.FLAG),
            ("Raw", Syntax.RAW_ARGS),
        )
    )

    def create_server_config(self) -> list[tuple[str, tuple[str, ...]]]:
        return []


def applied(tmp_path: Path, text: str) -> list[tuple[str, tuple[str, ...]]]:
    loaded = load(tmp_path, text, extra=[ShapesModule])
    calls: list[tuple[str, tuple[str, ...]]] = loaded.main.module_conf["shapes_module"]
    return calls


def shape_error(tmp_path: Path, line: str) -> str:
    error = fail(tmp_path, f"Timeout 5\n{line}\n", extra=[ShapesModule])
    assert (error.file, error.line) == (str(tmp_path / "mpmd.conf"), 2)
    return error.message


# -- dispatch ----------------------------------------------------------------------------


def test_an_unknown_directive_is_an_invalid_command_with_file_and_line(tmp_path: Path) -> None:
    error = fail(tmp_path, "Timeout 5\nTimeOutt 5\n")
    assert error.message == f"Invalid command 'TimeOutt', {INVALID}"
    assert (error.file, error.line) == (str(tmp_path / "mpmd.conf"), 2)


def test_an_unknown_section_is_an_invalid_command_named_with_its_bracket(tmp_path: Path) -> None:
    error = fail(tmp_path, "<Foo bar>\n</Foo>\n")
    assert (error.message, error.line) == (f"Invalid command '<Foo', {INVALID}", 1)


def test_a_section_name_used_as_a_directive_is_invalid(tmp_path: Path) -> None:
    assert fail(tmp_path, "Directory /x\n").message == f"Invalid command 'Directory', {INVALID}"


def test_a_config_error_prints_as_httpd_does(tmp_path: Path) -> None:
    error = fail(tmp_path, "\n\nNope\n")
    assert str(error) == (
        f"AH00526: Syntax error on line 3 of {tmp_path / 'mpmd.conf'}:\n"
        f"Invalid command 'Nope', {INVALID}"
    )


def test_directive_names_are_case_insensitive(tmp_path: Path) -> None:
    loaded = load(tmp_path, "tImEoUt 7\nKEEPALIVE off\nserveradmin a@b\n")
    assert (loaded.main.timeout, loaded.main.keep_alive, loaded.main.server_admin) == (
        7,
        False,
        "a@b",
    )


def test_section_names_are_case_insensitive(tmp_path: Path) -> None:
    loaded = load(tmp_path, "<lOCATION /x>\n  options none\n</location>\n")
    assert core_dir(loaded.config, None, "/x").options == 0


def test_directives_apply_in_file_order(tmp_path: Path) -> None:
    assert load(tmp_path, "Timeout 1\nTimeout 2\n").main.timeout == 2


def test_an_empty_file_is_a_valid_configuration(tmp_path: Path) -> None:
    assert load(tmp_path, "").main.timeout == 60


# -- argument shapes (httpd's AP_INIT_* checks) --------------------------------------


def test_each_shape_accepts_its_argument_counts(tmp_path: Path) -> None:
    calls = applied(
        tmp_path,
        "NoArgs\nTake1 a\nTake2 a b\nTake12 a\nTake12 a b\nTake13 a\nTake13 a b c\n"
        "Take23 a b\nTake23 a b c\nTake123 a\nTake123 a b\nTake123 a b c\n"
        "Iterate a b c d\nIterate2 a b c\nFlag on\nFlag OFF\nRaw  x  'y z' \n",
    )
    assert calls == [
        ("NoArgs", ()),
        ("Take1", ("a",)),
        ("Take2", ("a", "b")),
        ("Take12", ("a",)),
        ("Take12", ("a", "b")),
        ("Take13", ("a",)),
        ("Take13", ("a", "b", "c")),
        ("Take23", ("a", "b")),
        ("Take23", ("a", "b", "c")),
        ("Take123", ("a",)),
        ("Take123", ("a", "b")),
        ("Take123", ("a", "b", "c")),
        ("Iterate", ("a", "b", "c", "d")),
        ("Iterate2", ("a", "b", "c")),
        ("Flag", ("on",)),
        ("Flag", ("OFF",)),
        ("Raw", ("x  'y z'",)),
    ]


def test_quoted_arguments_count_as_one(tmp_path: Path) -> None:
    assert applied(tmp_path, 'Take1 "a b c"\n') == [("Take1", ("a b c",))]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("NoArgs x", "NoArgs takes no arguments"),
        ("Take1", "Take1 takes one argument, doc of Take1"),
        ("Take1 a b", "Take1 takes one argument, doc of Take1"),
        ("Take2 a", "Take2 takes two arguments, doc of Take2"),
        ("Take2 a b c", "Take2 takes two arguments, doc of Take2"),
        ("Take12", "Take12 takes 1-2 arguments, doc of Take12"),
        ("Take12 a b c", "Take12 takes 1-2 arguments, doc of Take12"),
        ("Take13 a b", "Take13 takes one or three arguments, doc of Take13"),
        ("Take13 a b c d", "Take13 takes one or three arguments, doc of Take13"),
        ("Take23 a", "Take23 takes two or three arguments, doc of Take23"),
        ("Take23 a b c d", "Take23 takes two or three arguments, doc of Take23"),
        ("Take123", "Take123 takes one, two or three arguments, doc of Take123"),
        ("Take123 a b c d", "Take123 takes one, two or three arguments, doc of Take123"),
        ("Iterate", "Iterate requires at least one argument, doc of Iterate"),
        ("Iterate2 a", "Iterate2 requires at least two arguments, doc of Iterate2"),
    ],
)
def test_a_wrong_argument_count_is_reported_in_httpds_words(
    tmp_path: Path, line: str, message: str
) -> None:
    assert shape_error(tmp_path, line) == message


@pytest.mark.parametrize("line", ["Flag", "Flag yes", "Flag 1", "Flag on off"])
def test_a_flag_must_be_on_or_off(tmp_path: Path, line: str) -> None:
    assert shape_error(tmp_path, line) == "Flag must be On or Off"


def test_a_real_flag_directive_says_it_must_be_on_or_off(tmp_path: Path) -> None:
    error = fail(tmp_path, "KeepAlive maybe\n")
    assert (error.message, error.line) == ("KeepAlive must be On or Off", 1)


def test_a_real_take1_directive_quotes_its_doc(tmp_path: Path) -> None:
    assert fail(tmp_path, "ServerName\n").message == (
        "ServerName takes one argument, The hostname and port of the server"
    )


def test_arguments_are_counted_after_variable_substitution(tmp_path: Path) -> None:
    error = fail(tmp_path, "Define TWO 'a b'\nServerName ${TWO}\n")
    assert (error.message, error.line) == (
        "ServerName takes one argument, The hostname and port of the server",
        2,
    )


# -- contexts ----------------------------------------------------------------------------


def test_a_directory_only_directive_is_not_allowed_at_server_level(tmp_path: Path) -> None:
    error = fail(tmp_path, "Timeout 5\nRequire all granted\n")
    assert (error.message, error.line) == ("Require not allowed here", 2)


def test_a_directory_only_directive_is_not_allowed_in_a_virtual_host(tmp_path: Path) -> None:
    error = fail(tmp_path, "<VirtualHost *:80>\n  AuthMerging And\n</VirtualHost>\n")
    assert (error.message, error.line) == ("AuthMerging not allowed here", 2)


@pytest.mark.parametrize("section", ["Directory /srv", "Location /x", "Files x.txt"])
def test_a_server_directive_is_not_allowed_in_a_per_directory_section(
    tmp_path: Path, section: str
) -> None:
    name = section.split()[0]
    error = fail(tmp_path, f"<{section}>\n  ServerName example.com\n</{name}>\n")
    assert (error.message, error.line) == ("ServerName not allowed here", 2)


def test_a_main_server_only_directive_cannot_occur_in_a_virtual_host(tmp_path: Path) -> None:
    error = fail(tmp_path, "<VirtualHost *:80>\n  Listen 80\n</VirtualHost>\n")
    assert (error.message, error.line) == ("Listen cannot occur within <VirtualHost> section", 2)


def test_a_virtual_host_cannot_occur_within_a_virtual_host(tmp_path: Path) -> None:
    error = fail(
        tmp_path, "<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n"
    )
    assert (error.message, error.line) == (
        "<VirtualHost> cannot occur within <VirtualHost> section",
        2,
    )


@pytest.mark.parametrize(
    ("outer", "inner", "message"),
    [
        ("Directory /a", "Directory /a/b", "<Directory not allowed here"),
        ("Directory /a", "Location /b", "<Location not allowed here"),
        ("Location /a", "DirectoryMatch ^/b", "<DirectoryMatch not allowed here"),
        ("Location /a", "LocationMatch ^/b", "<LocationMatch not allowed here"),
        ("Files a", "VirtualHost *:80", "<VirtualHost not allowed here"),
    ],
)
def test_a_server_section_is_not_allowed_in_a_per_directory_section(
    tmp_path: Path, outer: str, inner: str, message: str
) -> None:
    o, i = outer.split()[0], inner.split()[0]
    error = fail(tmp_path, f"<{outer}>\n<{inner}>\n</{i}>\n</{o}>\n")
    assert (error.message, error.line) == (message, 2)


def test_files_cannot_occur_within_a_location(tmp_path: Path) -> None:
    error = fail(tmp_path, "<Location /a>\n  <Files x>\n  </Files>\n</Location>\n")
    assert (error.message, error.line) == ("<Files> cannot occur within <Location> section", 2)


def test_files_cannot_occur_within_files(tmp_path: Path) -> None:
    error = fail(tmp_path, "<Files a>\n  <FilesMatch b>\n  </FilesMatch>\n</Files>\n")
    assert error.message == "<FilesMatch> cannot occur within <Files> section"


def test_a_conditional_section_keeps_the_context_it_stands_in(tmp_path: Path) -> None:
    error = fail(
        tmp_path,
        "<Directory /a>\n  <IfModule core_module>\n    Listen 80\n  </IfModule>\n</Directory>\n",
    )
    assert (error.message, error.line) == ("Listen not allowed here", 3)


def test_a_server_directive_in_a_directory_in_a_virtual_host_is_not_allowed(tmp_path: Path) -> None:
    error = fail(
        tmp_path, "<VirtualHost *:80>\n<Directory /a>\nTimeout 3\n</Directory>\n</VirtualHost>\n"
    )
    assert (error.message, error.line) == ("Timeout not allowed here", 3)


def test_a_virtual_host_directive_applies_to_that_virtual_host(tmp_path: Path) -> None:
    loaded = load(tmp_path, "Timeout 9\n<VirtualHost *:80>\n  Timeout 3\n</VirtualHost>\n")
    assert (loaded.main.timeout, loaded.config.vhosts[0].timeout) == (9, 3)


def test_a_virtual_host_starts_from_the_main_servers_settings(tmp_path: Path) -> None:
    loaded = load(tmp_path, "Timeout 9\n<VirtualHost *:80>\n  ServerName v\n</VirtualHost>\n")
    assert loaded.config.vhosts[0].timeout == 9


# -- -C and -c ---------------------------------------------------------------------------


def test_dash_C_directives_come_before_the_file(tmp_path: Path) -> None:
    assert load(tmp_path, "Timeout 2\n", before=["Timeout 1"]).main.timeout == 2


def test_dash_c_directives_come_after_the_file(tmp_path: Path) -> None:
    assert load(tmp_path, "Timeout 2\n", after=["Timeout 3"]).main.timeout == 3


def test_a_dash_C_define_is_seen_by_the_file(tmp_path: Path) -> None:
    loaded = load(tmp_path, "<IfDefine EARLY>\nTimeout 4\n</IfDefine>\n", before=["Define EARLY"])
    assert loaded.main.timeout == 4


def test_an_error_in_a_dash_c_directive_names_it(tmp_path: Path) -> None:
    error = fail(tmp_path, "Timeout 2\n", after=["Timeout 3", "Bogus"])
    assert (error.file, error.line) == ("-c directive 2", 1)
    assert error.message == f"Invalid command 'Bogus', {INVALID}"


def test_an_error_in_a_dash_C_directive_names_it(tmp_path: Path) -> None:
    error = fail(tmp_path, "Timeout 2\n", before=["KeepAlive perhaps"])
    assert (error.file, error.line, error.message) == (
        "-C directive 1",
        1,
        "KeepAlive must be On or Off",
    )


# -- Include / IncludeOptional ----------------------------------------------------------


def test_include_reads_a_file_relative_to_server_root(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "timeout.conf").write_text("Timeout 11\n")
    assert load(tmp_path, "Include conf.d/timeout.conf\n").main.timeout == 11


def test_include_reads_an_absolute_path(tmp_path: Path) -> None:
    other = tmp_path / "elsewhere.conf"
    other.write_text("Timeout 12\n")
    assert load(tmp_path / "root", f"Include {other}\n").main.timeout == 12


def test_included_directives_apply_where_the_include_stands(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("Timeout 1\n")
    assert load(tmp_path, "Timeout 5\nInclude a.conf\n").main.timeout == 1
    assert load(tmp_path, "Include a.conf\nTimeout 5\n").main.timeout == 5


def test_include_with_a_glob_reads_the_matches_in_sorted_order(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "20-b.conf").write_text("Timeout 20\n")
    (tmp_path / "conf.d" / "10-a.conf").write_text("Timeout 10\nServerAdmin a@x\n")
    (tmp_path / "conf.d" / "30-c.txt").write_text("Bogus\n")
    loaded = load(tmp_path, "Include conf.d/*.conf\n")
    assert (loaded.main.timeout, loaded.main.server_admin) == (20, "a@x")


def test_include_of_a_directory_reads_its_files_but_not_dot_files(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d" / "b").write_text("Timeout 2\n")
    (tmp_path / "conf.d" / "a").write_text("Timeout 1\n")
    (tmp_path / "conf.d" / ".hidden").write_text("Bogus\n")
    assert load(tmp_path, "Include conf.d\n").main.timeout == 2


def test_an_error_in_an_included_file_names_that_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("Timeout 1\n\nBogus x\n")
    error = fail(tmp_path, "Timeout 5\nInclude bad.conf\n")
    assert (error.file, error.line) == (str(tmp_path / "bad.conf"), 3)
    assert error.message == f"Invalid command 'Bogus', {INVALID}"


def test_include_of_a_missing_file_is_an_error_at_the_include(tmp_path: Path) -> None:
    error = fail(tmp_path, "Timeout 5\nInclude missing.conf\n")
    assert error.message == (
        f"Could not open configuration file {tmp_path / 'missing.conf'}: No such file or directory"
    )
    assert (error.file, error.line) == (str(tmp_path / "mpmd.conf"), 2)


def test_include_optional_of_a_missing_file_is_ignored(tmp_path: Path) -> None:
    assert load(tmp_path, "IncludeOptional missing.conf\nTimeout 5\n").main.timeout == 5


def test_include_with_a_glob_that_matches_nothing_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "conf.d").mkdir()
    error = fail(tmp_path, "Include conf.d/*.conf\n")
    assert error.message == (
        f"No matches for the wildcard '*.conf' in '{tmp_path / 'conf.d'}', failing "
        "(use IncludeOptional if required)"
    )
    assert error.line == 1


def test_include_optional_with_a_glob_that_matches_nothing_is_ignored(tmp_path: Path) -> None:
    assert load(tmp_path, "IncludeOptional nowhere/*.conf\nTimeout 5\n").main.timeout == 5


def test_include_optional_still_reports_errors_inside_the_file(tmp_path: Path) -> None:
    (tmp_path / "x.conf").write_text("Bogus\n")
    error = fail(tmp_path, "IncludeOptional x.conf\n")
    assert (error.file, error.line) == (str(tmp_path / "x.conf"), 1)


def test_a_recursive_include_stops_with_AH00588(tmp_path: Path) -> None:
    (tmp_path / "loop.conf").write_text("Timeout 1\nInclude loop.conf\n")
    error = fail(tmp_path, "Include loop.conf\n")
    assert error.message == (
        "AH00588: Exceeded the maximum include directory nesting level of 128. "
        "You have probably a recursion somewhere."
    )
    assert (error.file, error.line) == (str(tmp_path / "loop.conf"), 2)


def test_a_mutual_include_loop_is_also_bounded(tmp_path: Path) -> None:
    (tmp_path / "a.conf").write_text("Include b.conf\n")
    (tmp_path / "b.conf").write_text("Include a.conf\n")
    assert fail(tmp_path, "Include a.conf\n").message.startswith("AH00588: ")


def test_the_same_file_may_be_included_twice_in_sequence(tmp_path: Path) -> None:
    (tmp_path / "admin.conf").write_text("ServerAdmin twice@x\n")
    loaded = load(tmp_path, "Include admin.conf\nInclude admin.conf\n")
    assert loaded.main.server_admin == "twice@x"


def test_an_include_inside_a_section_applies_in_that_section(tmp_path: Path) -> None:
    (tmp_path / "opts.conf").write_text("Options Indexes\n")
    loaded = load(tmp_path, "<Location /x>\n  Include opts.conf\n</Location>\n")
    assert core_dir(loaded.config, None, "/x").options == 1
    assert core_dir(loaded.config, None, "/y").options is None


def test_an_included_directive_keeps_the_context_of_the_include(tmp_path: Path) -> None:
    (tmp_path / "listen.conf").write_text("Listen 80\n")
    error = fail(tmp_path, "<Location /x>\n  Include listen.conf\n</Location>\n")
    assert (error.message, error.file, error.line) == (
        "Listen not allowed here",
        str(tmp_path / "listen.conf"),
        1,
    )


def test_a_section_opened_in_an_included_file_must_close_there(tmp_path: Path) -> None:
    (tmp_path / "half.conf").write_text("Timeout 1\n<Location /x>\n")
    error = fail(tmp_path, "Include half.conf\n")
    assert (error.message, error.file, error.line) == (
        "<Location> was not closed.",
        str(tmp_path / "half.conf"),
        2,
    )


# -- Define, UnDefine, ${VAR} ------------------------------------------------------------


def test_define_with_a_value_is_substituted_later(tmp_path: Path) -> None:
    loaded = load(tmp_path, "Define ADMIN root@example.com\nServerAdmin ${ADMIN}\n")
    assert loaded.main.server_admin == "root@example.com"


def test_a_variable_used_before_its_define_warns_and_stays_literal(tmp_path: Path) -> None:
    loaded = load(tmp_path, "ServerAdmin ${MPMD_TEST_LATE}\nDefine MPMD_TEST_LATE x\n")
    assert loaded.main.server_admin == "${MPMD_TEST_LATE}"
    assert loaded.warnings == ["AH00111: Config variable ${MPMD_TEST_LATE} is not defined"]


def test_an_environment_variable_is_substituted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MPMD_TEST_ADMIN", "env@example.com")
    assert load(tmp_path, "ServerAdmin ${MPMD_TEST_ADMIN}\n").main.server_admin == "env@example.com"


def test_variables_are_substituted_in_section_arguments(tmp_path: Path) -> None:
    loaded = load(tmp_path, "Define P /v\n<Location ${P}>\nOptions None\n</Location>\n")
    assert core_dir(loaded.config, None, "/v").options == 0


def test_undefine_removes_a_define(tmp_path: Path) -> None:
    loaded = load(tmp_path, "Define X\nUnDefine X\n<IfDefine X>\nTimeout 1\n</IfDefine>\n")
    assert loaded.main.timeout == 60
    assert "X" not in loaded.config.defines


def test_undefine_of_an_unknown_name_is_harmless(tmp_path: Path) -> None:
    assert load(tmp_path, "UnDefine NEVER\n").warnings == []


def test_define_is_allowed_in_a_virtual_host(tmp_path: Path) -> None:
    loaded = load(tmp_path, "<VirtualHost *:80>\nDefine V 1\n</VirtualHost>\n")
    assert loaded.config.defines["V"] == "1"


def test_define_is_not_allowed_in_a_directory(tmp_path: Path) -> None:
    error = fail(tmp_path, "<Directory /a>\nDefine V 1\n</Directory>\n")
    assert (error.message, error.line) == ("Define not allowed here", 2)


@pytest.mark.parametrize("name", ["A:B", "A$B"])
def test_a_define_name_must_not_contain_colon_or_dollar(tmp_path: Path, name: str) -> None:
    error = fail(tmp_path, f"Define {name} x\n")
    assert (error.message, error.line) == ("Variable name must not contain ':' or '$'", 1)


def test_define_takes_one_or_two_arguments(tmp_path: Path) -> None:
    assert fail(tmp_path, "Define A b c\n").message == (
        "Define takes 1-2 arguments, Define a variable, optionally to a value.  "
        "Same as passing -D to the command line."
    )


# -- <IfDefine> ---------------------------------------------------------------------------


def test_ifdefine_applies_its_body_when_the_name_is_defined(tmp_path: Path) -> None:
    text = "<IfDefine FAST>\nTimeout 1\n</IfDefine>\n"
    assert load(tmp_path, text, defines=["FAST"]).main.timeout == 1
    assert load(tmp_path, text).main.timeout == 60


def test_ifdefine_with_bang_applies_its_body_when_the_name_is_not_defined(tmp_path: Path) -> None:
    text = "<IfDefine !FAST>\nTimeout 2\n</IfDefine>\n"
    assert load(tmp_path, text).main.timeout == 2
    assert load(tmp_path, text, defines=["FAST"]).main.timeout == 60


def test_ifdefine_sees_a_define_directive(tmp_path: Path) -> None:
    assert load(tmp_path, "Define ON\n<IfDefine ON>\nTimeout 3\n</IfDefine>\n").main.timeout == 3


def test_ifdefine_sections_nest(tmp_path: Path) -> None:
    text = "<IfDefine A>\n<IfDefine !B>\nTimeout 4\n</IfDefine>\n</IfDefine>\n"
    assert load(tmp_path, text, defines=["A"]).main.timeout == 4
    assert load(tmp_path, text, defines=["A", "B"]).main.timeout == 60


def test_the_body_of_a_false_ifdefine_is_not_checked(tmp_path: Path) -> None:
    assert load(tmp_path, "<IfDefine NOPE>\nBogus directive\n</IfDefine>\n").warnings == []


def test_ifdefine_without_a_name_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, "<IfDefine>\n</IfDefine>\n")
    assert (error.message, error.line) == ("<IfDefine> directive requires additional arguments", 1)


# -- <IfModule> ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["authz_core_module", "mod_authz_core.c", "mod_authz_core"])
def test_ifmodule_accepts_the_module_or_its_source_name(tmp_path: Path, name: str) -> None:
    assert load(tmp_path, f"<IfModule {name}>\nTimeout 1\n</IfModule>\n").main.timeout == 1


@pytest.mark.parametrize("name", ["nosuch_module", "mod_nosuch.c"])
def test_ifmodule_skips_its_body_for_a_module_not_loaded(tmp_path: Path, name: str) -> None:
    assert load(tmp_path, f"<IfModule {name}>\nBogus\n</IfModule>\n").main.timeout == 60


def test_ifmodule_with_bang_applies_for_a_module_not_loaded(tmp_path: Path) -> None:
    text = "<IfModule !mod_nosuch.c>\nTimeout 2\n</IfModule>\n<IfModule !core_module>\nTimeout 3\n</IfModule>\n"
    assert load(tmp_path, text).main.timeout == 2


def test_ifmodule_sees_a_module_loaded_earlier_but_not_later(tmp_path: Path) -> None:
    text = (
        "<IfModule reqtimeout_module>\nTimeout 1\n</IfModule>\n"
        "LoadModule reqtimeout_module modules/mod_reqtimeout.so\n"
        "<IfModule reqtimeout_module>\nServerAdmin after@x\n</IfModule>\n"
    )
    loaded = load(tmp_path, text)
    assert (loaded.main.timeout, loaded.main.server_admin) == (60, "after@x")


def test_ifmodule_without_a_name_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, "<IfModule >\n</IfModule>\n")
    assert error.message == "<IfModule> directive requires additional arguments"


# -- <IfFile>, <IfDirective> -------------------------------------------------------------


def test_iffile_tests_a_path_relative_to_server_root(tmp_path: Path) -> None:
    (tmp_path / "present").write_text("")
    text = "<IfFile present>\nTimeout 1\n</IfFile>\n<IfFile absent>\nBogus\n</IfFile>\n"
    assert load(tmp_path, text).main.timeout == 1


def test_iffile_with_bang_applies_when_the_file_is_absent(tmp_path: Path) -> None:
    assert load(tmp_path, "<IfFile !absent>\nTimeout 2\n</IfFile>\n").main.timeout == 2


def test_iffile_accepts_a_quoted_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "with space").write_text("")
    text = f'<IfFile "{tmp_path / "with space"}">\nTimeout 3\n</IfFile>\n'
    assert load(tmp_path, text).main.timeout == 3


def test_ifdirective_tests_whether_a_directive_exists(tmp_path: Path) -> None:
    text = "<IfDirective keepalive>\nTimeout 1\n</IfDirective>\n<IfDirective NoSuch>\nBogus\n</IfDirective>\n"
    assert load(tmp_path, text).main.timeout == 1


def test_ifdirective_with_bang_applies_when_the_directive_is_missing(tmp_path: Path) -> None:
    assert load(tmp_path, "<IfDirective !NoSuch>\nTimeout 2\n</IfDirective>\n").main.timeout == 2


@pytest.mark.parametrize("section", ["IfFile", "IfDirective"])
def test_a_conditional_section_needs_an_argument(tmp_path: Path, section: str) -> None:
    error = fail(tmp_path, f"<{section}>\n</{section}>\n")
    assert error.message == f"<{section}> directive requires additional arguments"
