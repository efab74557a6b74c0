"""LoadModule (mod_so) and a loadable built-in's directive (mod_reqtimeout's RequestReadTimeout)."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from mpmd.modules.reqtimeout import DEFAULTS, ReqTimeoutModule
from tests.unit.confkit import Loaded, fail, load

INVALID = "perhaps misspelled or defined by a module not included in the server configuration"
LOAD_REQTIMEOUT = "LoadModule reqtimeout_module modules/mod_reqtimeout.so\n"

EXTENSION = """
from mpmd.config.registry import ANYWHERE, Module, Syntax, directive


@directive("HelloGreeting", Syntax.TAKE1, ANYWHERE, "what to say")
def _greeting(cmd, text):
    cmd.dir["hello_module"]["greeting"] = text


class HelloModule(Module):
    name = "hello_module"
    source = "mod_hello.c"
    directives = (_greeting,)

    def create_dir_config(self):
        return {}


class OtherModule(Module):
    name = "other_module"
"""

_counter = itertools.count()


@pytest.fixture
def extension(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], str]]:
    """``extension(source)`` writes an importable Python module and returns its dotted name."""
    names: list[str] = []
    folder = tmp_path / "pylib"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))

    def write(source: str) -> str:
        name = f"mpmd_test_extension_{next(_counter)}"
        (folder / f"{name}.py").write_text(source)
        names.append(name)
        return name

    yield write
    for name in names:
        sys.modules.pop(name, None)


# -- built-in modules -------------------------------------------------------------------------


def test_a_built_in_name_loads_the_built_in_whatever_the_path(tmp_path: Path) -> None:
    loaded = load(tmp_path, "LoadModule reqtimeout_module /usr/lib/apache2/mod_reqtimeout.so\n")
    module = loaded.config.modules.by_name["reqtimeout_module"]
    assert isinstance(module, ReqTimeoutModule)
    assert "reqtimeout_module" in loaded.config.modules.shared


def test_static_modules_are_loaded_without_load_module(tmp_path: Path) -> None:
    modules = load(tmp_path, "").config.modules
    assert {"core_module", "so_module", "authz_core_module"} <= set(modules.by_name)
    assert "reqtimeout_module" not in modules.by_name
    assert not modules.shared


def test_a_directive_of_a_module_not_loaded_is_an_invalid_command(tmp_path: Path) -> None:
    error = fail(tmp_path, "RequestReadTimeout header=5\n" + LOAD_REQTIMEOUT)
    assert (error.message, error.line) == (f"Invalid command 'RequestReadTimeout', {INVALID}", 1)


def test_a_directive_of_a_loaded_module_is_accepted_after_the_load(tmp_path: Path) -> None:
    loaded = load(tmp_path, LOAD_REQTIMEOUT + "RequestReadTimeout header=5\n")
    assert loaded.main.module_conf["reqtimeout_module"]["header"] == (5.0, 0.0, 0.0)


def test_loading_a_module_twice_warns_AH01574_and_keeps_one(tmp_path: Path) -> None:
    loaded = load(tmp_path, LOAD_REQTIMEOUT + LOAD_REQTIMEOUT)
    assert loaded.warnings == ["AH01574: module reqtimeout_module is already loaded, skipping"]
    names = [m.name for m in loaded.config.modules.modules]
    assert names.count("reqtimeout_module") == 1


def test_loading_a_static_module_warns_AH01575(tmp_path: Path) -> None:
    loaded = load(tmp_path, "LoadModule authz_core_module modules/mod_authz_core.so\n")
    assert loaded.warnings == ["AH01575: module authz_core_module is built-in and can't be loaded"]


def test_modules_are_listed_in_load_order(tmp_path: Path) -> None:
    names = [m.name for m in load(tmp_path, LOAD_REQTIMEOUT).config.modules.modules]
    assert names[0] == "core_module"
    assert names[-1] == "reqtimeout_module"


def test_load_module_takes_two_arguments(tmp_path: Path) -> None:
    assert fail(tmp_path, "LoadModule reqtimeout_module\n").message == (
        "LoadModule takes two arguments, a module name and the name of a shared object file to "
        "load it from"
    )


def test_load_module_cannot_occur_within_a_virtual_host(tmp_path: Path) -> None:
    error = fail(tmp_path, "<VirtualHost *:80>\n" + LOAD_REQTIMEOUT + "</VirtualHost>\n")
    assert (error.message, error.line) == (
        "LoadModule cannot occur within <VirtualHost> section",
        2,
    )


def test_a_module_loaded_after_a_section_gets_its_configuration_there(tmp_path: Path) -> None:
    loaded = load(tmp_path, "<Location /x>\n</Location>\n" + LOAD_REQTIMEOUT)
    assert "reqtimeout_module" in loaded.main.dir_config_for(None, "/x")


# -- third-party modules ---------------------------------------------------------------------


def test_a_third_party_module_loads_by_python_path(
    tmp_path: Path, extension: Callable[[str], str]
) -> None:
    path = extension(EXTENSION)
    loaded = load(
        tmp_path,
        f"LoadModule hello_module {path}\n<Location /x>\nHelloGreeting hi\n</Location>\n",
    )
    assert "hello_module" in loaded.config.modules.shared
    assert loaded.main.dir_config_for(None, "/x")["hello_module"] == {"greeting": "hi"}


def test_a_third_party_module_loads_by_python_path_and_class(
    tmp_path: Path, extension: Callable[[str], str]
) -> None:
    path = extension(EXTENSION)
    loaded = load(tmp_path, f"LoadModule hello_module {path}:HelloModule\n")
    assert type(loaded.config.modules.by_name["hello_module"]).__name__ == "HelloModule"


def test_a_third_party_directive_before_its_load_module_is_invalid(
    tmp_path: Path, extension: Callable[[str], str]
) -> None:
    path = extension(EXTENSION)
    error = fail(tmp_path, f"HelloGreeting hi\nLoadModule hello_module {path}\n")
    assert error.message == f"Invalid command 'HelloGreeting', {INVALID}"


def test_an_unknown_module_with_a_shared_object_path_cannot_load(tmp_path: Path) -> None:
    error = fail(tmp_path, "Timeout 5\nLoadModule foo_module modules/mod_foo.so\n")
    assert (error.message, error.line) == (
        "Cannot load modules/mod_foo.so into server: foo_module is not a built-in module and "
        "modules/mod_foo.so is not a Python module path",
        2,
    )


def test_a_python_path_that_does_not_import_cannot_load(tmp_path: Path) -> None:
    error = fail(tmp_path, "LoadModule foo_module mpmd_no_such_package.mod\n")
    assert error.message == (
        "Cannot load mpmd_no_such_package.mod into server: No module named 'mpmd_no_such_package'"
    )


def test_a_python_module_that_fails_to_import_cannot_load(
    tmp_path: Path, extension: Callable[[str], str]
) -> None:
    path = extension("raise RuntimeError('broken on purpose')\n")
    error = fail(tmp_path, f"LoadModule foo_module {path}\n")
    assert error.message == f"Cannot load {path} into server: broken on purpose"


def test_a_python_module_without_the_named_module_class_cannot_load(
    tmp_path: Path, extension: Callable[[str], str]
) -> None:
    path = extension(EXTENSION)
    error = fail(tmp_path, f"LoadModule foo_module {path}\n")
    assert (
        error.message == f"Can't locate API module structure `foo_module' in file {path}: not found"
    )


def test_a_named_class_must_be_the_named_module(
    tmp_path: Path, extension: Callable[[str], str]
) -> None:
    path = extension(EXTENSION)
    error = fail(tmp_path, f"LoadModule hello_module {path}:OtherModule\n")
    assert error.message.startswith("Can't locate API module structure `hello_module' in file ")


# -- RequestReadTimeout ---------------------------------------------------------------------------


def reqtimeout(tmp_path: Path, args: str) -> Loaded:
    return load(tmp_path, LOAD_REQTIMEOUT + f"RequestReadTimeout {args}\n")


def effective(loaded: Loaded) -> None:
    loaded.config.modules.by_name["reqtimeout_module"].post_config(loaded.config)


def test_request_read_timeout_defaults_are_httpds(tmp_path: Path) -> None:
    loaded = load(tmp_path, LOAD_REQTIMEOUT)
    effective(loaded)
    assert (loaded.main.header_read_timeout, loaded.main.body_read_timeout) == (
        DEFAULTS["header"],
        DEFAULTS["body"],
    )
    assert DEFAULTS == {"header": (20.0, 40.0, 500.0), "body": (20.0, 0.0, 500.0)}


def test_request_read_timeout_sets_a_range_and_a_rate(tmp_path: Path) -> None:
    loaded = reqtimeout(tmp_path, "header=10-30,MinRate=250 body=15")
    effective(loaded)
    assert (loaded.main.header_read_timeout, loaded.main.body_read_timeout) == (
        (10.0, 30.0, 250.0),
        (15.0, 0.0, 0.0),
    )


def test_request_read_timeout_keys_are_case_insensitive(tmp_path: Path) -> None:
    loaded = reqtimeout(tmp_path, "HEADER=5,minrate=100")
    effective(loaded)
    assert loaded.main.header_read_timeout == (5.0, 0.0, 100.0)


def test_request_read_timeout_zero_disables_a_stage(tmp_path: Path) -> None:
    loaded = reqtimeout(tmp_path, "body=0")
    effective(loaded)
    assert (loaded.main.header_read_timeout, loaded.main.body_read_timeout) == (
        DEFAULTS["header"],
        None,
    )


def test_request_read_timeout_accepts_handshake(tmp_path: Path) -> None:
    assert reqtimeout(tmp_path, "handshake=5").warnings == []


def test_a_virtual_host_inherits_the_main_servers_request_read_timeout(tmp_path: Path) -> None:
    loaded = load(
        tmp_path,
        LOAD_REQTIMEOUT + "RequestReadTimeout header=5\n"
        "<VirtualHost *:80>\nRequestReadTimeout body=7\n</VirtualHost>\n"
        "<VirtualHost *:81>\n</VirtualHost>\n",
    )
    effective(loaded)
    own, plain = loaded.config.vhosts
    assert (own.header_read_timeout, own.body_read_timeout) == ((5.0, 0.0, 0.0), (7.0, 0.0, 0.0))
    assert (plain.header_read_timeout, plain.body_read_timeout) == (
        (5.0, 0.0, 0.0),
        DEFAULTS["body"],
    )


def test_request_read_timeout_needs_key_value_pairs(tmp_path: Path) -> None:
    error = fail(tmp_path, LOAD_REQTIMEOUT + "RequestReadTimeout header\n")
    assert (error.message, error.line) == (
        "Invalid RequestReadTimeout parameter. Parameter must be in the form 'key=value'",
        2,
    )


@pytest.mark.parametrize(
    ("arg", "reason"),
    [
        ("request=5", "Unknown RequestReadTimeout parameter"),
        ("header=soon", "Value 'soon' not numerical"),
        ("header=", "Value '' not numerical"),
        ("header=5s", "Cannot parse 's'"),
        ("header=-5", "Must set MinRate option if using timeout range"),
        ("header=10-20", "Must set MinRate option if using timeout range"),
        ("header=20-10,MinRate=500", "Maximum timeout must be larger than initial timeout"),
        ("header=20-20,MinRate=500", "Maximum timeout must be larger than initial timeout"),
        ("body=10,MinRate=0", "Minimum data rate must be larger than 0"),
        ("body=10,MinRate=fast", "Value 'fast' not numerical"),
    ],
)
def test_a_bad_request_read_timeout_names_the_parameter_and_the_reason(
    tmp_path: Path, arg: str, reason: str
) -> None:
    error = fail(tmp_path, LOAD_REQTIMEOUT + f"RequestReadTimeout header=20 {arg}\n")
    assert (error.message, error.line) == (f"RequestReadTimeout: {arg}: {reason}", 2)


def test_request_read_timeout_needs_an_argument(tmp_path: Path) -> None:
    assert fail(tmp_path, LOAD_REQTIMEOUT + "RequestReadTimeout\n").message == (
        "RequestReadTimeout requires at least one argument, "
        "Set various timeout parameters for reading request headers and body"
    )


def test_request_read_timeout_is_not_allowed_in_a_directory(tmp_path: Path) -> None:
    error = fail(
        tmp_path, LOAD_REQTIMEOUT + "<Location />\nRequestReadTimeout body=1\n</Location>\n"
    )
    assert error.message == "RequestReadTimeout not allowed here"


def test_a_second_mpm_is_an_error_naming_both(tmp_path: Path) -> None:
    from mpmd.config.registry import Module

    class OtherMpm(Module):
        name = "mpm_other_module"
        source = "other.c"
        mpm = "other"

    err = fail(
        tmp_path,
        "LoadModule mpm_prefork_module x\nLoadModule mpm_other_module x",
        extra=[OtherMpm],
    )
    assert "More than one MPM loaded (mpm_prefork_module and mpm_other_module)" in err.message
