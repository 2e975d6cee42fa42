"""Starting the real server for a test, as users do, on 127.0.0.1 and a free port."""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Running:
    def __init__(self, *args: str, scheme: str = "http", context: ssl.SSLContext | None = None, log=None):
        self.port = free_port()
        self.base = f"{scheme}://127.0.0.1:{self.port}"
        self.context = context
        cmd = [sys.executable, "-m", "mock_server", "run", "--port", str(self.port), *args]
        # Its own process group: the server's worker is a child process, which a kill of the
        # parent alone would leave running.
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=log or subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.proc.stderr.read().decode())
            try:
                self.request("GET", "/_mock/health")
                return
            except (OSError, ssl.SSLError):
                time.sleep(0.05)
        self.kill()
        raise RuntimeError("server did not answer")

    def request(self, method: str, path: str, body=None, headers: dict | None = None, **params):
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = json.dumps(body).encode() if body is not None else (b"" if method != "GET" else None)
        req = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(req, timeout=10, context=self.context) as resp:
                return resp.status, json.loads(resp.read() or b"null")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"null")

    def api(self, method: str, name: str, token: str | None = None, **params):
        from mock_server.api.declare import paths

        path = paths().get(name) or f"/v2/binding/enduserapi/{name}"
        return self.request(method, path, headers={"Authorization": token} if token else {}, **params)[1]

    def stop(self) -> int:
        self.proc.terminate()
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # stuck: never leave it running after the test
            self.kill()
            raise

    def kill(self) -> None:
        """No clean shutdown: the whole process group dies at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=20)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mock_server", *args], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
