"""core_module's sections: <Directory>, <Location>, <Files> and their Match forms,
<VirtualHost>, and the conditional ones (<IfDefine>, <IfModule>, <IfFile>, <IfDirective>).

What this owns: turning a section into a ``Section`` (or a virtual host's
``ServerConfig``) and walking its body in the right context; the
conditionals decide whether a body is read at all. The directives inside are
applied by the loader; nothing here knows what they mean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from mpmd.config.parser import Node, split_args
from mpmd.config.registry import (
    ANYWHERE,
    SERVER_ONLY,
    SERVER_VHOST,
    Ctx,
    Directive,
    Syntax,
    directive,
)
from mpmd.config.server import Section

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd


def parse_host_port(cmd: Cmd, address: str) -> tuple[str, int]:
    host, port_text = "", address
    if address.startswith("["):
        inner, _, rest = address[1:].partition("]")
        host, port_text = inner, rest[1:] if rest.startswith(":") else ""
    elif ":" in address:
        host, _, port_text = address.rpartition(":")
    elif not address.isdigit():
        host, port_text = address, ""  # a host name alone, as apr_parse_addr_port
    if not port_text:
        raise cmd.error("Port must be specified")
    return ("" if host == "*" else host), port_number(cmd, port_text)


def port_number(cmd: Cmd, text: str) -> int:
    """An address's port, 0-65535, or httpd's error."""
    if not (text.isascii() and text.isdigit()) or int(text) > 65535:
        raise cmd.error("Invalid address or port")
    return int(text)


def _strip_section_args(cmd: Cmd, name: str, text: str) -> list[str]:
    args = split_args(text)
    if not args:
        raise cmd.error(f"<{name}> directive requires additional arguments")
    return args


def _per_dir_section(kind: str, name: str, regex_form: bool) -> Any:
    def apply(cmd: Cmd, text: str, children: list[Node]) -> None:
        if cmd.context & Ctx.DIRECTORY and not (
            kind == "files" and cmd.section is not None and cmd.section.kind == "directory"
        ):
            raise cmd.error(f"<{name}> cannot occur within <{cmd.section_kind}> section")
        args = _strip_section_args(cmd, name, text)
        pattern = args[-1]
        is_regex = regex_form or (len(args) == 2 and args[0] == "~")
        if len(args) > 2 or (len(args) == 2 and args[0] != "~"):
            raise cmd.error(f"<{name}> takes one argument, or '~' and a regular expression")
        regex = None
        if is_regex:
            try:
                regex = re.compile(pattern)
            except re.error as e:
                raise cmd.error(f"Regex could not be compiled: {e}") from None
        elif kind == "directory":
            pattern = cmd.path(pattern) if pattern != "/" else "/"
        section = Section(
            kind, pattern, regex, cmd.server.new_dir_conf(), cmd.node.file, cmd.node.line
        )
        if cmd.section is not None and kind == "files":
            # <Files> inside <Directory>: applies to that directory only, as a nested regex on the path
            outer = cmd.section
            section = Section(
                "directory", outer.pattern, outer.regex, section.dir, section.file, section.line
            )
            section = _files_within(section, pattern, regex)
        cmd.server.sections.append(section)
        cmd.walk(children, section=section, context=Ctx.DIRECTORY, section_kind=name)

    return apply


def _files_within(section: Section, pattern: str, regex: re.Pattern[str] | None) -> Section:
    """<Files> nested in <Directory>: a <Files> that also requires the directory."""
    from fnmatch import translate

    directory = section.pattern.rstrip("/")
    file_re = regex.pattern if regex is not None else translate(pattern).removesuffix(r"\Z")
    full = re.compile("^" + re.escape(directory) + "/(?:.*/)?(?:" + file_re + ")$")
    return replace(section, kind="files_path", pattern=section.pattern, regex=full)


def _register_sections() -> tuple[Any, ...]:
    out = []
    for name, kind, regex in (
        ("Directory", "directory", False),
        ("DirectoryMatch", "directory", True),
        ("Files", "files", False),
        ("FilesMatch", "files", True),
        ("Location", "location", False),
        ("LocationMatch", "location", True),
    ):
        ctx = ANYWHERE if kind == "files" else SERVER_VHOST
        doc = {
            "directory": "Container for directives affecting resources located in the specified directories",
            "files": "Container for directives affecting files matching specified patterns",
            "location": "Container for directives affecting resources accessed through the specified URL paths",
        }[kind]
        out.append(
            directive("<" + name, Syntax.RAW_ARGS, ctx, doc, section=True)(
                _per_dir_section(kind, name, regex)
            )
        )
    return tuple(out)


@directive(
    "<VirtualHost",
    Syntax.RAW_ARGS,
    SERVER_ONLY,
    "Container to map directives to a particular virtual host, takes one or more host addresses",
    section=True,
)
def _virtual_host(cmd: Cmd, text: str, children: list[Node]) -> None:
    from mpmd.config.server import ServerConfig
    from mpmd.config.vhosts import resolve, vhost_address

    addrs = split_args(text)
    if not addrs:
        raise cmd.error("<VirtualHost> directive requires additional arguments")
    bound: list[tuple[str, int]] = []
    for a in addrs:
        host, port_text = vhost_address(a)
        port = port_number(cmd, port_text)
        ips = resolve(host)
        if not ips:
            cmd.warn(f"AH00547: Could not resolve host name {host} -- ignoring!")
        bound.extend((ip, port) for ip in ips)
    vhost = ServerConfig(
        cmd.config.modules,
        is_virtual=True,
        addrs=addrs,
        vhost_addresses=bound,
        defined_in=cmd.node.file,
        defined_line=cmd.node.line,
    )
    cmd.config.vhosts.append(vhost)
    cmd.walk(children, server=vhost, context=Ctx.VHOST, section_kind="VirtualHost")


def _negatable(text: str) -> tuple[bool, str]:
    text = text.strip()
    if text.startswith("!"):
        return True, text[1:].strip()
    return False, text


def module_is_loaded(cmd: Cmd, name: str) -> bool:
    """<IfModule> accepts status_module, mod_status.c or mod_status."""
    loaded = cmd.config.modules.by_name
    if name in loaded:
        return True
    base = name.removesuffix(".c").removeprefix("mod_")
    return base + "_module" in loaded or any(m.source == name for m in loaded.values())


def _conditional(name: str, doc: str, holds: Callable[[Cmd, str], bool]) -> Directive:
    """<IfDefine>, <IfModule>, ...: read the body when ``holds`` (or, with ``!``, when not)."""

    def apply(cmd: Cmd, text: str, children: list[Node]) -> None:
        negate, arg = _negatable(text)
        if not arg:
            raise cmd.error(f"<{name}> directive requires additional arguments")
        if holds(cmd, arg) != negate:
            cmd.loader.walk(children, cmd)

    return directive("<" + name, Syntax.RAW_ARGS, ANYWHERE, doc, section=True)(apply)


_if_define = _conditional(
    "IfDefine",
    "Container for directives based on existence of command line defines",
    lambda cmd, name: name in cmd.config.defines,
)
_if_module = _conditional(
    "IfModule",
    "Container for directives based on existence of specified modules",
    module_is_loaded,
)
_if_file = _conditional(
    "IfFile",
    "Container for directives based on existence of files on disk",
    lambda cmd, name: os.path.exists(cmd.path(split_args(name)[0])),
)
_if_directive = _conditional(
    "IfDirective",
    "Container for directives based on existence of named directive",
    lambda cmd, name: name.lower() in cmd.config.modules.directives,
)


SECTIONS = (
    *_register_sections(),
    _virtual_host,
    _if_define,
    _if_module,
    _if_file,
    _if_directive,
)
