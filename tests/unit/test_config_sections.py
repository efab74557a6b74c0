"""Per-directory sections and the order they merge in (``ServerConfig.dir_config_for``).

Each section below sets ``SetHandler`` to its own name, so the handler in force
after the merge tells which section was applied last.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mpmd.modules.core import OPT_EXECCGI, OPT_INDEXES
from tests.unit.confkit import core_dir, fail, load


def handler(tmp_path: Path, text: str, filename: str | None, uri: str = "/") -> str | None:
    return core_dir(load(tmp_path, text).config, filename, uri).handler


def section(open_tag: str, name: str) -> str:
    """``<Directory /srv>`` + ``SetHandler name`` + its closing tag."""
    kind = open_tag.split()[0]
    return f"<{open_tag}>\n  SetHandler {name}\n</{kind}>\n"


# -- <Directory> -------------------------------------------------------------------------------


def test_server_level_settings_apply_where_no_section_matches(tmp_path: Path) -> None:
    text = "SetHandler server\n" + section("Directory /srv", "srv")
    assert handler(tmp_path, text, "/var/x.html") == "server"


def test_a_directory_applies_to_files_below_it(tmp_path: Path) -> None:
    text = section("Directory /srv", "srv")
    assert handler(tmp_path, text, "/srv/a/b/c.html") == "srv"
    assert handler(tmp_path, text, "/srv/c.html") == "srv"


def test_a_directory_does_not_apply_to_a_sibling_with_a_longer_name(tmp_path: Path) -> None:
    assert handler(tmp_path, section("Directory /srv/www", "www"), "/srv/wwwx/a.html") is None


def test_directory_slash_applies_everywhere(tmp_path: Path) -> None:
    assert handler(tmp_path, section("Directory /", "root"), "/any/where.html") == "root"


def test_directories_merge_shortest_path_first_whatever_their_order(tmp_path: Path) -> None:
    text = section("Directory /srv/www/app", "app") + section("Directory /srv", "srv")
    text += section("Directory /srv/www", "www")
    assert handler(tmp_path, text, "/srv/www/app/x.py") == "app"
    assert handler(tmp_path, text, "/srv/www/x.html") == "www"
    assert handler(tmp_path, text, "/srv/x.html") == "srv"


def test_a_trailing_slash_does_not_change_a_directorys_depth(tmp_path: Path) -> None:
    text = section("Directory /srv/www/", "www") + section("Directory /srv", "srv")
    assert handler(tmp_path, text, "/srv/www/x.html") == "www"


def test_directories_of_equal_depth_merge_in_config_order(tmp_path: Path) -> None:
    text = section("Directory /srv/www", "first") + section("Directory /srv/www/", "second")
    assert handler(tmp_path, text, "/srv/www/x.html") == "second"


def test_a_relative_directory_is_relative_to_server_root(tmp_path: Path) -> None:
    text = section("Directory htdocs", "docs")
    assert handler(tmp_path, text, str(tmp_path / "htdocs" / "i.html")) == "docs"


def test_a_filename_that_is_a_directory_is_matched_as_that_directory(tmp_path: Path) -> None:
    (tmp_path / "htdocs").mkdir()
    text = section(f"Directory {tmp_path / 'htdocs'}", "docs")
    assert handler(tmp_path, text, str(tmp_path / "htdocs")) == "docs"


def test_a_file_named_as_a_directory_section_is_not_that_directory(tmp_path: Path) -> None:
    (tmp_path / "htdocs").write_text("a file, not a directory")
    text = section(f"Directory {tmp_path / 'htdocs'}", "docs")
    assert handler(tmp_path, text, str(tmp_path / "htdocs")) is None


def test_a_wildcard_directory_matches_a_filename_that_is_that_directory(tmp_path: Path) -> None:
    (tmp_path / "site" / "htdocs").mkdir(parents=True)
    text = section(f'Directory "{tmp_path}/*/htdocs"', "site")
    assert handler(tmp_path, text, str(tmp_path / "site" / "htdocs")) == "site"


def test_the_filesystem_is_asked_only_when_a_section_could_tell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # is the file a directory? It matters only for a section naming exactly it
    text = section("Directory /srv", "srv") + section("Directory /srv/www/app", "app")
    config = load(tmp_path, text).config
    asked: list[str] = []
    real_isdir = os.path.isdir

    def isdir(path: str) -> bool:
        asked.append(path)
        return real_isdir(path)

    monkeypatch.setattr(os.path, "isdir", isdir)
    assert core_dir(config, "/srv/www/index.html", "/").handler == "srv"
    assert core_dir(config, "/srv/www/app/x.py", "/").handler == "app"
    assert asked == []
    core_dir(config, "/srv/www/app", "/")
    assert asked == ["/srv/www/app"]


def test_a_wildcard_directory_matches_one_component_per_star(tmp_path: Path) -> None:
    text = section('Directory "/srv/*/htdocs"', "site")
    assert handler(tmp_path, text, "/srv/example/htdocs/a/i.html") == "site"
    assert handler(tmp_path, text, "/srv/example/other/i.html") is None
    assert handler(tmp_path, text, "/srv/i.html") is None


def test_a_directory_without_a_filename_does_not_apply(tmp_path: Path) -> None:
    assert handler(tmp_path, section("Directory /", "root"), None, "/x") is None


# -- <DirectoryMatch> --------------------------------------------------------------------------


def test_directory_match_applies_after_every_plain_directory(tmp_path: Path) -> None:
    text = section('DirectoryMatch "^/srv"', "regex") + section("Directory /srv/www/app", "app")
    assert handler(tmp_path, text, "/srv/www/app/x.py") == "regex"


def test_directory_match_tests_the_directory_not_the_file(tmp_path: Path) -> None:
    text = section('DirectoryMatch "/\\.git$"', "git")
    assert handler(tmp_path, text, "/srv/.git/config") == "git"
    assert handler(tmp_path, text, "/srv/.gitignore") is None


def test_directory_with_a_tilde_is_a_regular_expression(tmp_path: Path) -> None:
    text = section('Directory ~ "^/srv/v[0-9]+"', "versioned")
    assert handler(tmp_path, text, "/srv/v2/x") == "versioned"
    assert handler(tmp_path, text, "/srv/vx/x") is None


def test_directory_matches_merge_in_config_order(tmp_path: Path) -> None:
    text = section("DirectoryMatch ^/srv/www", "long") + section("DirectoryMatch ^/srv", "short")
    assert handler(tmp_path, text, "/srv/www/x") == "short"


def test_a_bad_regular_expression_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, 'Timeout 5\n<DirectoryMatch "(">\n</DirectoryMatch>\n')
    assert error.message.startswith("Regex could not be compiled: ")
    assert error.line == 2


# -- <Files> / <FilesMatch> -------------------------------------------------------------------


def test_files_matches_the_base_name_with_wildcards(tmp_path: Path) -> None:
    text = section('Files "*.txt"', "text")
    assert handler(tmp_path, text, "/srv/notes.txt") == "text"
    assert handler(tmp_path, text, "/srv/notes.txt.bak") is None


def test_files_applies_after_directories(tmp_path: Path) -> None:
    text = section("Files index.html", "files") + section("Directory /srv", "srv")
    assert handler(tmp_path, text, "/srv/index.html") == "files"


def test_files_match_is_a_regular_expression_on_the_base_name(tmp_path: Path) -> None:
    text = section('FilesMatch "^\\.ht"', "hidden")
    assert handler(tmp_path, text, "/srv/.htaccess") == "hidden"
    assert handler(tmp_path, text, "/srv/.ht/file") is None


def test_files_with_a_tilde_is_a_regular_expression(tmp_path: Path) -> None:
    assert handler(tmp_path, section('Files ~ "\\.py$"', "py"), "/srv/app.py") == "py"


def test_files_sections_merge_in_config_order(tmp_path: Path) -> None:
    text = section('FilesMatch "\\.html$"', "regex") + section("Files index.html", "plain")
    assert handler(tmp_path, text, "/srv/index.html") == "plain"


def test_files_inside_a_directory_applies_only_below_that_directory(tmp_path: Path) -> None:
    text = "<Directory /srv/private>\n" + section('Files "*.key"', "key") + "</Directory>\n"
    assert handler(tmp_path, text, "/srv/private/a.key") == "key"
    assert handler(tmp_path, text, "/srv/private/sub/a.key") == "key"
    assert handler(tmp_path, text, "/srv/public/a.key") is None


# -- <Location> / <LocationMatch> ----------------------------------------------------------


def test_location_matches_whole_path_components(tmp_path: Path) -> None:
    text = section("Location /private", "private")
    assert handler(tmp_path, text, None, "/private") == "private"
    assert handler(tmp_path, text, None, "/private/") == "private"
    assert handler(tmp_path, text, None, "/private/x") == "private"
    assert handler(tmp_path, text, None, "/privateer") is None


def test_location_with_a_trailing_slash_needs_it(tmp_path: Path) -> None:
    text = section("Location /private/", "private")
    assert handler(tmp_path, text, None, "/private/x") == "private"
    assert handler(tmp_path, text, None, "/private") is None


def test_location_slash_applies_to_every_url(tmp_path: Path) -> None:
    assert handler(tmp_path, section("Location /", "all"), None, "/a/b") == "all"


def test_location_applies_after_directories_and_files(tmp_path: Path) -> None:
    text = section("Location /", "location") + section("Files *", "files")
    text += section("Directory /", "directory")
    assert handler(tmp_path, text, "/srv/x.html", "/x.html") == "location"


def test_locations_merge_in_config_order_not_by_length(tmp_path: Path) -> None:
    text = section("Location /a/b", "long") + section("Location /a", "short")
    assert handler(tmp_path, text, None, "/a/b/c") == "short"


def test_location_match_is_a_regular_expression_on_the_url(tmp_path: Path) -> None:
    text = section('LocationMatch "^/api/v[0-9]+/"', "api")
    assert handler(tmp_path, text, None, "/api/v2/users") == "api"
    assert handler(tmp_path, text, None, "/api/vx/users") is None


def test_location_with_a_tilde_is_a_regular_expression(tmp_path: Path) -> None:
    assert handler(tmp_path, section('Location ~ "\\.php$"', "php"), None, "/x/i.php") == "php"


def test_location_and_location_match_merge_together_in_config_order(tmp_path: Path) -> None:
    text = section("LocationMatch ^/a", "regex") + section("Location /a", "plain")
    assert handler(tmp_path, text, None, "/a") == "plain"


# -- section arguments ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Directory", "DirectoryMatch", "Files", "Location"])
def test_a_section_needs_an_argument(tmp_path: Path, kind: str) -> None:
    error = fail(tmp_path, f"<{kind}>\n</{kind}>\n")
    assert (error.message, error.line) == (f"<{kind}> directive requires additional arguments", 1)


def test_a_section_takes_one_argument_or_a_tilde_and_a_regex(tmp_path: Path) -> None:
    error = fail(tmp_path, "<Location /a /b>\n</Location>\n")
    assert error.message == "<Location> takes one argument, or '~' and a regular expression"


# -- the merge itself ----------------------------------------------------------------------


def test_a_section_without_a_setting_keeps_the_inherited_one(tmp_path: Path) -> None:
    text = section("Directory /srv", "srv") + "<Location /x>\n  Options None\n</Location>\n"
    loaded = load(tmp_path, text)
    merged = core_dir(loaded.config, "/srv/a", "/x")
    assert (merged.handler, merged.options) == ("srv", 0)


def test_sections_do_not_change_the_server_defaults(tmp_path: Path) -> None:
    loaded = load(tmp_path, "SetHandler base\n" + section("Location /", "loc"))
    core_dir(loaded.config, None, "/")
    assert core_dir(loaded.config, None, "*").handler == "base"


def test_the_same_set_of_sections_gives_the_same_merged_configuration(tmp_path: Path) -> None:
    loaded = load(tmp_path, section("Location /a", "a"))
    assert loaded.main.dir_config_for(None, "/a/1") is loaded.main.dir_config_for(None, "/a/2")


def test_sections_in_a_virtual_host_do_not_apply_to_the_main_server(tmp_path: Path) -> None:
    text = "<VirtualHost *:80>\n" + section("Location /v", "vhost") + "</VirtualHost>\n"
    loaded = load(tmp_path, text)
    assert loaded.config.vhosts[0].dir_config_for(None, "/v")["core_module"].handler == "vhost"
    assert core_dir(loaded.config, None, "/v").handler is None


def test_a_virtual_host_sees_the_main_servers_sections_before_its_own(tmp_path: Path) -> None:
    text = section("Location /", "main") + section("Location /own", "main-own")
    text += "<VirtualHost *:80>\n" + section("Location /own", "vhost") + "</VirtualHost>\n"
    vhost = load(tmp_path, text).config.vhosts[0]
    assert vhost.dir_config_for(None, "/x")["core_module"].handler == "main"
    assert vhost.dir_config_for(None, "/own/x")["core_module"].handler == "vhost"


def test_a_virtual_host_merges_directories_with_the_main_servers_by_depth(tmp_path: Path) -> None:
    text = "<VirtualHost *:80>\n" + section("Directory /srv/www", "vhost") + "</VirtualHost>\n"
    text += section("Directory /srv", "main")
    vhost = load(tmp_path, text).config.vhosts[0]
    assert vhost.dir_config_for("/srv/www/x", "/x")["core_module"].handler == "vhost"
    assert vhost.dir_config_for("/srv/x", "/x")["core_module"].handler == "main"


def test_a_virtual_host_inherits_the_main_servers_per_directory_settings(tmp_path: Path) -> None:
    text = (
        "SetHandler main\nOptions Indexes\n<VirtualHost *:80>\nOptions +ExecCGI\n</VirtualHost>\n"
    )
    vhost = load(tmp_path, text).config.vhosts[0]
    merged = vhost.dir_config_for(None, "/")["core_module"]
    assert (merged.handler, merged.effective_options) == ("main", OPT_INDEXES | OPT_EXECCGI)
