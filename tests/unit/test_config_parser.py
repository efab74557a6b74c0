"""The configuration parser: lines, continuation, comments, sections, quoting, ``${VAR}``."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpmd.config.errors import ConfigError
from mpmd.config.parser import Node, logical_lines, parse_file, parse_text, split_args, substitute

FILE = "/etc/mpmd/test.conf"


def parse(text: str) -> list[Node]:
    return parse_text(text, FILE)


def parse_error(text: str) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse(text)
    return info.value


def shape(nodes: list[Node]) -> list[tuple[str, str, int]]:
    return [(n.name, n.args, n.line) for n in nodes]


# -- lines ---------------------------------------------------------------------


def test_each_line_is_a_directive_with_its_name_arguments_and_line_number() -> None:
    nodes = parse("Listen 80\nServerName example.com\n")
    assert shape(nodes) == [("Listen", "80", 1), ("ServerName", "example.com", 2)]
    assert all(n.file == FILE and not n.is_section for n in nodes)


def test_a_directive_without_arguments_has_empty_args() -> None:
    assert shape(parse("KeepAlive")) == [("KeepAlive", "", 1)]


def test_blank_lines_and_comment_lines_are_skipped_but_counted() -> None:
    nodes = parse("# a comment\n\n   # indented comment\n\t\nListen 80\n")
    assert shape(nodes) == [("Listen", "80", 5)]


def test_leading_and_trailing_whitespace_is_ignored() -> None:
    assert shape(parse("   Listen    80   \n")) == [("Listen", "80", 1)]


def test_a_hash_after_a_directive_is_an_argument_not_a_comment() -> None:
    # httpd has no trailing comments: "Listen 80 # web" is three arguments
    assert shape(parse("Listen 80 # web")) == [("Listen", "80 # web", 1)]


def test_crlf_line_endings_are_accepted() -> None:
    assert shape(parse("Listen 80\r\nTimeout 5\r\n")) == [("Listen", "80", 1), ("Timeout", "5", 2)]


def test_a_last_line_without_newline_is_read() -> None:
    assert shape(parse("Listen 80\nTimeout 5")) == [("Listen", "80", 1), ("Timeout", "5", 2)]


# -- continuation ----------------------------------------------------------------


def test_a_backslash_at_end_of_line_continues_it_on_the_next() -> None:
    nodes = parse("LogLevel \\\n    warn\n")
    assert nodes[0].name == "LogLevel"
    assert split_args(nodes[0].args) == ["warn"]


def test_a_continued_line_keeps_the_first_lines_number() -> None:
    nodes = parse("Listen 80\nServerAlias a \\\n  b \\\n  c\nTimeout 5\n")
    assert [(n.name, n.line) for n in nodes] == [("Listen", 1), ("ServerAlias", 2), ("Timeout", 5)]
    assert split_args(nodes[1].args) == ["a", "b", "c"]


def test_whitespace_after_the_continuation_backslash_is_tolerated() -> None:
    nodes = parse("ServerAlias a \\   \n b\n")
    assert split_args(nodes[0].args) == ["a", "b"]


def test_a_comment_ending_in_backslash_swallows_the_next_line() -> None:
    # as httpd: the continuation is joined before the comment is recognised
    assert shape(parse("# comment \\\nListen 80\nTimeout 5\n")) == [("Timeout", "5", 3)]


def test_a_backslash_on_the_last_line_ends_the_directive() -> None:
    assert shape(parse("Listen 80 \\")) == [("Listen", "80", 1)]


def test_logical_lines_join_continuations_and_drop_comments() -> None:
    assert logical_lines("a \\\nb\n# c\n\nd\n") == [(1, "a b"), (5, "d")]


# -- sections ------------------------------------------------------------------------


def test_a_section_holds_its_body_as_children() -> None:
    nodes = parse('<Directory "/srv/www">\n  Options None\n</Directory>\n')
    assert len(nodes) == 1
    section = nodes[0]
    assert section.is_section
    assert (section.name, section.args, section.line) == ("Directory", '"/srv/www"', 1)
    assert shape(section.children or []) == [("Options", "None", 2)]


def test_sections_nest() -> None:
    nodes = parse(
        "<IfModule mod_a.c>\n"
        "  <VirtualHost *:80>\n"
        "    <Location /x>\n"
        "      SetHandler y\n"
        "    </Location>\n"
        "  </VirtualHost>\n"
        "</IfModule>\n"
        "Listen 80\n"
    )
    assert shape(nodes) == [("IfModule", "mod_a.c", 1), ("Listen", "80", 8)]
    vhost = (nodes[0].children or [])[0]
    location = (vhost.children or [])[0]
    assert (vhost.name, location.name, location.args) == ("VirtualHost", "Location", "/x")
    assert shape(location.children or []) == [("SetHandler", "y", 4)]


def test_an_empty_section_has_no_children() -> None:
    nodes = parse("<Location /x>\n</Location>\n")
    assert nodes[0].is_section and nodes[0].children == []


def test_a_section_without_arguments_has_empty_args() -> None:
    nodes = parse("<RequireAll>\n</RequireAll>\n")
    assert (nodes[0].name, nodes[0].args) == ("RequireAll", "")


def test_closing_tags_are_matched_case_insensitively() -> None:
    nodes = parse("<directory /x>\n</DIRECTORY>\n")
    assert nodes[0].name == "directory"


def test_whitespace_inside_a_closing_tag_is_tolerated() -> None:
    assert parse("<Location /x>\n</Location >\n")[0].name == "Location"


def test_a_section_not_closed_is_an_error_at_its_opening_line() -> None:
    error = parse_error("Listen 80\n<Directory /x>\n  Options None\n")
    assert (error.message, error.file, error.line) == ("<Directory> was not closed.", FILE, 2)


def test_a_closing_tag_must_close_the_innermost_open_section() -> None:
    error = parse_error("<IfModule x>\n<Location /a>\n</IfModule>\n")
    # </IfModule> closes nothing it may close: the <Location> is still open
    assert error.message == "Expected </Location> but saw </IfModule>"
    assert error.line == 3


def test_an_unclosed_nested_section_names_the_inner_one() -> None:
    error = parse_error("<IfModule x>\n<Location /a>\n")
    assert (error.message, error.line) == ("<Location> was not closed.", 2)


def test_a_mismatched_closing_tag_is_an_error() -> None:
    error = parse_error("<Directory /x>\n</Location>\n")
    assert (error.message, error.file, error.line) == (
        "Expected </Directory> but saw </Location>",
        FILE,
        2,
    )


def test_a_closing_tag_without_an_opening_is_an_error() -> None:
    error = parse_error("Listen 80\n</Directory>\n")
    assert (error.message, error.line) == ("</Directory> without matching <Directory> section", 2)


def test_an_opening_tag_without_closing_bracket_is_an_error() -> None:
    error = parse_error("Listen 80\n<Directory /x\n</Directory>\n")
    assert (error.message, error.line) == ("<Directory> directive missing closing '>'", 2)


def test_a_closing_tag_without_closing_bracket_is_an_error() -> None:
    error = parse_error("<Directory /x>\n</Directory\n")
    assert (error.message, error.line) == ("</Directory directive missing closing '>'", 2)


@pytest.mark.parametrize(("line", "shown"), [("<>", "<>"), ("<", "<"), ("< >", "<")])
def test_a_tag_without_a_name_is_an_invalid_command(line: str, shown: str) -> None:
    error = parse_error(f"Listen 80\n{line}\n")
    assert (error.message, error.line) == (
        f"Invalid command '{shown}', perhaps misspelled or defined by a module not included in "
        "the server configuration",
        2,
    )


def test_a_parse_error_prints_in_httpds_two_line_form() -> None:
    error = parse_error("<Directory /x>\n</Location>\n")
    assert str(error) == (
        f"AH00526: Syntax error on line 2 of {FILE}:\nExpected </Directory> but saw </Location>"
    )
    assert error.one_line() == (
        f"AH00526: Syntax error on line 2 of {FILE}: Expected </Directory> but saw </Location>"
    )


# -- files -----------------------------------------------------------------------------


def test_parse_file_names_nodes_after_the_file(tmp_path: Path) -> None:
    conf = tmp_path / "a.conf"
    conf.write_text("Listen 80\n")
    assert [(n.file, n.line) for n in parse_file(str(conf))] == [(str(conf), 1)]


def test_parse_file_of_a_missing_file_says_it_could_not_open_it(tmp_path: Path) -> None:
    missing = tmp_path / "missing.conf"
    with pytest.raises(ConfigError) as info:
        parse_file(str(missing))
    assert info.value.message == (
        f"Could not open configuration file {missing}: No such file or directory"
    )
    assert info.value.file is None


# -- arguments -------------------------------------------------------------------------


def test_arguments_split_on_whitespace() -> None:
    assert split_args("  a\tb   c ") == ["a", "b", "c"]


def test_no_arguments_split_to_an_empty_list() -> None:
    assert split_args("   ") == []


def test_double_quotes_group_words() -> None:
    assert split_args('"a b"  c') == ["a b", "c"]


def test_single_quotes_group_words() -> None:
    assert split_args("'a b' c") == ["a b", "c"]


def test_a_backslash_escapes_the_quote_inside_quotes() -> None:
    assert split_args(r'"say \"hi\"" x') == ['say "hi"', "x"]
    assert split_args(r"'it\'s'") == ["it's"]


def test_the_other_quote_character_is_literal_inside_quotes() -> None:
    assert split_args('"it\'s" \'a "b"\'') == ["it's", 'a "b"']


def test_a_double_backslash_is_one_backslash() -> None:
    assert split_args(r'"a\\" b\\c') == ["a\\", "b\\c"]


def test_other_backslashes_are_kept() -> None:
    assert split_args(r'"\d+" ^\.ht') == [r"\d+", r"^\.ht"]


def test_an_empty_quoted_string_is_an_argument() -> None:
    assert split_args('"" x') == ["", "x"]


def test_a_quote_inside_a_word_is_literal() -> None:
    assert split_args('a"b c') == ['a"b', "c"]


def test_text_after_a_closing_quote_starts_a_new_word() -> None:
    assert split_args('"a"b') == ["a", "b"]


def test_an_unterminated_quote_runs_to_the_end() -> None:
    assert split_args('"a b') == ["a b"]


# -- ${VAR} ------------------------------------------------------------------------------


def test_a_defined_variable_is_substituted() -> None:
    assert substitute("${ROOT}/htdocs", {"ROOT": "/srv"}, environ={}) == "/srv/htdocs"


def test_an_environment_variable_is_substituted() -> None:
    assert substitute("port ${PORT}", {}, environ={"PORT": "8080"}) == "port 8080"


def test_a_define_wins_over_the_environment() -> None:
    assert substitute("${X}", {"X": "define"}, environ={"X": "env"}) == "define"


def test_several_variables_in_one_line_are_substituted() -> None:
    assert substitute("${A}:${B}", {"A": "1", "B": "2"}, environ={}) == "1:2"


def test_a_variable_defined_empty_is_substituted_by_nothing() -> None:
    assert substitute("[${E}]", {"E": ""}, environ={}) == "[]"


def test_an_undefined_variable_is_kept_literally_with_warning_AH00111() -> None:
    warnings: list[str] = []
    assert substitute("x ${NOPE} y", {}, warnings.append, environ={}) == "x ${NOPE} y"
    assert warnings == ["AH00111: Config variable ${NOPE} is not defined"]


def test_a_dollar_without_braces_is_literal() -> None:
    assert substitute("$HOME and $", {"HOME": "x"}, environ={}) == "$HOME and $"
