"""<VirtualHost> addresses and the choice of the server that answers (config/vhosts.py)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from mpmd.config.vhosts import VirtualHosts, request_host, vhost_address
from tests.unit.confkit import fail, load

THREE = """
ServerName main.test
<VirtualHost *:80>
ServerName a.test
ServerAlias www.a.test *.wild.test
</VirtualHost>
<VirtualHost *:80 *:8080>
ServerName b.test
</VirtualHost>
<VirtualHost 127.0.0.2:80>
ServerName ip.test
</VirtualHost>
<VirtualHost 127.0.0.2:80>
ServerName ip2.test
</VirtualHost>
<VirtualHost [::1]>
ServerName six.test
</VirtualHost>
<VirtualHost _default_:*>
</VirtualHost>
<VirtualHost 127.0.0.3>
ServerName three.test
</VirtualHost>
<VirtualHost 127.0.0.3:80>
ServerName three-80.test
</VirtualHost>
"""


def names(chain: tuple[object, ...]) -> list[str]:
    return [v.server_name for v in chain]  # type: ignore[attr-defined]


def test_an_address_is_host_and_port_with_wildcards_for_either() -> None:
    assert vhost_address("*:80") == ("", "80")
    assert vhost_address("_default_:*") == ("", "0")
    assert vhost_address("*") == ("", "0")
    assert vhost_address("10.0.0.1") == ("10.0.0.1", "0")
    assert vhost_address("[::1]:8080") == ("::1", "8080")
    assert vhost_address("[::1]") == ("::1", "0")
    assert vhost_address("www.example.com:443") == ("www.example.com", "443")


def test_a_request_host_is_matched_without_port_case_or_trailing_dot() -> None:
    assert request_host("WWW.Example.COM:8080") == "www.example.com"
    assert request_host("example.com.") == "example.com"
    assert request_host("[::1]:80") == "::1"
    assert request_host("") == ""


def test_the_address_a_connection_came_to_picks_the_candidates(tmp_path: Path) -> None:
    config = load(tmp_path, THREE).config
    vhosts = VirtualHosts(config.vhosts)
    # an exact IP beats the wildcards, and every vhost of that IP and port is a candidate
    assert names(vhosts.for_address("127.0.0.2", 80)) == ["ip.test", "ip2.test"]
    # no exact IP: the wildcards for that port, else those for any port
    assert names(vhosts.for_address("127.0.0.1", 80)) == ["a.test", "b.test"]
    assert names(vhosts.for_address("127.0.0.1", 8080)) == ["b.test"]
    assert names(vhosts.for_address("127.0.0.1", 9999)) == ["main.test"]
    # the address with a port of its own comes before the address with any port
    assert names(vhosts.for_address("127.0.0.3", 80)) == ["three-80.test"]
    assert names(vhosts.for_address("127.0.0.3", 81)) == ["three.test"]
    # an IPv6 vhost without a port answers on every port of that address
    assert names(vhosts.for_address("::1", 9999)) == ["six.test"]
    # an IPv4 client on a dual-stack socket is seen as its IPv4 address
    assert names(vhosts.for_address("::ffff:127.0.0.2", 80)) == ["ip.test", "ip2.test"]


def test_the_default_vhost_of_any_port_takes_the_main_servers_name(tmp_path: Path) -> None:
    vhosts = VirtualHosts(load(tmp_path, THREE).config.vhosts)
    chain = vhosts.for_address("127.0.0.1", 9999)
    assert vhosts.by_name(chain, "other.test").server_name == "main.test"


def test_no_vhost_for_the_address_leaves_the_main_server(tmp_path: Path) -> None:
    config = load(tmp_path, "<VirtualHost 127.0.0.2:80>\nServerName x.test\n</VirtualHost>\n")
    assert VirtualHosts(config.config.vhosts).for_address("127.0.0.1", 80) == ()


def test_a_request_is_given_the_vhost_it_names_else_the_default(tmp_path: Path) -> None:
    config = load(tmp_path, THREE).config
    vhosts = VirtualHosts(config.vhosts)
    chain = vhosts.for_address("127.0.0.1", 80)
    for host, expected in [
        ("b.test", "b.test"),
        ("B.Test:80", "b.test"),
        ("www.a.test", "a.test"),
        ("deep.sub.wild.test", "a.test"),  # a wildcard alias
        ("wild.test", "a.test"),  # not *.wild.test: the default, which is a.test
        ("main.test", "a.test"),  # the _default_:* vhost is not one of *:80's
        ("ip.test", "a.test"),  # a vhost of another address is never chosen by name
        ("", "a.test"),  # no Host (HTTP/1.0)
    ]:
        assert vhosts.by_name(chain, host).server_name == expected, host


def test_the_first_of_two_vhosts_with_one_name_wins(tmp_path: Path) -> None:
    config = load(tmp_path, "<VirtualHost *>\nServerName same.test\n</VirtualHost>\n" * 2)
    vhosts = VirtualHosts(config.config.vhosts)
    chain = vhosts.for_address("127.0.0.1", 80)
    assert vhosts.by_name(chain, "same.test") is config.config.vhosts[0]


def test_a_vhost_address_must_have_a_valid_port(tmp_path: Path) -> None:
    err = fail(tmp_path, "<VirtualHost *:http>\n</VirtualHost>\n")
    assert "Invalid address or port" in str(err)
    err = fail(tmp_path, "<VirtualHost *:70000>\n</VirtualHost>\n")
    assert "Invalid address or port" in str(err)


def test_an_unresolvable_vhost_address_is_ignored_with_httpd_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_such_host(*args: object, **kw: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_host)  # no resolver needed
    loaded = load(tmp_path, "<VirtualHost no-such-host.invalid:80>\n</VirtualHost>\n")
    assert loaded.warnings == [
        "AH00547: Could not resolve host name no-such-host.invalid -- ignoring!"
    ]
    assert loaded.config.vhosts[0].vhost_addresses == []


@pytest.mark.parametrize("own", ["", "ServerName own.test\n"])
def test_a_vhost_without_a_server_name_takes_the_main_servers(tmp_path: Path, own: str) -> None:
    config = load(tmp_path, f"ServerName main.test\n<VirtualHost *>\n{own}</VirtualHost>\n")
    assert config.config.vhosts[0].server_name == ("own.test" if own else "main.test")


def test_vhosts_with_a_log_of_their_own_get_one_and_share_its_file(tmp_path: Path) -> None:
    from mpmd.log.errorlog import open_error_log
    from mpmd.log.levels import DEBUG, INFO

    config = load(
        tmp_path,
        "ErrorLog main_err\nLogLevel info\n"
        "<VirtualHost *>\nServerName same.test\n</VirtualHost>\n"  # the main server's log
        "<VirtualHost *>\nServerName own.test\nErrorLog own_err\n</VirtualHost>\n"
        "<VirtualHost *>\nServerName own2.test\nErrorLog own_err\n</VirtualHost>\n"
        "<VirtualHost *>\nServerName debug.test\nLogLevel debug\n</VirtualHost>\n",
    ).config
    same, own, own2, debug = config.vhosts
    log = open_error_log(config)
    try:
        assert log.for_server(config.main) is log and log.for_server(same) is log
        assert log.for_server(own).path == str(tmp_path / "own_err")
        assert log.for_server(own2).fd == log.for_server(own).fd  # one descriptor per file
        assert log.for_server(debug).fd == log.fd and log.for_server(debug).level == DEBUG
        assert log.level == INFO
        log.for_server(own2).log(INFO, "MP99999: own2's line")
        log.for_server(debug).log(DEBUG, "MP99998: debug's line")
        log.log(DEBUG, "MP99997: below the main server's level")
        assert "MP99999: own2's line" in (tmp_path / "own_err").read_text()
        assert "MP99998" in (tmp_path / "main_err").read_text()
        assert "MP99997" not in (tmp_path / "main_err").read_text()
    finally:
        log.close()
    for fd in (log.fd, log.for_server(own).fd):
        with pytest.raises(OSError):
            os.fstat(fd)  # closed


def test_a_vhost_takes_what_it_does_not_set_from_the_main_server_wherever_that_is_set(
    tmp_path: Path,
) -> None:
    from mpmd.log.levels import DEBUG, ERROR, INFO

    (tmp_path / "docs").mkdir()
    config = load(
        tmp_path,
        "Timeout 30\n"
        "<VirtualHost *>\nServerName a.test\nKeepAliveTimeout 9\nLogLevel mime:debug\n"
        "</VirtualHost>\n"
        "<VirtualHost *>\nServerName b.test\nLogLevel error\n</VirtualHost>\n"
        # the main server's settings after the sections: httpd merges once the file is read
        "KeepAliveTimeout 2\nTimeout 45\nDocumentRoot docs\nLogLevel info core:debug\n"
        "ErrorLog main_err\n",
    ).config
    main, (a, b) = config.main, config.vhosts
    assert (a.timeout, a.keep_alive_timeout, b.keep_alive_timeout) == (45, 9, 2)
    assert a.document_root == b.document_root == main.document_root == str(tmp_path / "docs")
    assert a.error_log == b.error_log == str(tmp_path / "main_err")
    # a module's level alone keeps the main server's level; a level of its own replaces it
    assert (a.log_level, b.log_level) == (INFO, ERROR)
    assert a.module_log_levels == {"core_module": DEBUG, "mime_module": DEBUG}
    assert b.module_log_levels == {"core_module": DEBUG}
