"""mod_log_config: format compilation, httpd's output for every directive, and the log files."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mpmd.config.errors import ConfigError
from mpmd.config.loader import read_config
from mpmd.config.server import Config, ServerConfig
from mpmd.http.connection import Connection
from mpmd.http.request import Request
from mpmd.http.site import Site
from mpmd.log.accesslog import FormatError, compile_format
from mpmd.log.accesslog_fields import escape_logitem
from mpmd.log.errorlog import ErrorLog
from mpmd.modules import builtin_modules
from mpmd.modules.log_config import CLF, LogConfig, LogConfigModule
from tests.unit.confkit import loopback_pair

START = 1_700_000_000.123456  # 2023-11-14 22:13:20.123456 UTC


HEADERS = [
    (b"Host", b"WWW.Example.com:8080"),
    (b"User-Agent", b"curl/8.0"),
    (b"Referer", b"http://r.example/"),
    (b"Cookie", b"sid=abc; theme = dark "),
]
_conn: list[Connection] = []  # the one connection every make_request() rides on


@pytest.fixture(scope="module", autouse=True)
def connection(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Connection]:
    """A real connection on a loopback TCP pair (the request path is compiled: it takes
    no stand-ins); the client address a line shows is set by make_request."""
    root = tmp_path_factory.mktemp("log")
    config = read_config(None, str(root), [], [], [], builtin_modules(), lambda m: None, "")
    server_side, _, client = loopback_pair()
    conn = Connection(server_side, ("192.0.2.7", 51000), Site(config, ErrorLog(2)))
    _conn.append(conn)
    try:
        yield conn
    finally:
        _conn.clear()
        conn.close_now()
        client.close()


def make_request(**changes: Any) -> Request:
    """A request carrying every attribute the access log reads, as the connection leaves it."""
    conn = _conn[0]
    conn.client_ip, conn.client_port, conn.requests = "192.0.2.7", 51000, 3
    req = Request(conn, START, 100.0)
    req.server = ServerConfig(conn.site.config.modules, server_name="www.example.com", port=8080)
    req.method, req.target, req.path = "GET", "/a%20b?x=1&y=2", "/a b"
    req.query, req.version = "x=1&y=2", "HTTP/1.1"
    req.header_list = list(HEADERS)
    req.end_perf = 102.5
    req.user, req.status, req.bytes_sent, req.header_bytes = "alice", 200, 1234, 200
    req.body_received = 10
    req.env, req.notes = {"SESSION": "s1"}, {"note1": "n"}
    req.filename, req.handler, req.log_id = "/srv/www/a b", "wsgi-script", "Zx1"
    req.done, req.close_after = True, False
    req.content_length_out, req.content_type = 1234, None
    req.headers_out = [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("X-App", "v1"),
    ]
    for name, value in changes.items():
        setattr(req, name, value)
    return req


def render(fmt: str, req: Request | None = None) -> str:
    line = compile_format(fmt).render(req or make_request())
    assert line.endswith(b"\n")
    return line[:-1].decode("latin-1")


@pytest.fixture
def set_timezone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Set the process's local time zone (a POSIX TZ string) for one test."""

    def set_tz(tz: str) -> None:
        monkeypatch.setenv("TZ", tz)
        time.tzset()

    yield set_tz
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def utc(set_timezone: Callable[[str], None]) -> None:
    set_timezone("UTC0")


# ----------------------------------------------------------------------------
# ap_escape_logitem


def test_escape_leaves_printable_ascii_alone() -> None:
    assert escape_logitem("Mozilla/5.0 (X11) ~!#$") == "Mozilla/5.0 (X11) ~!#$"


def test_escape_backslashes_quotes_and_backslashes() -> None:
    assert escape_logitem('say "hi" \\o/') == 'say \\"hi\\" \\\\o/'


def test_escape_writes_c_escapes_for_common_controls() -> None:
    assert escape_logitem("\b\n\r\t\v") == "\\b\\n\\r\\t\\v"


