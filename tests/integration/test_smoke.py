"""The first things a new user does: start the embedded default, fetch / and /hello."""

from __future__ import annotations

import http.client

from tests.serverproc import recv_all, run_server


def test_embedded_default_serves_welcome_page_and_demo_app(tmp_path):
    with run_server(tmp_path, embedded=True, env={"PORT": "0"}) as server:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        try:
            conn.request("GET", "/hello?name=mpmd")
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.read() == b"Hello, mpmd!\n"
            assert resp.getheader("Server", "").startswith("mpmd/")
        finally:
            # an idle keep-alive connection holds a stopping server for its KeepAliveTimeout
            # (5 s), as long as stop_process waits before SIGKILL, which leaves the scoreboard
            # file behind in /dev/shm
            conn.close()


def test_sigterm_during_a_request_lets_it_finish_and_log(tmp_path):
    import signal
    import socket
    import threading
    import time

    apps = tmp_path / "apps"
    apps.mkdir()
    (apps / "slow.py").write_text(
        "import time\n"
        "def application(environ, start_response):\n"
        "    time.sleep(1.0)\n"
        "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
        "    return [b'finished']\n"
    )
    conf = (
        f"LoadModule wsgi_module x\nWSGIPythonPath {apps}\nWSGIApp / slow:application\n"
        f'LogFormat "%r %>s" short\nCustomLog {tmp_path / "access_log"} short'
    )
    with run_server(tmp_path / "srv", conf) as server:
        with socket.create_connection((server.host, server.port), timeout=10) as s:
            s.sendall(b"GET /slow HTTP/1.1\r\nHost: t\r\n\r\n")
            timer = threading.Timer(0.3, server.proc.send_signal, (signal.SIGTERM,))
            timer.start()
            reply = recv_all(s)
            timer.join()
        assert reply.startswith(b"HTTP/1.1 200 OK")
        assert reply.endswith(b"finished")
        assert b"Connection: close" in reply
        server.proc.wait(timeout=10)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (tmp_path / "access_log").exists():
            time.sleep(0.05)
        assert (tmp_path / "access_log").read_text() == "GET /slow HTTP/1.1 200\n"
