"""The first things a new user does: start the embedded default, fetch / and /hello."""

from __future__ import annotations

import http.client

from tests.serverproc import run_server


def test_embedded_default_serves_welcome_page_and_demo_app(tmp_path):
    with run_server(tmp_path, embedded=True, env={"PORT": "0"}) as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.request("GET", "/hello?name=mpmd")
        resp = conn.getresponse()
        assert resp.status == 200
        assert resp.read() == b"Hello, mpmd!\n"
        assert resp.getheader("Server", "").startswith("mpmd/")
