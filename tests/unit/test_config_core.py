"""core_module's directives: their values, their merging and their error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from mpmd.log.levels import LEVELS
from mpmd.modules.core import (
    OPT_ALL,
    OPT_EXECCGI,
    OPT_INDEXES,
    OPT_MULTI,
    OPT_SYM_LINKS,
)
from tests.unit.confkit import core_dir, fail, load

# -- Options -------------------------------------------------------------------------------


def location_options(tmp_path: Path, body: str, uri: str = "/x") -> int:
    loaded = load(tmp_path, f"<Location /x>\n{body}\n</Location>\n")
    return core_dir(loaded.config, None, uri).effective_options


def test_options_default_to_follow_symlinks(tmp_path: Path) -> None:
    assert core_dir(load(tmp_path, "").config, None, "/").effective_options == OPT_SYM_LINKS


def test_options_lists_the_options_that_apply(tmp_path: Path) -> None:
    assert location_options(tmp_path, "Options Indexes MultiViews") == OPT_INDEXES | OPT_MULTI


def test_option_names_are_case_insensitive(tmp_path: Path) -> None:
    assert location_options(tmp_path, "Options indexes FOLLOWSYMLINKS") == (
        OPT_INDEXES | OPT_SYM_LINKS
    )


def test_options_none_turns_everything_off(tmp_path: Path) -> None:
    assert location_options(tmp_path, "Options None") == 0


def test_options_all_is_everything_but_multiviews(tmp_path: Path) -> None:
    assert location_options(tmp_path, "Options All") == OPT_ALL
    assert not OPT_ALL & OPT_MULTI


def test_options_none_among_other_options_adds_nothing(tmp_path: Path) -> None:
    assert location_options(tmp_path, "Options None Indexes") == OPT_INDEXES
    assert location_options(tmp_path, "Options Indexes None") == OPT_INDEXES


def test_relative_options_change_the_inherited_options(tmp_path: Path) -> None:
    assert location_options(tmp_path, "Options +Indexes -FollowSymLinks") == OPT_INDEXES


def test_a_later_options_line_replaces_an_earlier_absolute_one(tmp_path: Path) -> None:
    assert location_options(tmp_path, "Options Indexes\nOptions ExecCGI") == OPT_EXECCGI


def test_relative_options_after_absolute_ones_in_one_section_add_to_them(tmp_path: Path) -> None:
    body = "Options Indexes\nOptions +ExecCGI -Indexes +MultiViews"
    assert location_options(tmp_path, body) == OPT_EXECCGI | OPT_MULTI


def test_a_section_with_absolute_options_ignores_the_inherited_ones(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "<Directory /srv>\nOptions +Indexes\n</Directory>\n"
        "<Directory /srv/www>\nOptions ExecCGI\n</Directory>\n",
    )
    assert core_dir(loaded.config, "/srv/www/a.html", "/a.html").effective_options == OPT_EXECCGI


def test_relative_options_apply_to_what_the_shorter_directory_set(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "<Directory /srv>\nOptions Indexes MultiViews\n</Directory>\n"
        "<Directory /srv/www>\nOptions -Indexes +ExecCGI\n</Directory>\n",
    )
    www = core_dir(loaded.config, "/srv/www/a.html", "/a.html").effective_options
    srv = core_dir(loaded.config, "/srv/b.html", "/b.html").effective_options
    assert (www, srv) == (OPT_MULTI | OPT_EXECCGI, OPT_INDEXES | OPT_MULTI)


@pytest.mark.parametrize(
    "words", ["Indexes +FollowSymLinks", "+Indexes FollowSymLinks", "-Indexes None"]
)
def test_options_may_not_mix_relative_and_absolute(tmp_path: Path, words: str) -> None:
    error = fail(tmp_path, f"<Location /x>\nOptions {words}\n</Location>\n")
    assert (error.message, error.line) == (
        "Either all Options must start with + or -, or no Option may.",
        2,
    )


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ("Indexes Bogus", "Illegal option Bogus"),
        ("+Bogus", "Illegal option Bogus"),
        ("+None", "Illegal option +None"),
    ],
)
def test_an_unknown_option_is_illegal(tmp_path: Path, words: str, message: str) -> None:
    error = fail(tmp_path, f"Options {words}\n")
    assert (error.message, error.line) == (message, 1)


def test_options_needs_an_argument(tmp_path: Path) -> None:
    assert fail(tmp_path, "Options\n").message == "Options requires at least one argument"


# -- ErrorDocument ----------------------------------------------------------------------------


def error_documents(tmp_path: Path, text: str, uri: str = "/") -> dict[int, str]:
    return core_dir(load(tmp_path, text).config, None, uri).error_documents


def test_error_document_maps_a_status_to_a_local_url(tmp_path: Path) -> None:
    assert error_documents(tmp_path, "ErrorDocument 404 /missing.html\n") == {404: "/missing.html"}


def test_error_document_with_a_quoted_message_keeps_the_leading_quote(tmp_path: Path) -> None:
    # httpd marks a literal message by its leading quote
    docs = error_documents(tmp_path, 'ErrorDocument 500 "Sorry, we broke it"\n')
    assert docs == {500: '"Sorry, we broke it'}


def test_error_document_default_restores_the_built_in_page(tmp_path: Path) -> None:
    text = "ErrorDocument 404 /x.html\n<Location /d>\nErrorDocument 404 default\n</Location>\n"
    assert error_documents(tmp_path, text, "/d") == {404: ""}


def test_error_documents_merge_per_status(tmp_path: Path) -> None:
    text = (
        "ErrorDocument 404 /404.html\nErrorDocument 500 /500.html\n"
        "<Location /app>\nErrorDocument 404 /app/404.html\n</Location>\n"
    )
    assert error_documents(tmp_path, text, "/app/x") == {404: "/app/404.html", 500: "/500.html"}
    assert error_documents(tmp_path, text, "/other") == {404: "/404.html", 500: "/500.html"}


@pytest.mark.parametrize("code", ["200", "399", "600", "abc"])
def test_error_document_rejects_a_status_that_is_not_an_error(tmp_path: Path, code: str) -> None:
    error = fail(tmp_path, f"ErrorDocument {code} /x.html\n")
    assert (error.message, error.line) == (f"Unsupported HTTP response code {code}", 1)


def test_error_document_takes_two_arguments(tmp_path: Path) -> None:
    assert fail(tmp_path, "ErrorDocument 404\n").message == (
        "ErrorDocument takes two arguments, Change responses for HTTP errors"
    )


# -- Listen ------------------------------------------------------------------------------------


def listeners(tmp_path: Path, text: str) -> list[tuple[str, int, str]]:
    return [(x.host, x.port, x.proto) for x in load(tmp_path, text).config.listeners]


def test_listen_on_a_port_listens_on_every_address(tmp_path: Path) -> None:
    assert listeners(tmp_path, "Listen 8080\n") == [("", 8080, "http")]


def test_listen_on_an_address_and_port(tmp_path: Path) -> None:
    assert listeners(tmp_path, "Listen 127.0.0.1:8080\nListen *:81\n") == [
        ("127.0.0.1", 8080, "http"),
        ("", 81, "http"),
    ]


def test_listen_on_an_ipv6_address_with_a_protocol(tmp_path: Path) -> None:
    assert listeners(tmp_path, "Listen [::1]:8443 HTTPS\n") == [("::1", 8443, "https")]


def test_listen_twice_on_the_same_address_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, "Listen 80\nListen 81\nListen 80\n")
    assert (error.message, error.line) == (
        "Cannot define multiple Listeners on the same IP:port",
        3,
    )


@pytest.mark.parametrize("address", ["localhost", "[::1]", "127.0.0.1:"])
def test_listen_needs_a_port(tmp_path: Path, address: str) -> None:
    assert fail(tmp_path, f"Listen {address}\n").message == "Port must be specified"


@pytest.mark.parametrize("address", ["127.0.0.1:http", "70000", "[::1]:-1"])
def test_listen_rejects_a_bad_port(tmp_path: Path, address: str) -> None:
    assert fail(tmp_path, f"Listen {address}\n").message == "Invalid address or port"


def test_listen_backlog_must_be_positive(tmp_path: Path) -> None:
    assert fail(tmp_path, "ListenBacklog 0\n").message == "ListenBacklog must be > 0"
    assert load(tmp_path, "ListenBacklog 1024\n").config.listen_backlog == 1024


# -- LogLevel ------------------------------------------------------------------------------------


def test_log_level_sets_the_servers_level(tmp_path: Path) -> None:
    assert load(tmp_path, "LogLevel info\n").main.log_level == LEVELS["info"]


def test_log_level_accepts_trace_levels_in_any_case(tmp_path: Path) -> None:
    assert load(tmp_path, "LogLevel TRACE3\n").main.log_level == LEVELS["trace3"]


def test_log_level_sets_per_module_levels_by_any_module_name(tmp_path: Path) -> None:
    main = load(
        tmp_path, "LogLevel warn authz_core:debug mod_authz_host.c:info so_module:error\n"
    ).main
    assert main.log_level == LEVELS["warn"]
    assert main.module_log_levels == {
        "authz_core_module": LEVELS["debug"],
        "authz_host_module": LEVELS["info"],
        "so_module": LEVELS["error"],
    }


def test_log_level_in_a_virtual_host_is_that_hosts(tmp_path: Path) -> None:
    loaded = load(tmp_path, "LogLevel error\n<VirtualHost *:80>\nLogLevel debug\n</VirtualHost>\n")
    assert (loaded.main.log_level, loaded.config.vhosts[0].log_level) == (3, 7)


@pytest.mark.parametrize("words", ["loud", "warn core:chatty", "trace9"])
def test_log_level_rejects_an_unknown_level(tmp_path: Path, words: str) -> None:
    error = fail(tmp_path, f"LogLevel {words}\n")
    assert (error.message, error.line) == (
        "Log level keyword must be one of emerg/alert/crit/error/warn/notice/info/debug/"
        "trace1/.../trace8",
        1,
    )


def test_log_level_rejects_a_module_not_loaded(tmp_path: Path) -> None:
    assert fail(tmp_path, "LogLevel nosuch:debug\n").message == "Cannot find module 'nosuch'"


def test_log_level_needs_an_argument(tmp_path: Path) -> None:
    assert fail(tmp_path, "LogLevel\n").message == (
        "LogLevel requires at least one argument, Level of verbosity in error logging"
    )


# -- ServerTokens, ServerSignature, TraceEnable --------------------------------------------------


@pytest.mark.parametrize(
    ("word", "value"),
    [
        ("Prod", "Prod"),
        ("ProductOnly", "Prod"),
        ("major", "Major"),
        ("Minor", "Minor"),
        ("Min", "Minimal"),
        ("Minimal", "Minimal"),
        ("os", "OS"),
        ("FULL", "Full"),
    ],
)
def test_server_tokens_accepts_httpds_words(tmp_path: Path, word: str, value: str) -> None:
    assert load(tmp_path, f"ServerTokens {word}\n").config.server_tokens == value


def test_server_tokens_defaults_to_full(tmp_path: Path) -> None:
    assert load(tmp_path, "").config.server_tokens == "Full"


def test_server_tokens_rejects_other_words(tmp_path: Path) -> None:
    error = fail(tmp_path, "ServerTokens Secret\n")
    assert (error.message, error.line) == (
        "ServerTokens takes 1 argument: 'Prod(uctOnly)', 'Major', 'Minor', 'Min(imal)', 'OS', "
        "or 'Full'",
        1,
    )


def test_server_tokens_is_for_the_main_server_only(tmp_path: Path) -> None:
    error = fail(tmp_path, "<VirtualHost *:80>\nServerTokens Prod\n</VirtualHost>\n")
    assert error.message == "ServerTokens cannot occur within <VirtualHost> section"


def test_server_signature_rejects_other_words(tmp_path: Path) -> None:
    assert fail(tmp_path, "ServerSignature maybe\n").message == (
        "ServerSignature: use one of: off | on | email"
    )


def test_trace_enable_off_disables_trace(tmp_path: Path) -> None:
    assert load(tmp_path, "TraceEnable off\n").config.trace_enable is False
    assert fail(tmp_path, "TraceEnable sometimes\n").message == (
        "TraceEnable must be one of 'on', 'off', or 'extended'"
    )


# -- timeouts and limits -----------------------------------------------------------------------


def test_timeouts_accept_seconds_and_milliseconds(tmp_path: Path) -> None:
    main = load(tmp_path, "Timeout 30\nKeepAliveTimeout 250ms\n").main
    assert (main.timeout, main.keep_alive_timeout) == (30, 0.25)


def test_a_timeout_that_is_not_a_number_is_an_error(tmp_path: Path) -> None:
    assert fail(tmp_path, "Timeout soon\n").message == (
        "Timeout argument is not a valid number of seconds"
    )


def test_request_limits_are_set_per_server(tmp_path: Path) -> None:
    main = load(
        tmp_path,
        "LimitRequestLine 4096\nLimitRequestFieldSize 1024\nLimitRequestFields 20\n"
        "MaxKeepAliveRequests 0\n",
    ).main
    assert (
        main.limit_request_line,
        main.limit_request_field_size,
        main.limit_request_fields,
        main.max_keep_alive_requests,
    ) == (4096, 1024, 20, 0)


def test_limit_request_fields_zero_means_unlimited(tmp_path: Path) -> None:
    assert load(tmp_path, "LimitRequestFields 0\n").main.limit_request_fields >= 1 << 30


@pytest.mark.parametrize(
    "name", ["LimitRequestLine", "LimitRequestFieldSize", "LimitRequestFields"]
)
@pytest.mark.parametrize("value", ["-1", "big"])
def test_a_request_limit_must_be_a_non_negative_integer(
    tmp_path: Path, name: str, value: str
) -> None:
    error = fail(tmp_path, f"{name} {value}\n")
    assert (error.message, error.line) == (f'{name} "{value}" must be a non-negative integer', 1)


def test_limit_request_line_must_not_be_zero(tmp_path: Path) -> None:
    assert fail(tmp_path, "LimitRequestLine 0\n").message == (
        'LimitRequestLine "0" must be a positive integer'
    )


def test_limit_request_body_is_per_directory(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "LimitRequestBody 100\n<Location /up>\nLimitRequestBody 0\n</Location>\n"
    )
    assert core_dir(loaded.config, None, "/x").body_limit == 100
    assert core_dir(loaded.config, None, "/up/x").body_limit >= 1 << 62


def test_limit_request_body_errors_are_httpds(tmp_path: Path) -> None:
    assert fail(tmp_path, "LimitRequestBody lots\n").message == (
        "LimitRequestBody argument is not parsable."
    )
    assert fail(tmp_path, "LimitRequestBody -1\n").message == (
        "LimitRequestBody requires a non-negative integer."
    )


# -- server identity -----------------------------------------------------------------------------


def test_server_name_may_carry_a_scheme_and_port(tmp_path: Path) -> None:
    main = load(tmp_path, "ServerName https://www.example.com:8443\n").main
    assert (main.server_name, main.port) == ("www.example.com", 8443)


def test_server_name_rejects_a_bad_port(tmp_path: Path) -> None:
    assert fail(tmp_path, "ServerName example.com:web\n").message == (
        'The port number "web" is outside the appropriate range (i.e., 1..65535).'
    )


def test_server_alias_is_only_used_in_a_virtual_host(tmp_path: Path) -> None:
    assert fail(tmp_path, "ServerAlias www\n").message == "ServerAlias only used in <VirtualHost>"
    loaded = load(tmp_path, "<VirtualHost *:80>\nServerAlias a b\nServerAlias c\n</VirtualHost>\n")
    assert loaded.config.vhosts[0].server_aliases == ["a", "b", "c"]


def test_server_root_must_be_a_directory(tmp_path: Path) -> None:
    error = fail(tmp_path, f"ServerRoot {tmp_path / 'nope'}\n")
    assert error.message == "ServerRoot must be a valid directory"


def test_server_root_changes_where_relative_paths_point(tmp_path: Path) -> None:
    (tmp_path / "other").mkdir()
    loaded = load(tmp_path, f"ServerRoot {tmp_path / 'other'}\nErrorLog logs/err\n")
    assert loaded.main.error_log == str(tmp_path / "other" / "logs" / "err")


def test_a_missing_document_root_is_a_warning_AH00112(tmp_path: Path) -> None:
    loaded = load(tmp_path, "DocumentRoot nowhere\n")
    assert loaded.main.document_root == str(tmp_path / "nowhere")
    assert loaded.warnings == [
        f"AH00112: Warning: DocumentRoot [{tmp_path / 'nowhere'}] does not exist"
    ]


def test_the_docroot_check_is_skipped_with_dash_T(tmp_path: Path) -> None:
    assert load(tmp_path, "DocumentRoot nowhere\n", defines=["__SKIP_DOCROOT_CHECK"]).warnings == []


# -- <VirtualHost> --------------------------------------------------------------------------------


def test_a_virtual_host_records_its_addresses_and_where_it_was_defined(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "Timeout 1\n<VirtualHost *:80 [::1]:8080>\nServerName v\n</VirtualHost>\n"
    )
    vhost = loaded.config.vhosts[0]
    assert (vhost.addrs, vhost.server_name, vhost.is_virtual) == (["*:80", "[::1]:8080"], "v", True)
    assert (vhost.defined_in, vhost.defined_line) == (str(loaded.file), 2)
    assert loaded.main.server_name == ""


def test_a_virtual_host_needs_an_address(tmp_path: Path) -> None:
    error = fail(tmp_path, "<VirtualHost>\n</VirtualHost>\n")
    assert (error.message, error.line) == (
        "<VirtualHost> directive requires additional arguments",
        1,
    )


@pytest.mark.parametrize("address", ["*", "example.com", "[::1]", "10.0.0.1:8080", "[::1]:81"])
def test_a_virtual_host_address_may_omit_the_port(tmp_path: Path, address: str) -> None:
    loaded = load(tmp_path, f"<VirtualHost {address}>\n</VirtualHost>\n")
    assert loaded.config.vhosts[0].addrs == [address]


def test_a_virtual_host_address_with_a_bad_port_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, "<VirtualHost example.com:web>\n</VirtualHost>\n")
    assert (error.message, error.line) == ("Invalid address or port", 1)


def test_an_empty_quoted_option_is_illegal(tmp_path: Path) -> None:
    assert fail(tmp_path, "Options ''\n").message == "Illegal option "


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_a_timeout_must_be_a_finite_number(tmp_path: Path, value: str) -> None:
    assert fail(tmp_path, f"Timeout {value}\n").message == (
        "Timeout argument is not a valid number of seconds"
    )


def test_a_negative_timeout_is_an_error(tmp_path: Path) -> None:
    assert fail(tmp_path, "KeepAliveTimeout -1\n").message == (
        "KeepAliveTimeout argument must be a positive number of seconds"
    )


# -- other per-directory directives ------------------------------------------------------------


def test_allow_override_none_is_accepted_in_a_directory(tmp_path: Path) -> None:
    loaded = load(tmp_path, "<Directory />\nAllowOverride None\n</Directory>\n")
    assert core_dir(loaded.config, "/srv/x", "/x").allow_override == "None"


def test_allow_override_other_than_none_is_refused(tmp_path: Path) -> None:
    error = fail(tmp_path, "<Directory />\nAllowOverride All\n</Directory>\n")
    assert (error.message, error.line) == (
        "AllowOverride: only 'None' is supported: mpmd never reads .htaccess files",
        2,
    )


@pytest.mark.parametrize("open_tag", ["Location /", "DirectoryMatch ^/", "Files x"])
def test_allow_override_is_only_allowed_in_a_plain_directory(tmp_path: Path, open_tag: str) -> None:
    kind = open_tag.split()[0]
    error = fail(tmp_path, f"<{open_tag}>\nAllowOverride None\n</{kind}>\n")
    assert error.message == "AllowOverride not allowed here"


def test_set_handler_and_force_type_none_clear_an_inherited_value(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "SetHandler Wsgi-Script\nForceType text/plain\n"
        "<Location /raw>\nSetHandler None\nForceType None\n</Location>\n",
    )
    top = core_dir(loaded.config, None, "/x")
    assert (top.handler, top.force_type) == ("wsgi-script", "text/plain")
    raw = core_dir(loaded.config, None, "/raw")
    assert (raw.handler, raw.force_type) == (None, None)


def test_a_section_without_set_handler_keeps_the_inherited_handler(tmp_path: Path) -> None:
    loaded = load(tmp_path, "SetHandler a\n<Location /x>\nOptions None\n</Location>\n")
    assert core_dir(loaded.config, None, "/x").handler == "a"


def test_file_etag_lists_components(tmp_path: Path) -> None:
    text = "FileETag INode MTime\n<Location /s>\nFileETag -MTime\n</Location>\n"
    loaded = load(tmp_path, text)
    assert core_dir(loaded.config, None, "/x").etag_parts == ("inode", "mtime")
    assert core_dir(loaded.config, None, "/s").etag_parts == ("size",)


def test_file_etag_rejects_an_unknown_keyword(tmp_path: Path) -> None:
    assert fail(tmp_path, "FileETag MTime Colour\n").message == (
        "Unknown keyword 'colour' for FileETag directive"
    )


def test_add_default_charset_on_means_iso_8859_1(tmp_path: Path) -> None:
    loaded = load(
        tmp_path, "AddDefaultCharset On\n<Location /u>\nAddDefaultCharset utf-8\n</Location>\n"
    )
    assert core_dir(loaded.config, None, "/x").add_default_charset == "iso-8859-1"
    assert core_dir(loaded.config, None, "/u").add_default_charset == "utf-8"


def test_enable_sendfile_is_a_flag(tmp_path: Path) -> None:
    assert (
        core_dir(load(tmp_path, "EnableSendfile off\n").config, None, "/").enable_sendfile is False
    )
    assert fail(tmp_path, "EnableSendfile sometimes\n").message == (
        "EnableSendfile must be On or Off"
    )


def test_hostname_lookups_rejects_other_words(tmp_path: Path) -> None:
    assert fail(tmp_path, "HostnameLookups twice\n").message == (
        "parameter must be 'on', 'off', or 'double'"
    )


def test_error_log_is_relative_to_server_root_and_may_not_be_piped(tmp_path: Path) -> None:
    assert load(tmp_path, "ErrorLog logs/err\n").main.error_log == str(tmp_path / "logs" / "err")
    assert fail(tmp_path, "ErrorLog |/usr/bin/logger\n").message.startswith(
        "ErrorLog: piped logs are not supported"
    )


def test_mutex_is_accepted_for_copied_configurations(tmp_path: Path) -> None:
    assert load(tmp_path, "Mutex file:/var/lock default\n").warnings == []


def test_relative_options_at_server_level_apply_to_the_default(tmp_path: Path) -> None:
    from mpmd.modules.core import OPT_INDEXES, OPT_SYM_LINKS

    conf = load(tmp_path, "Options +Indexes").main.dir_config_for("/anywhere/x.txt", "/x.txt")[
        "core_module"
    ]
    assert conf.effective_options == OPT_INDEXES | OPT_SYM_LINKS


def test_use_canonical_name_is_per_directory_and_merges(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "UseCanonicalName on\n<Location /d>\nUseCanonicalName DNS\nUseCanonicalPhysicalPort On\n"
        "</Location>\n",
    )
    main = core_dir(loaded.config, None, "/x")
    assert (main.use_canonical_name, main.use_canonical_phys_port) == ("On", None)
    inner = core_dir(loaded.config, None, "/d/x")
    assert (inner.use_canonical_name, inner.use_canonical_phys_port) == ("DNS", True)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("UseCanonicalName maybe", "parameter must be 'on', 'off', or 'dns'"),
        ("UseCanonicalPhysicalPort maybe", "UseCanonicalPhysicalPort must be On or Off"),
    ],
)
def test_use_canonical_name_refuses_other_words(tmp_path: Path, line: str, message: str) -> None:
    error = fail(tmp_path, line + "\n")
    assert (error.message, error.line) == (message, 1)


def test_use_canonical_name_in_a_virtual_host_is_that_hosts_own(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        "UseCanonicalPhysicalPort On\n<VirtualHost *:80>\nServerName v.example\n"
        "UseCanonicalName On\n</VirtualHost>\n",
    )
    vhost = loaded.config.vhosts[0].dir_config_for(None, "/x")["core_module"]
    main = core_dir(loaded.config, None, "/x")
    assert (vhost.use_canonical_name, vhost.use_canonical_phys_port) == ("On", True)
    assert (main.use_canonical_name, main.use_canonical_phys_port) == (None, True)
