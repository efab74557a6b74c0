"""The pure parts of static file serving: ranges, validators, types, alias matching, listings."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mpmd.http import conditional, ranges
from mpmd.http.connection import Connection
from mpmd.http.request import Request, latin1_to_fs
from mpmd.http.request import fs_path as request_fs_path
from mpmd.http.site import Site
from mpmd.log.errorlog import ErrorLog
from mpmd.modules import alias, autoindex, autoindex_page, mime, static
from tests.unit.confkit import fail, load, loopback_pair

SIZE = 100


def _stat(size: int, mtime: float, ino: int) -> os.stat_result:
    ns = round(mtime * 4) * 250_000_000  # exact for the quarter seconds used here
    fields = (0o100644, ino, 1, 1, 0, 0, size, int(mtime), int(mtime), int(mtime))
    return os.stat_result(
        fields, {"st_mtime": mtime, "st_mtime_ns": ns, "st_atime": mtime, "st_ctime": mtime}
    )


# --------------------------------------------------------------------------
# Range parsing (RFC 9110 section 14)


def test_range_first_last_is_inclusive() -> None:
    assert ranges.parse_ranges("bytes=0-9", SIZE) == [(0, 9)]


def test_range_open_end_runs_to_the_last_byte() -> None:
    assert ranges.parse_ranges("bytes=90-", SIZE) == [(90, 99)]


def test_range_suffix_is_the_last_n_bytes() -> None:
    assert ranges.parse_ranges("bytes=-10", SIZE) == [(90, 99)]


def test_range_suffix_longer_than_the_file_is_the_whole_file() -> None:
    assert ranges.parse_ranges("bytes=-500", SIZE) == [(0, 99)]


def test_range_end_past_the_file_is_clamped() -> None:
    assert ranges.parse_ranges("bytes=50-500", SIZE) == [(50, 99)]


def test_range_starting_past_the_end_is_unsatisfiable() -> None:
    assert ranges.parse_ranges("bytes=100-", SIZE) == []


def test_zero_suffix_range_is_unsatisfiable() -> None:
    assert ranges.parse_ranges("bytes=-0", SIZE) == []


def test_any_range_of_an_empty_file_is_unsatisfiable() -> None:
    assert ranges.parse_ranges("bytes=0-", 0) == []


def test_unsatisfiable_ranges_are_dropped_from_a_list() -> None:
    assert ranges.parse_ranges("bytes=200-300,0-1", SIZE) == [(0, 1)]


def test_range_with_last_before_first_is_ignored() -> None:
    assert ranges.parse_ranges("bytes=5-2", SIZE) is None


def test_range_in_another_unit_is_ignored() -> None:
    assert ranges.parse_ranges("items=0-1", SIZE) is None


def test_range_with_garbage_is_ignored() -> None:
    assert ranges.parse_ranges("bytes=a-b", SIZE) is None


def test_range_with_non_ascii_digits_is_ignored() -> None:
    assert ranges.parse_ranges("bytes=\u0661-\u0662", SIZE) is None


def test_range_unit_is_case_insensitive() -> None:
    assert ranges.parse_ranges("Bytes=0-0", SIZE) == [(0, 0)]


def test_empty_list_elements_are_skipped() -> None:
    assert ranges.parse_ranges("bytes=0-1,,4-5", SIZE) == [(0, 1), (4, 5)]


def test_more_ranges_than_max_ranges_are_ignored() -> None:
    spec = ",".join(f"{i * 2}-{i * 2}" for i in range(ranges.MAX_RANGES + 1))
    assert ranges.parse_ranges("bytes=" + spec, 10_000) is None


def test_disjoint_ranges_keep_the_clients_order() -> None:
    assert ranges.parse_ranges("bytes=50-59,0-9", SIZE) == [(50, 59), (0, 9)]


def test_overlapping_ranges_are_merged() -> None:
    assert ranges.parse_ranges("bytes=0-10,5-20", SIZE) == [(0, 20)]


def test_adjacent_ranges_are_merged() -> None:
    assert ranges.coalesce([(0, 9), (10, 19)]) == [(0, 19)]


def test_many_whole_file_ranges_become_one() -> None:
    assert ranges.parse_ranges("bytes=" + ",".join(["0-"] * 50), SIZE) == [(0, 99)]


# --------------------------------------------------------------------------
# Validators


def test_etag_is_size_and_mtime_microseconds_in_hex() -> None:
    st = _stat(10, 1_600_000_000.25, 0x1234)
    assert (
        static.make_etag(st, ("mtime", "size"), 1_700_000_000.0) == f'"a-{1_600_000_000_250_000:x}"'
    )


def test_etag_with_inode_puts_inode_first() -> None:
    st = _stat(10, 1_600_000_000.0, 0x1234)
    assert (
        static.make_etag(st, ("inode", "mtime", "size"), 1_700_000_000.0)
        == f'"1234-a-{1_600_000_000_000_000:x}"'
    )


def test_etag_of_a_file_changed_within_a_second_is_weak() -> None:
    st = _stat(10, 1_600_000_000.0, 1)
    assert (static.make_etag(st, ("size",), 1_600_000_000.5) or "").startswith('W/"')


def test_etag_with_no_parts_is_none() -> None:
    assert static.make_etag(_stat(1, 1.0, 1), (), 2.0) is None


def test_cached_etag_is_still_weak_or_strong_by_the_request_time() -> None:
    st = _stat(10, 1_600_000_000.0, 1)
    strong = static.make_etag(st, ("mtime", "size"), 1_700_000_000.0)
    assert strong is not None and strong.startswith('"')
    assert static.make_etag(st, ("mtime", "size"), 1_600_000_000.5) == "W/" + strong
    assert static.make_etag(st, ("mtime", "size"), 1_700_000_000.0) == strong


def test_cached_etag_follows_the_file_and_the_parts() -> None:
    st = _stat(10, 1_600_000_000.0, 7)
    first = static.make_etag(st, ("mtime", "size"), 1_700_000_000.0)
    assert static.make_etag(st, ("size",), 1_700_000_000.0) == '"a"'
    assert static.make_etag(st, ("inode", "size"), 1_700_000_000.0) == '"7-a"'
    changed = _stat(10, 1_600_000_000.25, 7)  # same size, touched a quarter second later
    assert static.make_etag(changed, ("mtime", "size"), 1_700_000_000.0) != first
    assert static.make_etag(_stat(11, 1_600_000_000.0, 7), ("size",), 1_700_000_000.0) == '"b"'


@pytest.mark.parametrize(
    ("names", "asks"),
    [
        ([b"Host"], False),
        (
            [b"Host", b"Cache-Control", b"User-Agent", b"Accept"],
            False,
        ),  # 13 bytes, as If-None-Match
        ([b"Host", b"If-None-Match"], True),
        ([b"IF-MODIFIED-SINCE"], True),
        ([b"if-match"], True),
        ([b"If-Unmodified-Since"], True),
        ([b"range"], True),
        ([b"If-Range"], True),
        ([b"If-Rangex", b"Ranges"], False),
        ([], False),
    ],
)
def test_conditional_headers_are_found_in_any_case(names: list[bytes], asks: bool) -> None:
    assert static._asks_conditionally([(n, b"x") for n in names]) is asks


@pytest.fixture
def fs_request(tmp_path: Path) -> Iterator[Callable[[str | None], Request]]:
    """A real request on a real connection (loopback TCP), DocumentRoot /srv/www."""
    config = load(tmp_path, "").config
    config.main.document_root = "/srv/www"
    ours, _, theirs = loopback_pair()
    conn = Connection(ours, ("192.0.2.1", 1), Site(config, ErrorLog(2)))

    def make(root: str | None) -> Request:
        req = Request(conn, 0.0, 0.0)
        if root is not None:
            req.notes["fs_root"] = root
        return req

    try:
        yield make
    finally:
        ours.close()
        theirs.close()


@pytest.mark.parametrize(
    ("root", "filename"),
    [
        (None, "/srv/www/a/b.txt"),
        (None, "/srv/www/caf\xc3\xa9.txt"),
        (None, "/elsewhere/\xff"),
        ("/srv/alias", "/srv/alias/x\xc3\xa9"),
        (
            "/srv/\u00e9t\u00e9",
            "/srv/\u00e9t\u00e9/\xc3\xa9",
        ),  # an Alias target not in Latin-1 bytes
    ],
)
def test_fs_path_is_the_request_layers_mapping(
    fs_request: Callable[[str | None], Request], root: str | None, filename: str
) -> None:
    req = fs_request(root)
    expected = request_fs_path(filename, root if root is not None else "/srv/www")
    assert static.fs_path(req, filename) == expected


def test_server_link_state_is_computed_once_per_server(tmp_path: Path) -> None:
    server = load(tmp_path / "one", "").config.main
    other = load(tmp_path / "two", "").config.main
    state = static._links(server)
    assert not state.may_forbid
    assert static._links(server) is state  # computed once per server
    assert static._links(other) is not state  # and kept on that server
    assert server.derived == {"static_links": state}


def test_if_none_match_compares_weakly() -> None:
    assert conditional.etag_list_matches('W/"x", "y"', '"x"', strong=False)


def test_if_match_compares_strongly() -> None:
    assert not conditional.etag_list_matches('W/"x"', '"x"', strong=True)


def test_if_match_star_matches_any_existing_file() -> None:
    assert conditional.etag_list_matches("*", None, strong=True)


def test_etag_list_with_commas_inside_quotes_is_parsed() -> None:
    assert conditional.etag_list_matches('"a,b", "c"', '"a,b"', strong=True)


def test_if_match_failure_wins_over_if_none_match() -> None:
    headers = {"if-match": '"other"', "if-none-match": '"x"'}
    assert conditional.evaluate_preconditions("GET", headers, '"x"', 100, 200.0) == 412


def test_if_none_match_hit_on_get_is_304() -> None:
    assert (
        conditional.evaluate_preconditions("GET", {"if-none-match": '"x"'}, '"x"', 100, 200.0)
        == 304
    )


def test_if_none_match_hit_on_post_is_412() -> None:
    assert (
        conditional.evaluate_preconditions("POST", {"if-none-match": '"x"'}, '"x"', 100, 200.0)
        == 412
    )


def test_if_none_match_present_makes_if_modified_since_ignored() -> None:
    headers = {"if-none-match": '"other"', "if-modified-since": conditional.http_date(100)}
    assert conditional.evaluate_preconditions("GET", headers, '"x"', 100, 200.0) == 0


def test_if_modified_since_in_the_future_is_ignored() -> None:
    headers = {"if-modified-since": conditional.http_date(300)}
    assert conditional.evaluate_preconditions("GET", headers, '"x"', 100, 200.0) == 0


def test_if_unmodified_since_after_the_mtime_passes() -> None:
    headers = {"if-unmodified-since": conditional.http_date(150)}
    assert conditional.evaluate_preconditions("GET", headers, '"x"', 100, 200.0) == 0


def test_if_range_with_a_weak_etag_never_matches() -> None:
    assert not conditional.if_range_matches('W/"x"', 'W/"x"', 100, 200.0)


def test_if_range_with_the_last_modified_date_matches() -> None:
    assert conditional.if_range_matches(conditional.http_date(100), '"x"', 100, 200.0)


def test_if_range_date_of_a_just_modified_file_does_not_match() -> None:
    assert not conditional.if_range_matches(conditional.http_date(100), '"x"', 100, 100.5)


@pytest.mark.parametrize(
    "text",
    ["Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994"],
    ids=["imf-fixdate", "rfc850", "asctime"],
)
def test_http_date_forms_all_parse(text: str) -> None:
    assert conditional.parse_http_date(text) == 784111777


def test_invalid_http_date_is_none() -> None:
    assert conditional.parse_http_date("yesterday") is None


def test_http_date_formats_imf_fixdate() -> None:
    assert conditional.http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"


# --------------------------------------------------------------------------
# Filenames


def test_url_path_bytes_become_the_filesystem_name() -> None:
    assert latin1_to_fs("caf\xc3\xa9") == "café"


def test_undecodable_url_bytes_stay_distinct() -> None:
    assert latin1_to_fs("\xff") == "\udcff"


def test_filesystem_name_round_trips_to_url_text() -> None:
    assert static.fs_to_latin1(latin1_to_fs("caf\xc3\xa9\xff")) == "caf\xc3\xa9\xff"


def test_owner_match_refuses_a_link_with_another_owner() -> None:
    link = os.stat_result((0o120777, 1, 1, 1, 1000, 0, 1, 0, 0, 0))
    target = os.stat_result((0o100644, 2, 1, 1, 0, 0, 1, 0, 0, 0))
    assert not static.link_allowed(static.OPT_SYM_LINKS | static.OPT_SYM_OWNER, link, target)


def test_follow_symlinks_alone_allows_any_link() -> None:
    link = os.stat_result((0o120777, 1, 1, 1, 1000, 0, 1, 0, 0, 0))
    target = os.stat_result((0o100644, 2, 1, 1, 0, 0, 1, 0, 0, 0))
    assert static.link_allowed(static.OPT_SYM_LINKS, link, target)


def test_no_link_option_refuses_links() -> None:
    st = os.stat_result((0o100644, 2, 1, 1, 0, 0, 1, 0, 0, 0))
    assert not static.link_allowed(0, st, st)


# --------------------------------------------------------------------------
# mime


TYPES = {"html": "text/html", "gz": "application/gzip", "txt": "text/plain", "png": "image/png"}


def test_type_comes_from_the_last_known_extension() -> None:
    assert mime.find_type("/x/page.en.html", TYPES, mime.MimeDir()).content_type == "text/html"


def test_extension_match_is_case_insensitive() -> None:
    assert mime.find_type("/x/IMAGE.PNG", TYPES, mime.MimeDir()).content_type == "image/png"


def test_leading_dot_is_part_of_the_name() -> None:
    assert mime.find_type("/x/.png", TYPES, mime.MimeDir()).content_type is None


def test_name_without_extension_has_no_type() -> None:
    assert mime.find_type("/x/README", TYPES, mime.MimeDir()) == mime.NO_RESULT


@pytest.mark.parametrize(
    ("filename", "ctype"),
    [
        ("/x/..notes.txt", "text/plain"),  # all leading dots are the name's
        ("/x/...", None),
        ("/x/bad..html", "text/html"),
        ("/x.d/file", None),  # a dot in a directory is no extension
        ("notes.txt", "text/plain"),
    ],
)
def test_extensions_start_after_the_leading_dots(filename: str, ctype: str | None) -> None:
    assert mime.find_type(filename, TYPES, mime.MimeDir()).content_type == ctype


def test_add_encoding_keeps_the_inner_type() -> None:
    conf = mime.MimeDir({"gz": mime.ExtInfo(encoding="gzip")})
    assert mime.find_type("/x/notes.txt.gz", TYPES, conf) == mime.MimeResult(
        "text/plain", "gzip", None
    )


def test_add_type_wins_over_the_types_file() -> None:
    conf = mime.MimeDir({"txt": mime.ExtInfo(type="text/x-custom")})
    assert mime.find_type("/x/a.txt", TYPES, conf).content_type == "text/x-custom"


def test_add_charset_is_appended_to_the_type() -> None:
    conf = mime.MimeDir({"utf8": mime.ExtInfo(charset="utf-8")})
    assert mime.find_type("/x/a.txt.utf8", TYPES, conf).content_type == "text/plain; charset=utf-8"


def test_charset_replaces_one_already_in_the_type() -> None:
    assert mime.with_charset("text/html; charset=latin1", "utf-8") == "text/html; charset=utf-8"


def test_remove_type_in_a_subdirectory_undoes_add_type() -> None:
    base = mime.MimeDir({"txt": mime.ExtInfo(type="text/x-custom")})
    merged = mime.merge_mime_dir(base, mime.MimeDir(removes=[("type", "txt")]))
    assert mime.find_type("/x/a.txt", TYPES, merged).content_type == "text/plain"


def test_types_file_maps_each_extension(tmp_path: Path) -> None:
    path = tmp_path / "mime.types"
    path.write_text("# comment\ntext/html html htm\napplication/x-none\nimage/png PNG\n")
    assert mime.read_types(str(path)) == {
        "html": "text/html",
        "htm": "text/html",
        "png": "image/png",
    }


def test_bundled_types_file_knows_the_common_web_types() -> None:
    types = mime.read_types(mime.BUNDLED_TYPES)
    assert (types["html"], types["css"], types["js"], types["svg"]) == (
        "text/html",
        "text/css",
        "text/javascript",
        "image/svg+xml",
    )


def test_types_config_pointing_nowhere_is_a_config_error(tmp_path: Path) -> None:
    error = fail(tmp_path, "TypesConfig no/such/file\n")
    assert "AH01597: could not open mime types config file" in str(error)


# --------------------------------------------------------------------------
# alias


def test_alias_matches_its_own_path() -> None:
    assert alias.alias_matches("/icons", "/icons") == 6


def test_alias_matches_below_its_path() -> None:
    assert alias.alias_matches("/icons/a.png", "/icons") == 6


def test_alias_does_not_match_a_longer_segment() -> None:
    assert alias.alias_matches("/iconsx", "/icons") == 0


def test_alias_with_trailing_slash_needs_the_slash() -> None:
    assert alias.alias_matches("/icons", "/icons/") == 0


def test_alias_slashes_match_runs_of_slashes() -> None:
    assert alias.alias_matches("//icons//a", "/icons/") == 9


def test_alias_target_join_never_reaches_a_sibling() -> None:
    assert alias.join_target("/srv/data", "-secret") == "/srv/data/-secret"


def test_alias_target_join_keeps_one_slash() -> None:
    assert alias.join_target("/srv/data/", "/a") == "/srv/data/a"


def test_template_substitutes_numbered_groups() -> None:
    import re

    m = re.search(r"^/u/(\w+)/(.*)$", "/u/bob/x.txt")
    assert m is not None
    assert (
        alias.substitute(alias.compile_template(r"/home/$1/www/$2\$3"), m)
        == "/home/bob/www/x.txt$3"
    )


def test_alias_match_root_is_the_literal_prefix_directory() -> None:
    assert alias._target_root("/srv/www/$1.txt", True) == "/srv/www"


def test_redirect_with_three_arguments_needs_a_status_first(tmp_path: Path) -> None:
    error = fail(tmp_path, "Redirect /a /b /c\n")
    assert "Redirect: invalid first argument (of three)" in str(error)


def test_redirect_to_a_relative_url_is_refused(tmp_path: Path) -> None:
    assert "Redirect to non-URL" in str(fail(tmp_path, "Redirect /a b\n"))


def test_redirect_gone_with_a_url_is_refused(tmp_path: Path) -> None:
    assert "Redirect URL not valid for this status" in str(
        fail(tmp_path, "Redirect gone /a http://x/\n")
    )


def test_redirect_without_a_url_is_refused(tmp_path: Path) -> None:
    assert "URL to redirect to is missing" in str(fail(tmp_path, "Redirect /a\n"))


def test_overlapping_alias_is_warned_about(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    loaded = load(tmp_path, f"Alias /a {tmp_path}/a\nAlias /a/b {tmp_path}/a\n")
    assert any("AH00671" in w for w in loaded.warnings)


def test_alias_in_a_directory_section_is_refused(tmp_path: Path) -> None:
    error = fail(tmp_path, f"<Directory {tmp_path}>\nAlias /a /b\n</Directory>\n")
    assert "Alias must have only one argument" in str(error)


# --------------------------------------------------------------------------
# autoindex


@pytest.mark.parametrize(
    ("size", "shown"),
    [
        (-1, "  - "),
        (0, "  0 "),
        (972, "972 "),
        (973, "1.0K"),
        (5000, "4.9K"),
        (20_000, " 20K"),
        (3 << 20, "3.0M"),
    ],
)
def test_sizes_are_shown_as_apr_strfsize(size: int, shown: str) -> None:
    assert autoindex_page.strfsize(size) == shown


def test_version_sort_orders_numbers_by_value() -> None:
    names = ["v10.txt", "v9.txt", "v1.txt"]
    assert sorted(names, key=autoindex_page.natural_key) == ["v1.txt", "v9.txt", "v10.txt"]


def test_href_of_a_name_with_a_colon_cannot_become_a_scheme() -> None:
    assert autoindex_page.escape_href("javascript:alert(1)") == "./javascript:alert(1)"


def test_href_quotes_quotes_and_angle_brackets() -> None:
    assert autoindex_page.escape_href('<a">.txt') == "%3Ca%22%3E.txt"


def test_names_are_html_escaped() -> None:
    assert autoindex_page.escape_html('<a href="x">&') == "&lt;a href=&quot;x&quot;&gt;&amp;"


def test_client_query_sets_key_and_direction() -> None:
    key, direction, _, _, _ = autoindex_page.parse_query("C=S;O=D", "N", "A", 0)
    assert (key, direction) == ("S", "D")


def test_client_query_stops_at_the_first_unknown_argument() -> None:
    key, direction, _, _, _ = autoindex_page.parse_query("X=1;C=S", "N", "A", 0)
    assert (key, direction) == ("N", "A")


def test_description_is_cut_to_its_width_with_a_marker() -> None:
    assert autoindex_page.truncate_description("abcdefghij", 5) == "abcd>"


def test_description_markup_does_not_count_towards_its_width() -> None:
    assert autoindex_page.truncate_description("<b>abc</b>", 5) == "<b>abc</b>"


def test_folders_first_puts_directories_before_files_in_either_order() -> None:
    entries = [
        autoindex_page.Entry("b.txt", False, 1, 1),
        autoindex_page.Entry("a/", True, -1, 1),
        autoindex_page.Entry("c/", True, -1, 1),
    ]
    out = autoindex_page.sort_entries(entries, "N", False, autoindex_page.FOLDERS_FIRST)
    assert [e.name for e in out] == ["c/", "a/", "b.txt"]


def test_incremental_index_options_add_to_the_parent() -> None:
    base = autoindex.AutoindexDir(opts=autoindex_page.FANCY_INDEXING)
    add = autoindex.AutoindexDir(incremented=autoindex_page.FOLDERS_FIRST)
    merged = autoindex.merge_autoindex(
        autoindex.merge_autoindex(autoindex.AutoindexDir(), base), add
    )
    assert merged.options == autoindex_page.FANCY_INDEXING | autoindex_page.FOLDERS_FIRST


def test_absolute_index_options_replace_the_parent() -> None:
    base = autoindex.AutoindexDir(opts=autoindex_page.FANCY_INDEXING | autoindex_page.FOLDERS_FIRST)
    add = autoindex.AutoindexDir(opts=autoindex_page.TABLE_INDEXING)
    assert autoindex.merge_autoindex(base, add).options == autoindex_page.TABLE_INDEXING


def test_unknown_index_option_is_a_config_error(tmp_path: Path) -> None:
    error = fail(tmp_path, "LoadModule autoindex_module x\nIndexOptions Sparkly\n")
    assert "Invalid directory indexing option" in str(error)
