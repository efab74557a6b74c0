"""reqtimeout_module: RequestReadTimeout, the defence against slow clients.

Defaults, as httpd's when the module is loaded: ``header=20-40,MinRate=500
body=20,MinRate=500`` -- 20 s to send the head, extended by 1 s per 500 bytes
received up to 40 s; 20 s for the body, extended the same way without a cap.
A timeout answers 408. ``0`` disables a stage (then ``Timeout`` applies).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mpmd.config.registry import SERVER_VHOST, Module, Syntax, directive

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config

Stage = tuple[float, float, float]  # initial, maximum (0: none), MinRate bytes/s (0: none)
DEFAULTS: dict[str, Stage] = {"header": (20.0, 40.0, 500.0), "body": (20.0, 0.0, 500.0)}


@directive(
    "RequestReadTimeout",
    Syntax.ITERATE,
    SERVER_VHOST,
    "Set various timeout parameters for reading request headers and body",
    "header=20-40,MinRate=500 body=20,MinRate=500",
)
def _request_read_timeout(cmd: Cmd, *args: str) -> None:
    conf: dict[str, Stage | None] = cmd.server_conf("reqtimeout_module")
    for arg in args:
        key, eq, value = arg.partition("=")
        if not eq:
            raise cmd.error(
                "Invalid RequestReadTimeout parameter. Parameter must be in the form 'key=value'"
            )
        try:
            stage = parse_stage(key.lower(), value)
        except ValueError as e:
            raise cmd.error(f"RequestReadTimeout: {key}={value}: {e}") from None
        if key.lower() == "handshake":
            continue  # no TLS yet: nothing to time
        conf[key.lower()] = None if stage[0] == 0 else stage


def parse_stage(key: str, value: str) -> Stage:
    """One ``key=value`` of RequestReadTimeout, with mod_reqtimeout's messages."""
    if key not in ("handshake", "header", "body"):
        raise ValueError("Unknown RequestReadTimeout parameter")
    maximum = rate = 0
    initial_text, found, rate_text = value.lower().partition(",minrate=")
    if found:
        rate = _non_negative(rate_text)
        if rate == 0:
            raise ValueError("Minimum data rate must be larger than 0")
        initial_text, dash, max_text = initial_text.partition("-")
        if dash:
            maximum = _non_negative(max_text)
    elif "-" in value:
        raise ValueError("Must set MinRate option if using timeout range")
    initial = _non_negative(initial_text)
    if maximum and initial >= maximum:
        raise ValueError("Maximum timeout must be larger than initial timeout")
    return float(initial), float(maximum), float(rate)


def _non_negative(text: str) -> int:
    digits = len(text) - len(text.lstrip("0123456789"))
    if digits == 0:
        raise ValueError(f"Value '{text}' not numerical")
    if digits < len(text):
        raise ValueError(f"Cannot parse '{text[digits:]}'")
    return int(text)


class ReqTimeoutModule(Module):
    name = "reqtimeout_module"
    source = "mod_reqtimeout.c"
    directives = (_request_read_timeout,)

    def create_server_config(self) -> dict[str, Stage | None]:
        return {}  # only the stages RequestReadTimeout set here

    def post_config(self, config: Config) -> None:
        # a stage a virtual host does not set is the main server's (httpd's merge_reqtimeout_config)
        main_conf = {**DEFAULTS, **config.main.module_conf[self.name]}
        for server in [config.main, *config.vhosts]:
            conf = {**main_conf, **(server.module_conf.get(self.name) or {})}
            server.header_read_timeout = conf["header"]
            server.body_read_timeout = conf["body"]