def test_escape_writes_other_bytes_as_lowercase_hex() -> None:
    assert escape_logitem("\x00\x1b\x7f\xe9\xff") == "\\x00\\x1b\\x7f\\xe9\\xff"


def test_escape_writes_code_points_above_latin1_as_their_utf8_bytes() -> None:
    assert escape_logitem("\u20ac") == "\\xe2\\x82\\xac"


# ----------------------------------------------------------------------------
# Each directive, as httpd prints it

REQUEST_BYTES = (
    len("GET /a%20b?x=1&y=2 HTTP/1.1") + 2 + sum(len(n) + len(v) + 4 for n, v in HEADERS) + 2 + 10
)

DIRECTIVES = [
    ("%%", "%"),
    ("%a", "192.0.2.7"),
    ("%{c}a", "192.0.2.7"),
    ("%b", "1234"),
    ("%B", "1234"),
    ("%{sid}C", "abc"),
    ("%{THEME}C", "dark"),
    ("%D", "2500000"),
    ("%{SESSION}e", "s1"),
    ("%{session}e", "s1"),
    ("%{NOPE}e", "-"),
    ("%f", "/srv/www/a b"),
    ("%h", "192.0.2.7"),
    ("%H", "HTTP/1.1"),
    ("%{User-Agent}i", "curl/8.0"),
    ("%{user-agent}i", "curl/8.0"),
    ("%k", "2"),
    ("%l", "-"),
    ("%L", "Zx1"),
    ("%m", "GET"),
    ("%{note1}n", "n"),
    ("%{X-App}o", "v1"),
    ("%{x-app}o", "v1"),
    ("%p", "8080"),
    ("%{canonical}p", "8080"),
    ("%{remote}p", "51000"),
    ("%{bogus}p", "bogus"),
    ("%P", str(os.getpid())),
    ("%{pid}P", str(os.getpid())),
    ("%{tid}P", str(threading.get_native_id())),
    ("%{hextid}P", format(threading.get_native_id(), "x")),
    ("%q", "?x=1&y=2"),
    ("%r", "GET /a%20b?x=1&y=2 HTTP/1.1"),
    ("%R", "wsgi-script"),
    ("%s", "200"),
    ("%>s", "200"),
    ("%<s", "200"),
    ("%T", "2"),
    ("%{s}T", "2"),
    ("%{ms}T", "2500"),
    ("%{us}T", "2500000"),
    ("%{parsecs}T", "parsecs"),
    ("%u", "alice"),
    ("%U", "/a b"),
    ("%v", "www.example.com"),
    ("%V", "www.example.com"),
    ("%X", "+"),
    ("%I", str(REQUEST_BYTES)),
    ("%O", "1434"),
    ("%S", str(REQUEST_BYTES + 1434)),
    ("%^FB", "-"),
]


@pytest.mark.parametrize(("fmt", "expected"), DIRECTIVES, ids=[d[0] for d in DIRECTIVES])
def test_directive_renders_as_httpd(fmt: str, expected: str) -> None:
    assert render(fmt) == expected


def test_combined_format_renders_a_whole_line(utc: None) -> None:
    line = render('%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"')
    assert line == (
        '192.0.2.7 - alice [14/Nov/2023:22:13:20 +0000] "GET /a%20b?x=1&y=2 HTTP/1.1" '
        '200 1234 "http://r.example/" "curl/8.0"'
    )


def test_every_line_ends_with_one_newline() -> None:
    assert compile_format("%h").render(make_request()).count(b"\n") == 1


def test_literal_text_keeps_httpds_backslash_escapes() -> None:
    assert render(r"a\tb\nc\\d\qe") == "a\tb\nc\\d\\qe"


def test_literal_text_from_the_config_file_is_written_as_utf8() -> None:
    line = compile_format("caf\u00e9 %h").render(make_request())
    assert line.startswith("café ".encode())


def test_request_line_is_escaped() -> None:
    req = make_request(target='/"x"\x01')
    assert render("%r", req) == 'GET /\\"x\\"\\x01 HTTP/1.1'


def test_missing_request_line_logs_dash() -> None:
    assert render("%r", make_request(method="")) == "-"


