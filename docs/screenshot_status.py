"""Take docs/status.png and docs/status-live.png: /server-status of a real mpmd under load.

    .venv/bin/python docs/screenshot_status.py [--seconds 170] [--out docs]

It starts mpmd (the prefork MPM, a parent and its children) on a free port
of 127.0.0.1 from a configuration in a temporary directory, drives it with a
bounded load that changes four times (a few fast clients; many, with slow
requests, so the pool grows; fast again; quiet; a burst at the very end),
and keeps one headless Chromium page open on /server-status the whole time,
so the live charts fill with real polls. Near the end it reloads the page
(the live view keeps its samples in localStorage), takes the whole page
(status.png) and, 12 seconds later, through the burst, the live view
(status-live.png). The
browser is driven over the DevTools protocol on a pipe
(``--remote-debugging-pipe``): no library beyond the standard one. Every
process it starts it stops, by its pid.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WIDTH = 1280

APP = """
import time


def application(environ, start_response):
    query = environ.get("QUERY_STRING", "")
    if query.startswith("sleep="):
        time.sleep(float(query[6:]))
    body = b"Hello, World!\\n"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
"""

CONF = """Listen 127.0.0.1:0
ServerName 127.0.0.1
ErrorLog {root}/error_log
PidFile {root}/mpmd.pid
LoadModule mpm_prefork_module modules/mod_mpm_prefork.so
LoadModule wsgi_module modules/mod_wsgi.so
LoadModule status_module modules/mod_status.so
StartServers 3
MinSpareServers 2
MaxSpareServers 5
MaxRequestWorkers 24
KeepAliveTimeout 2
WSGIScriptAlias /hello {root}/app.wsgi
<Location /server-status>
    SetHandler server-status
    Require local
</Location>
"""


def phases(seconds: float) -> list[tuple[float, int, float, float]]:
    """(start, clients, requests a second per client, share of slow requests) of each phase.

    A quarter of the time each: a few fast clients; many, a third of whose
    requests are slow (the pool grows); fast again; quiet. The last nine
    seconds, between the two screenshots, a burst: the second one shows it.
    """
    q = seconds / 4
    return [
        (0, 3, 40, 0.0),
        (q, 9, 12, 0.35),
        (2 * q, 6, 60, 0.02),
        (3 * q, 2, 15, 0.0),
        (seconds - 9, 8, 40, 0.1),
    ]


def start_server(root: Path) -> tuple[subprocess.Popen[bytes], int]:
    (root / "app.wsgi").write_text(APP)
    conf = root / "mpmd.conf"
    conf.write_text(CONF.format(root=root))
    proc = subprocess.Popen(
        [sys.executable, "-m", "mpmd", "-DFOREGROUND", "-f", str(conf)],
        cwd=root,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    log = root / "error_log"
    while time.monotonic() < deadline:
        found = re.search(
            r"serving on http://127\.0\.0\.1:(\d+)/", log.read_text() if log.exists() else ""
        )
        if found:
            return proc, int(found.group(1))
        if proc.poll() is not None:
            raise SystemExit(f"mpmd exited with {proc.returncode}: see {log}")
        time.sleep(0.1)
    stop(proc)
    raise SystemExit("mpmd did not start in 30 s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


class Load:
    """Clients that follow PHASES until ``seconds`` have passed; every request bounded in time."""

    def __init__(self, port: int, seconds: float) -> None:
        self.port = port
        self.start = time.monotonic()
        self.end = self.start + seconds
        self.sent = 0
        self.errors = 0
        self.lock = threading.Lock()
        self.threads: list[threading.Thread] = []

    def run(self) -> None:
        schedule = phases(self.end - self.start)
        for begin, clients, rate, slow in schedule:
            finish = next((b for b, *_ in schedule if b > begin), None)
            until = self.end if finish is None else min(self.end, self.start + finish)
            for _ in range(clients):
                t = threading.Thread(
                    target=self.client, args=(self.start + begin, until, rate, slow), daemon=True
                )
                t.start()
                self.threads.append(t)

    def client(self, begin: float, until: float, rate: float, slow: float) -> None:
        time.sleep(max(0.0, begin - time.monotonic()))
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        n = 0
        while time.monotonic() < until:
            n += 1
            path = (
                f"/hello?sleep={random.uniform(0.1, 0.4):.2f}"
                if random.random() < slow
                else "/hello"
            )
            headers = {"Connection": "close"} if n % 8 == 0 else {}
            try:
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                if resp.will_close:
                    conn.close()
                with self.lock:
                    self.sent += 1
            except (OSError, http.client.HTTPException):
                conn.close()
                with self.lock:
                    self.errors += 1
            time.sleep(random.expovariate(rate))
        conn.close()

    def join(self) -> None:
        for t in self.threads:
            t.join(timeout=max(1.0, self.end - time.monotonic() + 15))


class Browser:
    """One headless Chromium, driven over the DevTools protocol on fds 3 and 4."""

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        exe = shutil.which("chromium") or shutil.which("chromium-browser") or "chromium"

        def pipes() -> None:  # in the child, before exec: the protocol's fds 3 and 4
            # out of the way first: either pipe end may itself be fd 3 or 4
            reader = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            writer = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(reader, 3)
            os.dup2(writer, 4)

        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "--no-first-run",
             f"--window-size={WIDTH},900", "about:blank"],
            preexec_fn=pipes,  # before any thread of ours starts
            close_fds=False,  # keep 3 and 4; our other fds are close-on-exec anyway
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.session = ""

    def call(self, method: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                reply = json.loads(raw)
                if reply.get("id") == self._id:
                    if "error" in reply:
                        raise RuntimeError(f"{method}: {reply['error']}")
                    return reply.get("result", {})
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("chromium closed the DevTools pipe")
            self._buffer += chunk
        raise TimeoutError(method)

    def open(self, url: str, height: int) -> None:
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        self.call("Page.enable")
        self.call("Page.navigate", {"url": url})

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def screenshot(self, path: Path, height: float) -> None:
        shot = self.call(
            "Page.captureScreenshot",
            {
                "format": "png",
                "captureBeyondViewport": True,
                "clip": {"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1},
            },
        )
        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.call("Browser.close", timeout=5)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        os.close(self._to_chrome)
        os.close(self._from_chrome)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=170, help="how long the load runs")
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="where the PNGs go")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mpmd-shots-") as tmp:
        root = Path(tmp)
        server, port = start_server(root)
        browser = None
        try:
            browser = Browser(root / "profile")
            load = Load(port, args.seconds)
            browser.open(f"http://127.0.0.1:{port}/server-status", height=900)
            load.run()
            time.sleep(max(0.0, args.seconds - 18))
            # a reload shows mod_status's part as it is now; the live view keeps its
            # samples (localStorage) and goes on from them
            browser.call("Page.reload")
            time.sleep(4)
            height = browser.evaluate("document.documentElement.scrollHeight") or 1600
            browser.screenshot(args.out / "status.png", min(height, 2400))
            time.sleep(12)  # the charts move on, through the last burst
            live = browser.evaluate(
                "document.getElementById('live').getBoundingClientRect().bottom + 12"
            )
            browser.screenshot(args.out / "status-live.png", live or 700)
            load.join()
            print(f"{load.sent} requests sent ({load.errors} failed); "
                  f"wrote {args.out / 'status.png'} and {args.out / 'status-live.png'}")  # fmt: skip
        finally:
            if browser is not None:
                browser.close()
            stop(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
