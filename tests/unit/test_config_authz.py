"""Require and its containers (mod_authz_core), the ip and local providers (mod_authz_host)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from mpmd.config.server import Config
from mpmd.http.errors import HttpError
from mpmd.modules.authz_core import AuthzCoreModule, AuthzDir, Result
from tests.unit.confkit import fail, load


def request(ip: str = "192.0.2.1", method: str = "GET", local_ip: str = "198.51.100.1") -> Any:
    logged: list[str] = []
    return SimpleNamespace(
        conn=SimpleNamespace(client_ip=ip, local_ip=local_ip),
        method=method,
        env={},
        filename=None,
        uri="/x",
        logged=logged,
        log=lambda level, message, module=None: logged.append(message),
    )


def location(body: str, path: str = "/x") -> str:
    return f"<Location {path}>\n{body}\n</Location>\n"


def config(tmp_path: Path, text: str) -> Config:
    return load(tmp_path, text).config


def authz_for(cfg: Config, uri: str = "/x") -> AuthzDir:
    conf: AuthzDir = cfg.main.dir_config_for(None, uri)["authz_core_module"]
    return conf


def verdict(cfg: Config, uri: str = "/x", **req: str) -> Result | None:
    tree = authz_for(cfg, uri).tree
    return None if tree is None else tree.evaluate(request(**req))


def granted(tmp_path: Path, body: str, **req: str) -> bool:
    return verdict(config(tmp_path, location(body)), **req) is Result.GRANTED


# -- providers ----------------------------------------------------------------------------------


def test_require_all_granted_and_denied(tmp_path: Path) -> None:
    assert granted(tmp_path, "Require all granted")
    assert not granted(tmp_path, "Require all denied")


@pytest.mark.parametrize(
    ("spec", "inside", "outside"),
    [
        ("192.0.2.7", "192.0.2.7", "192.0.2.8"),
        ("10.1", "10.1.200.3", "10.2.0.1"),
        ("10", "10.255.0.1", "11.0.0.1"),
        ("172.16.0.0/12", "172.31.1.1", "172.32.0.1"),
        ("10.1.0.0/255.255.0.0", "10.1.9.9", "10.2.9.9"),
        ("2001:db8::/32", "2001:db8:1::5", "2001:db9::5"),
        ("::1", "::1", "::2"),
    ],
)
def test_require_ip_accepts_httpds_address_forms(
    tmp_path: Path, spec: str, inside: str, outside: str
) -> None:
    cfg = config(tmp_path, location(f"Require ip {spec}"))
    assert verdict(cfg, ip=inside) is Result.GRANTED
    assert verdict(cfg, ip=outside) is Result.DENIED


def test_require_ip_matches_any_of_several_addresses(tmp_path: Path) -> None:
    cfg = config(tmp_path, location("Require ip 10.0.0.1 192.168"))
    assert verdict(cfg, ip="192.168.3.4") is Result.GRANTED


def test_require_ip_matches_an_ipv4_mapped_ipv6_client(tmp_path: Path) -> None:
    assert granted(tmp_path, "Require ip 192.0.2.0/24", ip="::ffff:192.0.2.9")


def test_require_ip_denies_a_client_that_is_not_an_ip_address(tmp_path: Path) -> None:
    assert not granted(tmp_path, "Require ip 10.0.0.0/8", ip="unix")


@pytest.mark.parametrize("spec", ["10.1.2.300", "300.1", "10.0.0.0/33", "example.com", "1::2::3"])
def test_require_ip_rejects_a_bad_address(tmp_path: Path, spec: str) -> None:
    error = fail(tmp_path, location(f"Require ip 10.0.0.1 {spec}"))
    assert (error.message, error.line) == (f"ip address '{spec}' appears to be invalid", 2)


def test_require_ip_needs_an_address(tmp_path: Path) -> None:
    assert (
        fail(tmp_path, location("Require ip")).message == "Require ip requires at least one address"
    )


@pytest.mark.parametrize("ip", ["127.0.0.1", "127.3.2.1", "::1", "198.51.100.1"])
def test_require_local_grants_loopback_and_the_servers_own_address(tmp_path: Path, ip: str) -> None:
    assert granted(tmp_path, "Require local", ip=ip, local_ip="198.51.100.1")


def test_require_local_denies_other_clients(tmp_path: Path) -> None:
    assert not granted(tmp_path, "Require local", ip="192.0.2.1", local_ip="198.51.100.1")


def test_require_local_takes_no_arguments(tmp_path: Path) -> None:
    assert fail(tmp_path, location("Require local 10.0.0.1")).message == (
        "Require local does not take arguments"
    )


def test_require_method_grants_the_listed_methods(tmp_path: Path) -> None:
    cfg = config(tmp_path, location("Require method get HEAD"))
    assert verdict(cfg, method="GET") is Result.GRANTED
    assert verdict(cfg, method="POST") is Result.DENIED


def test_require_all_needs_granted_or_denied(tmp_path: Path) -> None:
    assert fail(tmp_path, location("Require all maybe")).message == (
        "Require all: use 'granted' or 'denied'"
    )


def test_require_with_an_unknown_provider_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, location("Require valid-user"))
    assert (error.message, error.line) == ("Unknown Authz provider: valid-user", 2)


def test_require_needs_a_provider(tmp_path: Path) -> None:
    assert fail(tmp_path, location("Require")).message == "Require requires at least one argument"
    assert (
        fail(tmp_path, location("Require not")).message == "Require requires at least one argument"
    )


def test_require_is_only_allowed_in_a_per_directory_section(tmp_path: Path) -> None:
    error = fail(tmp_path, "Require all granted\n")
    assert (error.message, error.line) == ("Require not allowed here", 1)


# -- containers and negation ------------------------------------------------------------------


def test_several_require_lines_grant_if_any_does(tmp_path: Path) -> None:
    body = "Require ip 10.0.0.0/8\nRequire ip 192.0.2.0/24"
    assert granted(tmp_path, body, ip="192.0.2.5")
    assert not granted(tmp_path, body, ip="203.0.113.5")


def test_require_all_container_needs_every_condition(tmp_path: Path) -> None:
    body = "<RequireAll>\nRequire ip 10.0.0.0/8\nRequire method GET\n</RequireAll>"
    assert granted(tmp_path, body, ip="10.1.1.1", method="GET")
    assert not granted(tmp_path, body, ip="10.1.1.1", method="POST")


def test_require_not_inside_require_all_excludes(tmp_path: Path) -> None:
    body = "<RequireAll>\nRequire all granted\nRequire not ip 10.0.0.0/8\n</RequireAll>"
    assert granted(tmp_path, body, ip="192.0.2.1")
    assert not granted(tmp_path, body, ip="10.0.0.1")


def test_require_none_denies_when_any_condition_holds(tmp_path: Path) -> None:
    body = (
        "<RequireAll>\nRequire all granted\n"
        "<RequireNone>\nRequire ip 10.0.0.0/8\nRequire method DELETE\n</RequireNone>\n"
        "</RequireAll>"
    )
    assert granted(tmp_path, body, ip="192.0.2.1", method="GET")
    assert not granted(tmp_path, body, ip="192.0.2.1", method="DELETE")
    assert not granted(tmp_path, body, ip="10.0.0.1", method="GET")


def test_containers_nest(tmp_path: Path) -> None:
    body = (
        "<RequireAny>\nRequire ip 10.0.0.0/8\n"
        "<RequireAll>\nRequire ip 192.0.2.0/24\nRequire method GET\n</RequireAll>\n"
        "</RequireAny>"
    )
    assert granted(tmp_path, body, ip="10.9.9.9", method="POST")
    assert granted(tmp_path, body, ip="192.0.2.9", method="GET")
    assert not granted(tmp_path, body, ip="192.0.2.9", method="POST")


def test_a_negative_require_directly_in_a_section_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, location("Require all granted\nRequire not ip 10.0.0.1"))
    assert (error.message, error.line) == (
        "AH01638: negative Require directive has no effect in <RequireAny> directive",
        3,
    )


def test_a_negative_require_inside_require_any_is_an_error(tmp_path: Path) -> None:
    body = "<RequireAny>\nRequire not ip 10.0.0.1\n</RequireAny>"
    error = fail(tmp_path, location(body))
    assert (error.message, error.line) == (
        "AH01638: negative Require directive has no effect in <RequireAny> directive",
        3,
    )


def test_require_none_directly_in_a_section_is_an_error(tmp_path: Path) -> None:
    error = fail(tmp_path, location("<RequireNone>\nRequire ip 10.0.0.1\n</RequireNone>"))
    assert (error.message, error.line) == (
        "AH01638: negative <RequireNone> directive has no effect in <RequireAny> directive",
        2,
    )


@pytest.mark.parametrize("kind", ["RequireAll", "RequireAny", "RequireNone"])
def test_an_empty_container_is_an_error(tmp_path: Path, kind: str) -> None:
    error = fail(
        tmp_path, location(f"<RequireAll>\nRequire all granted\n<{kind}>\n</{kind}>\n</RequireAll>")
    )
    assert (error.message, error.line) == (
        f"AH01637: <{kind}> directive contains no authorization directives",
        4,
    )


def test_a_container_takes_no_argument(tmp_path: Path) -> None:
    error = fail(tmp_path, location("<RequireAll x>\nRequire all granted\n</RequireAll>"))
    assert (error.message, error.line) == ("<RequireAll> does not take an argument", 2)


def test_a_container_is_only_allowed_in_a_per_directory_section(tmp_path: Path) -> None:
    error = fail(tmp_path, "<RequireAll>\nRequire all granted\n</RequireAll>\n")
    assert error.message == "<RequireAll not allowed here"


# -- merging -------------------------------------------------------------------------------------


def test_a_section_without_require_inherits_its_parents(tmp_path: Path) -> None:
    cfg = config(
        tmp_path, location("Require ip 10.0.0.0/8", "/") + location("Options None", "/app")
    )
    assert verdict(cfg, "/app/x", ip="10.0.0.1") is Result.GRANTED
    assert verdict(cfg, "/app/x", ip="192.0.2.1") is Result.DENIED


def test_by_default_a_later_section_replaces_the_earlier_require(tmp_path: Path) -> None:
    cfg = config(
        tmp_path, location("Require all denied", "/") + location("Require all granted", "/app")
    )
    assert verdict(cfg, "/app/x") is Result.GRANTED
    assert verdict(cfg, "/other") is Result.DENIED


def test_auth_merging_and_needs_both_sections(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        location("Require ip 10.0.0.0/8", "/")
        + location("AuthMerging And\nRequire method GET", "/app"),
    )
    assert verdict(cfg, "/app/x", ip="10.0.0.1", method="GET") is Result.GRANTED
    assert verdict(cfg, "/app/x", ip="10.0.0.1", method="POST") is Result.DENIED
    assert verdict(cfg, "/app/x", ip="192.0.2.1", method="GET") is Result.DENIED


def test_auth_merging_or_needs_either_section(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        location("Require ip 10.0.0.0/8", "/")
        + location("AuthMerging Or\nRequire method GET", "/app"),
    )
    assert verdict(cfg, "/app/x", ip="192.0.2.1", method="GET") is Result.GRANTED
    assert verdict(cfg, "/app/x", ip="10.0.0.1", method="POST") is Result.GRANTED
    assert verdict(cfg, "/app/x", ip="192.0.2.1", method="POST") is Result.DENIED


def test_auth_merging_rejects_other_words(tmp_path: Path) -> None:
    error = fail(tmp_path, location("AuthMerging Both"))
    assert (error.message, error.line) == ("AuthMerging must be one of: Off, And, Or", 2)


def test_no_require_anywhere_grants_everything(tmp_path: Path) -> None:
    assert verdict(config(tmp_path, location("Options None"))) is None


# -- the access check ----------------------------------------------------------------------------


def access_request(cfg: Config, uri: str, ip: str) -> Any:
    req = request(ip=ip)
    req.dir = cfg.main.dir_config_for(None, uri)
    req.uri = uri
    return req


def test_a_denied_request_is_a_403_with_AH01630_logged(tmp_path: Path) -> None:
    req = access_request(config(tmp_path, location("Require ip 10.0.0.0/8")), "/x", "192.0.2.1")
    with pytest.raises(HttpError) as info:
        AuthzCoreModule().access_checker(req)
    assert info.value.status == 403
    assert req.logged == ["AH01630: client denied by server configuration: /x"]


def test_a_granted_request_passes_the_access_check(tmp_path: Path) -> None:
    req = access_request(config(tmp_path, location("Require ip 10.0.0.0/8")), "/x", "10.0.0.1")
    assert AuthzCoreModule().access_checker(req) is None
    assert req.logged == []