def test_request_header_values_are_escaped() -> None:
    req = make_request(header_list=[(b"User-Agent", b'evil"\n\xff')])
    assert render("%{User-Agent}i", req) == 'evil\\"\\n\\xff'


def test_missing_request_header_logs_dash() -> None:
    assert render("%{X-Missing}i") == "-"


def test_first_of_repeated_request_headers_is_logged() -> None:
    req = make_request(header_list=[(b"Accept", b"a"), (b"accept", b"b")])
    assert render("%{Accept}i", req) == "a"


def test_b_logs_dash_and_B_logs_zero_when_no_body_was_sent() -> None:
    req = make_request(bytes_sent=0)
    assert render("%b %B", req) == "- 0"


def test_u_logs_dash_without_user_and_two_quotes_for_an_empty_user() -> None:
    assert render("%u", make_request(user=None)) == "-"
    assert render("%u", make_request(user="")) == '""'


def test_u_escapes_the_user_name() -> None:
    assert render("%u", make_request(user='a"b')) == 'a\\"b'


def test_q_is_empty_without_a_query_string() -> None:
    assert render("[%q]", make_request(target="/x", query="")) == "[]"


def test_q_keeps_a_bare_question_mark() -> None:
    assert render("%q", make_request(target="/x?", query="")) == "?"


def test_status_logs_dash_before_any_status_is_set() -> None:
    assert render("%>s", make_request(status=0)) == "-"


def test_s_and_lt_s_use_the_original_status_and_gt_s_the_final_one() -> None:
    req = make_request(status=404, notes={"original_status": 500})
    assert render("%s %<s %>s", req) == "500 500 404"


def test_content_type_out_drops_parameters_as_httpd() -> None:
    assert render("%{Content-Type}o") == "text/html"


def test_content_type_out_falls_back_to_the_request_content_type() -> None:
    req = make_request(headers_out=[], content_type="image/png")
    assert render("%{Content-Type}o", req) == "image/png"


def test_content_length_out_is_the_length_sent() -> None:
    assert render("%{Content-Length}o") == "1234"


def test_content_length_out_logs_dash_for_a_chunked_response() -> None:
    assert render("%{Content-Length}o", make_request(content_length_out=None)) == "-"


def test_set_cookie_out_joins_every_set_cookie_header() -> None:
    assert render("%{Set-Cookie}o") == "a=1, b=2"


def test_response_header_values_are_escaped() -> None:
    req = make_request(headers_out=[("X-App", "tab\there")])
    assert render("%{X-App}o", req) == "tab\\there"


def test_env_and_note_values_are_escaped() -> None:
    req = make_request(env={"V": 'q"'}, notes={"n": "\x07"})
    assert render("%{V}e %{n}n", req) == 'q\\" \\x07'


def test_missing_note_and_optional_fields_log_dash() -> None:
    req = make_request(notes={}, filename=None, handler=None, log_id="")
    assert render("%{x}n %f %R %L", req) == "- - - -"


def test_X_marks_an_aborted_response() -> None:
    assert render("%X", make_request(done=False)) == "X"


def test_X_marks_a_connection_that_closes() -> None:
    assert render("%X", make_request(close_after=True)) == "-"


def test_A_and_local_p_are_the_connections_own_end(connection: Connection) -> None:
    ip, port = connection.sock.getsockname()
    assert render("%A %{local}p") == f"{ip} {port}"


def test_p_prefers_the_servers_own_port(connection: Connection) -> None:
    req = make_request()
    req.server.port = 443
    assert render("%p %{local}p", req) == f"443 {connection.sock.getsockname()[1]}"


def test_p_is_the_local_port_when_the_server_has_none(connection: Connection) -> None:
    req = make_request()
    req.server.port = 0
    assert render("%p", req) == str(connection.sock.getsockname()[1])


def test_v_is_the_local_address_without_a_server_name() -> None:
    req = make_request()
    req.server.server_name = ""
    assert render("%v", req) == "127.0.0.1"


