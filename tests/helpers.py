"""What the tests share: the simulated API in-process (`Api`, `app_with`), its constants, and the
real server started as users start it (`Running`), on 127.0.0.1 and a port it picks itself."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BINDING = "/v2/binding/enduserapi/"
ENDUSER = "/v2/enduser/enduserapi/"
OWNER, RECIPIENT, SECOND, FAMILY = "owner-token", "recipient-token", "second-token", "family-token"
LAMP = {"pk": "p11u5w", "dk": "LAMP00000001"}
FAR = 4_102_444_800_000  # 2100-01-01, a usage expiry that never passes in a test
ACCEPT_BY = 4_000_000_000_000  # 2096: an accept window that never closes, before FAR


def banner_port(proc: subprocess.Popen, out, timeout: float = 30) -> int:
    """The port a server started with `--port 0` listens on, from the first line it prints to
    the file `out`: `Quectel sharing simulator: http://127.0.0.1:PORT ...`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        first = _head(out).decode(errors="replace").partition("\n")
        if first[1]:
            found = re.search(r"://[^\s/]+:(\d+)", first[0])
            if found:
                return int(found.group(1))
            break
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    proc.kill()
    raise RuntimeError("server did not start: " + proc.stderr.read().decode())


def _head(out) -> bytes:
    """The first bytes written to `out`, which a test may have opened for writing only."""
    if isinstance(getattr(out, "name", None), str):
        with open(out.name, "rb") as again:
            return again.read(4096)
    return os.pread(out.fileno(), 4096, 0)


def read_to_end(sock: socket.socket) -> bytes:
    """Everything the server sends on `sock` until it closes (or the socket's timeout)."""
    chunks = []
    try:
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    except (TimeoutError, ConnectionResetError):
        pass
    return b"".join(chunks)


def free_port() -> int:
    """A port free now, for the tests that must name one before a server starts (a busy port,
    the CLI's own --port): others let the server pick (`Running`)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Running:
    """The real server on a port it picks itself (`--port 0`, read back from its banner), so
    that no two servers ever race for a port found free a moment before."""

    def __init__(self, *args: str, scheme: str = "http", context: ssl.SSLContext | None = None, log=None):
        self.context = context
        cmd = [sys.executable, "-m", "mock_server", "run", "--port", "0", *args]
        # Its own process group, so that kill() takes whatever it started too.
        # Standard output goes to a file (the test's, or a temporary one), never filling a pipe.
        self.out = log if log is not None else tempfile.TemporaryFile()  # noqa: SIM115 - lives with the server
        self.proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=self.out, stderr=subprocess.PIPE, start_new_session=True
        )
        try:
            self.port = banner_port(self.proc, self.out)
        except BaseException:  # whatever went wrong, no server is left behind
            with contextlib.suppress(ProcessLookupError):
                self.kill()
            raise
        self.base = f"{scheme}://127.0.0.1:{self.port}"
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


# ---- the simulated API in-process --------------------------------------------------------------


class Api:
    """Calls the simulated API and returns the decoded envelope."""

    def __init__(self, client):
        self.client = client
        self.last = None

    def call(self, method: str, path: str, token: str | None = None, via: str = "query", **params):
        headers = {"Authorization": token} if token is not None else {}
        path = path if path.startswith("/") else _path(path)
        kwargs = {"query_string": params} if via == "query" else {}
        if via == "form":
            kwargs = {"data": params}
        elif via == "json":
            kwargs = {"json": params}
        self.last = self.client.open(path, method=method, headers=headers, **kwargs)
        return self.last.get_json()

    def get(self, path, token=None, **params):
        return self.call("GET", path, token, **params)

    def post(self, path, token=None, **params):
        return self.call("POST", path, token, **params)

    def put(self, path, token=None, **params):
        return self.call("PUT", path, token, **params)

    def delete(self, path, token=None, **params):
        return self.call("DELETE", path, token, **params)

    # ---- the sharing flow in one line each -------------------------------------------------

    def share(self, token=OWNER, device=None, accepting=ACCEPT_BY, **params) -> str:
        body = self.post("shareInfo", token, **(device or LAMP), acceptingExpireAt=accepting, **params)
        assert body["code"] == 200, body
        return body["data"]

    def accept(self, code: str, token=RECIPIENT, **params) -> dict:
        return self.post("shareDevice", token, shareCode=code, **params)

    def devices(self, token=RECIPIENT, **params) -> list[dict]:
        body = self.get("userDeviceList", token, pageSize=100, **params)
        assert body["code"] == 200, body
        return body["data"]["list"]


def _path(name: str) -> str:
    """A declared endpoint's path by its name; an undeclared name (one a rule stubs) lives
    beside the binding endpoints."""
    from mock_server.api.declare import paths

    return paths().get(name) or BINDING + name


def codes_of(world, code: str) -> tuple[int, int | None]:
    share = world.shares[code]
    return int(share.status), None if share.failure_cause is None else int(share.failure_cause)


def app_with(spec: dict | str | None = None, **config):
    """An app whose server scenario is the default world extended by `spec` (or a library name)."""
    from mock_server.app import create_app
    from mock_server.harness.scenario import Scenario

    if isinstance(spec, str):
        scenario = Scenario.load(spec)
    else:
        scenario = Scenario.from_spec({"extends": "default", **(spec or {})}, "test.yaml")
    return create_app(config, scenario=scenario)


def api_with(spec: dict | str | None = None, **config) -> Api:
    return Api(app_with(spec, **config).test_client())
