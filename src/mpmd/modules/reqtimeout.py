"""reqtimeout_module: RequestReadTimeout, the defence against slow clients.

Defaults, as httpd's when the module is loaded: ``header=20-40,MinRate=500
body=20,MinRate=500`` -- 20 s to send the head, extended by 1 s per 500 bytes
received up to 40 s; 20 s for the body, extended the same way without a cap.
A timeout answers 408. ``0`` disables a stage (then ``Timeout`` applies).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mpmd.config.registry import SERVER_VHOST, Module, Syntax, directive

if TYPE_CHECKING:
    from mpmd.config.loader import Cmd
    from mpmd.config.server import Config

Stage = tuple[float, float, float]  # initial, maximum (0: none), MinRate bytes/s (0: none)
DEFAULTS: dict[str, Stage] = {"header": (20.0, 40.0, 500.0), "body": (20.0, 0.0, 500.0)}
_ARG = re.compile(r"^(handshake|header|body)=(\d+)(?:-(\d+))?(?:,minrate=(\d+))?$", re.IGNORECASE)


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
        m = _ARG.match(arg)
        if m is None:
            raise cmd.error(f"RequestReadTimeout: unknown timeout argument '{arg}'")
        stage, initial, maximum, rate = m.group(1).lower(), int(m.group(2)), m.group(3), m.group(4)
        if maximum is not None and int(maximum) < initial:
            raise cmd.error("RequestReadTimeout: maximum timeout must be larger than initial timeout")
        if maximum is not None and rate is None:
            raise cmd.error("RequestReadTimeout: Must set MinRate option if using timeout range")
        if stage == "handshake":
            continue  # no TLS yet: nothing to time
        conf[stage] = None if initial == 0 else (float(initial), float(maximum or 0), float(rate or 0))


class ReqTimeoutModule(Module):
    name = "reqtimeout_module"
    source = "mod_reqtimeout.c"
    directives = (_request_read_timeout,)

    def create_server_config(self) -> dict[str, Stage | None]:
        return dict(DEFAULTS)

    def post_config(self, config: Config) -> None:
        main_conf = config.main.module_conf[self.name]
        for server in [config.main, *config.vhosts]:
            conf = server.module_conf.get(self.name) or main_conf
            server.header_read_timeout = conf.get("header")
            server.body_read_timeout = conf.get("body")