def test_V_is_the_host_header_name_lower_cased_without_port_or_final_dot() -> None:
    req = make_request(header_list=[(b"Host", b"Shop.Example.ORG.:443")])
    assert render("%V", req) == "shop.example.org"


def test_V_strips_the_brackets_of_an_ipv6_host() -> None:
    req = make_request(header_list=[(b"Host", b"[2001:db8::1]:8080")])
    assert render("%V", req) == "2001:db8::1"


def test_V_is_the_server_name_without_a_host_header() -> None:
    assert render("%V", make_request(header_list=[])) == "www.example.com"


def test_missing_cookie_logs_dash() -> None:
    assert render("%{other}C") == "-"


# ----------------------------------------------------------------------------
# %t


def test_t_is_clf_time_in_utc(utc: None) -> None:
    assert render("%t") == "[14/Nov/2023:22:13:20 +0000]"


def test_t_shows_a_positive_local_offset(set_timezone: Callable[[str], None]) -> None:
    set_timezone("IST-5:30")
    assert render("%t") == "[15/Nov/2023:03:43:20 +0530]"


def test_t_shows_a_negative_local_offset(set_timezone: Callable[[str], None]) -> None:
    set_timezone("EST5")
    assert render("%t") == "[14/Nov/2023:17:13:20 -0500]"


def test_t_changes_with_the_second(utc: None) -> None:
    fmt = compile_format("%t")
    first = fmt.render(make_request())
    later = fmt.render(make_request(start_time=START + 1))
    assert first.decode() == "[14/Nov/2023:22:13:20 +0000]\n"
    assert later.decode() == "[14/Nov/2023:22:13:21 +0000]\n"


def test_t_with_a_format_is_strftime(utc: None) -> None:
    assert render("%{%Y-%m-%d %H:%M:%S}t") == "2023-11-14 22:13:20"


def test_t_with_end_prefix_uses_the_end_of_the_request(utc: None) -> None:
    assert render("%{end:%H:%M:%S}t %{begin:%H:%M:%S}t") == "22:13:22 22:13:20"


def test_t_end_alone_is_clf_time_of_the_end(utc: None) -> None:
    assert render("%{end}t") == "[14/Nov/2023:22:13:22 +0000]"


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("sec", "1700000000"),
        ("msec", "1700000000123"),
        ("usec", "1700000000123456"),
        ("msec_frac", "123"),
        ("usec_frac", "123456"),
        ("end:sec", "1700000002"),
    ],
)
def test_t_with_absolute_forms(arg: str, expected: str) -> None:
    assert render("%{" + arg + "}t") == expected


# ----------------------------------------------------------------------------
# Conditions and errors


def test_status_condition_prints_the_field_when_the_status_is_listed() -> None:
    assert render("%400,200{User-Agent}i") == "curl/8.0"


def test_status_condition_prints_dash_when_the_status_is_not_listed() -> None:
    assert render("%400,501{User-Agent}i") == "-"


def test_negated_status_condition_prints_dash_when_the_status_is_listed() -> None:
    assert render("%!200,304{Referer}i") == "-"
    assert render("%!200,304{Referer}i", make_request(status=404)) == "http://r.example/"


def test_unknown_directive_is_an_error_in_httpds_words() -> None:
    with pytest.raises(FormatError) as err:
        compile_format("%h %Y")
    assert str(err.value) == "Unrecognized LogFormat directive %Y"


def test_unknown_caret_directive_names_the_caret() -> None:
    with pytest.raises(FormatError) as err:
        compile_format("%^zz")
    assert str(err.value) == "Unrecognized LogFormat directive %^"


def test_directive_cut_short_runs_off_the_end() -> None:
    with pytest.raises(FormatError, match="Ran off end of LogFormat parsing args"):
        compile_format("%{Referer")


# ----------------------------------------------------------------------------
# Through the configuration reader, and the files


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Callable[[str], tuple[Config, LogConfigModule]]]:
    """Read a configuration, run post_config, and close its logs afterwards."""
    opened: list[LogConfigModule] = []

    def read(text: str) -> tuple[Config, LogConfigModule]:
        config = read_config(
            config_file=None,
            server_root=str(tmp_path),
            before=[],
            after=[],
            defines=[],
            builtin=builtin_modules(),
            warn=lambda m: None,
            default_text=text,
        )
        module = config.modules.by_name["log_config_module"]
        assert isinstance(module, LogConfigModule)
        module.post_config(config)
        opened.append(module)
        return config, module

    yield read
    for module in opened:
        module.close()


def conf_of(server: Any) -> LogConfig:
    conf: LogConfig = server.module_conf["log_config_module"]
    return conf


def formats_of(server: Any) -> list[str]:
    return [log.format.text for log in conf_of(server).active]


COMBINED = r'LogFormat "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\"" combined'


def test_logformat_nickname_is_used_by_customlog(load: Any) -> None:
    config, _ = load(COMBINED + "\nCustomLog logs/access.log combined")
    assert formats_of(config.main) == ['%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"']


def test_nickname_defined_after_customlog_is_still_used(load: Any) -> None:
    config, _ = load('CustomLog logs/access.log short\nLogFormat "%h %>s" short')
    assert formats_of(config.main) == ["%h %>s"]


def test_undefined_nickname_is_a_literal_format(load: Any) -> None:
    config, _ = load("CustomLog logs/access.log combined")
    assert formats_of(config.main) == ["combined"]


def test_transferlog_uses_the_last_logformat_without_a_nickname(load: Any) -> None:
    config, _ = load('LogFormat "%h one"\nLogFormat "%h two"\nTransferLog logs/t.log')
    assert formats_of(config.main) == ["%h two"]


def test_transferlog_follows_a_default_logformat_given_as_a_nickname(load: Any) -> None:
    config, _ = load('LogFormat "%h %>s" short\nLogFormat short\nTransferLog logs/t.log')
    assert formats_of(config.main) == ["%h %>s"]


def test_transferlog_defaults_to_common_log_format(load: Any) -> None:
    config, _ = load("TransferLog logs/t.log")
    assert formats_of(config.main) == [CLF]


def test_relative_log_path_is_under_server_root(load: Any, tmp_path: Path) -> None:
    config, _ = load("CustomLog logs/access.log common")
    assert conf_of(config.main).active[0].file.path == str(tmp_path / "logs" / "access.log")
    assert (tmp_path / "logs" / "access.log").exists()


def test_bad_format_in_logformat_is_a_config_error_with_its_line(load: Any) -> None:
    with pytest.raises(ConfigError) as err:
        load('ServerName x\nLogFormat "%h %Y" broken')
    assert err.value.message == "Unrecognized LogFormat directive %Y"
    assert err.value.line == 2


def test_bad_format_in_customlog_is_a_config_error(load: Any) -> None:
    with pytest.raises(ConfigError, match="Unrecognized LogFormat directive %Y"):
        load('CustomLog logs/a.log "%Y"')


def test_bad_condition_clause_is_a_config_error(load: Any) -> None:
    with pytest.raises(ConfigError, match="error in condition clause"):
        load("CustomLog logs/a.log common nolog")


def test_env_condition_without_a_name_is_a_config_error(load: Any) -> None:
    with pytest.raises(ConfigError, match="missing environment variable name"):
        load("CustomLog logs/a.log common env=!")


def test_piped_log_is_rejected_with_a_clear_error(load: Any) -> None:
    with pytest.raises(ConfigError) as err:
        load('CustomLog "|/usr/bin/rotatelogs x 86400" common')
    assert "piped logs (|/usr/bin/rotatelogs x 86400) are not supported" in err.value.message


def test_customlog_takes_two_or_three_arguments(load: Any) -> None:
    with pytest.raises(ConfigError, match="CustomLog takes two or three arguments"):
        load("CustomLog logs/a.log")


def test_bufferedlogs_is_accepted(load: Any) -> None:
    config, _ = load("BufferedLogs On")
    assert conf_of(config.main).buffered is True


def test_unopenable_log_is_a_config_error(load: Any, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="AH00649: could not open transfer log file"):
        load("CustomLog file/access.log common")


VHOSTS = """
CustomLog logs/main.log "main %v"
<VirtualHost *:80>
    ServerName own.example
    CustomLog logs/own.log "own %v"
</VirtualHost>
<VirtualHost *:80>
    ServerName plain.example
</VirtualHost>
"""


def test_vhost_without_logs_uses_the_main_servers_logs(load: Any) -> None:
    config, _ = load(VHOSTS)
    assert formats_of(config.vhosts[1]) == ["main %v"]


def test_vhost_with_its_own_log_does_not_write_the_main_log(load: Any) -> None:
    config, _ = load(VHOSTS)
    assert formats_of(config.vhosts[0]) == ["own %v"]


def test_globallog_is_written_by_a_vhost_with_its_own_logs(load: Any) -> None:
    config, _ = load('GlobalLog logs/all.log "all %v"\n' + VHOSTS)
    assert formats_of(config.vhosts[0]) == ["own %v", "all %v"]


def test_vhost_sees_the_main_servers_nicknames(load: Any) -> None:
    config, _ = load(
        'LogFormat "%h main" nick\n<VirtualHost *:80>\nCustomLog logs/v.log nick\n</VirtualHost>'
    )
    assert formats_of(config.vhosts[0]) == ["%h main"]


def test_vhost_nickname_overrides_the_main_servers(load: Any) -> None:
    config, _ = load(
        'LogFormat "%h main" nick\n<VirtualHost *:80>\nLogFormat "%h vhost" nick\n'
        "CustomLog logs/v.log nick\n</VirtualHost>"
    )
    assert formats_of(config.vhosts[0]) == ["%h vhost"]


def test_logs_to_the_same_file_share_one_descriptor(load: Any) -> None:
    config, module = load("CustomLog logs/a.log common\nTransferLog logs/a.log")
    first, second = conf_of(config.main).active
    assert first.file is second.file
    assert len(module.files) == 1


def test_log_transaction_writes_one_whole_line_with_one_write(
    load: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, module = load(COMBINED + "\nCustomLog logs/access.log combined")
    writes: list[bytes] = []
    real_write = os.write

    def counting_write(fd: int, data: Any) -> int:
        writes.append(bytes(data))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", counting_write)
    for _ in range(3):
        module.log_transaction(make_request(server=config.main))
    monkeypatch.undo()
    assert len(writes) == 3
    lines = (tmp_path / "logs" / "access.log").read_bytes().splitlines(keepends=True)
    assert lines == writes
    assert all(line.startswith(b"192.0.2.7 - alice [") for line in lines)


def test_env_condition_logs_only_requests_with_the_variable(load: Any, tmp_path: Path) -> None:
    config, module = load('CustomLog logs/a.log "%U" env=wanted')
    module.log_transaction(make_request(server=config.main, path="/yes", env={"wanted": "1"}))
    module.log_transaction(make_request(server=config.main, path="/no", env={}))
    assert (tmp_path / "logs" / "a.log").read_text() == "/yes\n"


def test_negated_env_condition_skips_requests_with_the_variable(load: Any, tmp_path: Path) -> None:
    config, module = load('CustomLog logs/a.log "%U" env=!dontlog')
    module.log_transaction(make_request(server=config.main, path="/no", env={"DONTLOG": ""}))
    module.log_transaction(make_request(server=config.main, path="/yes", env={}))
    assert (tmp_path / "logs" / "a.log").read_text() == "/yes\n"


def test_reopen_writes_to_a_new_file_after_rotation(load: Any, tmp_path: Path) -> None:
    config, module = load('CustomLog logs/a.log "%U"')
    log = tmp_path / "logs" / "a.log"
    module.log_transaction(make_request(server=config.main, path="/before"))
    log.rename(tmp_path / "logs" / "a.log.1")
    module.reopen()
    module.log_transaction(make_request(server=config.main, path="/after"))
    assert (tmp_path / "logs" / "a.log.1").read_text() == "/before\n"
    assert log.read_text() == "/after\n"
