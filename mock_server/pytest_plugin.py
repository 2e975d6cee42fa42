"""pytest plugin: the `quectel_mock` fixture, a fresh simulated world for every test.

Registered through the `pytest11` entry point, so installing the package is enough:

    def test_sharing(quectel_mock):
        code = quectel_mock.call("POST", "shareInfo", token="owner-token", pk="p11u5w",
                                 dk="LAMP00000001", acceptingExpireAt=4_000_000_000_000)["data"]
        my_app = MyApp(base_url=quectel_mock.base_url)   # the app under test
        ...
        quectel_mock.assert_called("shareInfo", times=1)

One simulator serves the whole test session (in a thread of the test process, or as a
subprocess with `--quectel-mock-mode=process`); each test gets its own world under
`/s/<name>/`, built from the scenario named by `@pytest.mark.quectel_scenario("name")`
(default: `--quectel-mock-scenario`, itself `default`), and dropped afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import http.client
import itertools
import json as _json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

_counter = itertools.count(1)
_connections = threading.local()  # this thread's kept-alive connection to each simulator
_opened: dict[str, list[http.client.HTTPConnection]] = {}  # every thread's, closed when it stops
_opened_lock = threading.Lock()


def _http(method: str, url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """One request to the simulator, on a connection kept open between calls: a new
    connection (and a server thread) per call was most of a helper call's cost. Straight to
    the simulator, never through an HTTP(S)_PROXY of the environment, as urllib would."""
    parts = urllib.parse.urlsplit(url)
    target = parts.path + ("?" + parts.query if parts.query else "")
    pool = _connections.__dict__.setdefault("by_host", {})
    for attempt in (1, 2):
        conn = pool.get(parts.netloc)
        reused = conn is not None
        if conn is None:
            conn = pool[parts.netloc] = http.client.HTTPConnection(parts.netloc, timeout=60)
            with _opened_lock:
                _opened.setdefault(parts.netloc, []).append(conn)
        try:
            conn.request(method, target, body=body, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, resp.read()
        except (OSError, http.client.HTTPException) as err:
            conn.close()  # never reused after a failure: its state is unknown
            del pool[parts.netloc]
            # A kept connection the server had closed meanwhile fails at once: once more, anew.
            stale = isinstance(err, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError))
            if not (reused and stale) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _close_connections(port: int) -> None:
    """Close the kept connections to a simulator that stops: a server waits for open ones."""
    with _opened_lock:
        kept = _opened.pop(f"127.0.0.1:{port}", [])
    for conn in kept:
        conn.close()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("quectel_mock", "Quectel sharing simulator")
    group.addoption(
        "--quectel-mock-mode",
        choices=("thread", "process"),
        default=None,
        help="run the simulator in a thread of the test process (default) or as a subprocess",
    )
    group.addoption("--quectel-mock-scenario", default=None, help="the scenario of every test's world")
    parser.addini("quectel_mock_mode", "thread or process", default="thread")
    parser.addini("quectel_mock_scenario", "the default scenario of every test's world", default="default")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "quectel_scenario(name): the scenario this test's simulated world starts from")


def _wait_ready(base_url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if _http("GET", base_url + "/_mock/health")[0] == 200:
                return
        time.sleep(0.02)
    raise RuntimeError(f"the simulator did not answer at {base_url}")


class _ThreadServer:
    """The simulator served from a thread of the test process, as `mock-server run` serves it
    (server.InThread: granian, keep-alive connections, the realtime channel on the same port);
    tests make and drop their worlds by calling the simulator, not over HTTP."""

    def __init__(self) -> None:
        from .app import create_app
        from .server import InThread

        app = create_app()
        self.simulator = app.extensions["mock_server"]
        self._serving = InThread(app)
        self.port = self.realtime_port = self._serving.port

    def stop(self) -> None:
        _close_connections(self.port)
        self._serving.stop()


class _ProcessServer:
    simulator = None  # in another process: worlds are made and dropped over HTTP

    def __init__(self) -> None:
        # Port 0: the server binds a free port itself and prints it first, in its banner; its
        # output goes to a file, which nothing has to keep reading.
        self._out = tempfile.TemporaryFile()  # noqa: SIM115 - open as long as the server runs
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "mock_server", "run", "--port", "0"],
            stdout=self._out,
            stderr=subprocess.DEVNULL,
        )
        self.port = self.realtime_port = self._banner_port()

    def _banner_port(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._proc.poll() is None:
            first, newline, _ = os.pread(self._out.fileno(), 4096, 0).decode(errors="replace").partition("\n")
            found = re.search(r"://[^\s/]+:(\d+)", first) if newline else None
            if found:
                return int(found.group(1))
            time.sleep(0.02)
        self._proc.kill()
        raise RuntimeError("the simulator did not start")

    def stop(self) -> None:
        _close_connections(self.port)
        self._proc.terminate()
        self._proc.wait(timeout=10)


class ServerURL(str):
    """The simulator's base URL; `.realtime` is where its realtime channel listens (ws://...)."""

    server: Any
    simulator: Any  # the Simulator when it runs in this process (thread mode), else None

    @property
    def realtime(self) -> str:
        return f"ws://127.0.0.1:{self.server.realtime_port}"


@pytest.fixture(scope="session")
def quectel_mock_server(pytestconfig: pytest.Config) -> Iterator[str]:
    """The base URL of the session's simulator (its default world)."""
    mode = pytestconfig.getoption("quectel_mock_mode") or pytestconfig.getini("quectel_mock_mode")
    server = _ProcessServer() if mode == "process" else _ThreadServer()
    base_url = ServerURL(f"http://127.0.0.1:{server.port}")
    base_url.server, base_url.simulator = server, server.simulator
    try:
        _wait_ready(base_url)
        yield base_url
    finally:
        server.stop()


class QuectelMock:
    """One test's world on the simulator, and helpers to drive and inspect it."""

    def __init__(self, server_url: str, world: str, scenario: str) -> None:
        self.server_url = server_url
        self.world = world
        self.scenario = scenario
        self.base_url = f"{server_url}/s/{world}"
        self._clients: list = []

    @property
    def realtime_url(self) -> str:
        """Where this world's realtime channel listens (its listener starts on first use)."""
        realtime = getattr(self.server_url, "realtime", self.server_url.replace("http", "ws", 1))
        return f"{realtime}/s/{self.world}/ws/v2"

    # ---- HTTP ----------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None, headers: dict | None = None) -> Any:
        data = None if body is None else _json.dumps(body).encode()
        sent = dict(headers or {})
        if data is not None:
            sent["Content-Type"] = "application/json"
        status, payload = _http(method, self.base_url + path, data, sent)
        if status >= 400:
            raise AssertionError(f"{method} {path}: HTTP {status} {payload.decode(errors='replace')}")
        return _json.loads(payload or b"null")

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call the control API of this world: `control("GET", "/state")`."""
        return self._request(method, "/_mock" + path, body)

    def call(self, method: str, endpoint: str, token: str | None = None, json: Any = None, **params: Any) -> dict:
        """Call a simulated endpoint by name (or path) with query parameters, and `json` as the
        body when given (batchControlDevice takes one); the envelope."""
        path = endpoint if endpoint.startswith("/") else _endpoint_path(endpoint)
        query = urllib.parse.urlencode(params)
        headers = {"Authorization": token} if token else {}
        body = b"" if method.upper() != "GET" else None
        if json is not None:
            body = _json.dumps(json).encode()
            headers["Content-Type"] = "application/json"
        return _json.loads(_http(method, f"{self.base_url}{path}?{query}", body, headers)[1] or b"null")

    # ---- helpers -------------------------------------------------------------------------

    def token(self, uid: str) -> str:
        """A fresh access token for `uid`, `Bearer `-prefixed as the service issues it."""
        return self.control("POST", "/tokens", {"uid": uid})["accessToken"]["token"]

    def advance(self, duration: str | int) -> dict:
        """Move this world's clock on: `advance("2h")`, `advance(90_000)` (ms)."""
        return self.control("POST", "/clock", {"advance": duration})

    def clock(self, **change: Any) -> dict:
        """Read the clock, or change it: `clock(set="2030-01-01T00:00:00Z", freeze=True)`."""
        return self.control("POST", "/clock", change) if change else self.control("GET", "/clock")

    def rule(self, spec: dict | None = None, **fields: Any) -> dict:
        """Add a rule (same schema as scenario files): `rule(match={...}, action={...})`."""
        return self.control("POST", "/rules", {**(spec or {}), **fields})

    def journal(self, endpoint: str | None = None, code: int | None = None, kind: str | None = None) -> list[dict]:
        """What this world received, oldest first, optionally by endpoint, code and kind
        ("rest" requests, "mqtt" realtime sessions and messages)."""
        pairs = (("path", endpoint), ("code", code), ("kind", kind))
        query = urllib.parse.urlencode({k: v for k, v in pairs if v is not None})
        return self.control("GET", "/journal" + (f"?{query}" if query else ""))["entries"]

    def assert_called(self, endpoint: str, times: int | None = None, code: int | None = None) -> list[dict]:
        """Assert the app called `endpoint` (exactly `times` times, answered with `code`)."""
        calls = self.journal(endpoint, code)
        wanted = "at least once" if times is None else f"{times} time(s)"
        if (times is None and not calls) or (times is not None and len(calls) != times):
            seen = [f"{e['method']} {e['path']} -> {e['code']}" for e in self.journal()]
            raise AssertionError(
                f"expected {endpoint}{'' if code is None else f' (code {code})'} called {wanted}, "
                f"got {len(calls)}; all calls: {seen}"
            )
        return calls

    def state(self) -> dict:
        return self.control("GET", "/state")

    def set_property(self, pk: str, dk: str, **values: Any) -> dict:
        """The device reports `values` (checked against its thing model); its state after."""
        return self.control("POST", f"/devices/{pk}/{dk}", {"values": values})

    def set_online(self, pk: str, dk: str, online: bool) -> dict:
        """The device connects or disconnects; its state after."""
        return self.control("POST", f"/devices/{pk}/{dk}", {"online": online})

    def device_state(self, pk: str, dk: str) -> dict:
        """One device: values with their times, writes not yet applied, online, version."""
        return self.control("GET", f"/devices/{pk}/{dk}")

    def outbox(self) -> list[dict]:
        """Every SMS and e-mail the cloud sent in this world, newest first."""
        return self.control("GET", "/outbox")["messages"]

    def last_code(self, to: str) -> str:
        """The newest verification code sent to `to` (a phone number or an e-mail address), as
        a user would read it off their phone: `register(..., smsCode=mock.last_code(phone))`."""
        wanted = to.strip().lower().lstrip("+")
        for message in self.outbox():
            if message["to"].lower() == wanted:
                return message["code"]
        raise AssertionError(f"no code was sent to {to}; outbox: {[m['to'] for m in self.outbox()]}")

    def put_in_stock(self, pk: str, dk: str, **device: Any) -> dict:
        """A new device bound to nobody (`sn=`, `bindingCode=`, `name=`, `online=`), for a user to bind."""
        return self.control("POST", "/stock", {"pk": pk, "dk": dk, **device})

    def reset(self, scenario: str | None = None) -> dict:
        """Rebuild this world: from its own scenario, or from `scenario` (a name or a path)."""
        if scenario is None:
            return self.control("POST", "/reset", {})
        return self.control("PUT", "/scenario", _scenario_body(scenario))

    # ---- home mode ---------------------------------------------------------------------------

    def family(
        self,
        owner: str,
        name: str = "Home",
        *,
        rooms: Sequence[str] = (),
        members: dict[str, int] | None = None,
        devices: Sequence[dict] = (),
        **extra: Any,
    ) -> dict:
        """A family set up in one call, home mode on for its members:
        `family("C1001", "Beach house", rooms=["Kitchen"], members={"C1002": 3},
        devices=[{"pk": ..., "dk": ..., "room": "Kitchen", "commonUsed": True}])`. Returns it as
        GET /_mock/families shows it: its `fid`, rooms with their `frid`, members, devices.
        `extra` takes the scenario file's other family fields (location, invitations, ...)."""
        body = {"owner": owner, "name": name, "rooms": list(rooms), "devices": list(devices), **extra}
        body["members"] = [{"uid": uid, "role": role} for uid, role in (members or {}).items()]
        return self.control("POST", "/families", body)

    def invite(self, fid: str, uid: str, role: int = 3, expires: str | int = "+1h", name: str | None = None) -> dict:
        """The family's creator invites `uid` (role 2 admin or 3 regular), open until `expires`."""
        body = {"uid": uid, "role": role, "expiresAt": expires, **({"name": name} if name else {})}
        return self.control("POST", f"/families/{fid}/invitations", body)

    def remove_member(self, fid: str, uid: str) -> dict:
        """The family's creator removes `uid`: their access to its devices ends at once."""
        return self.control("DELETE", f"/families/{fid}/members/{uid}")

    def home_mode(self, uid: str, enabled: bool = True) -> dict:
        """Turn `uid`'s home mode on (the first time: a family of their own) or off."""
        return self.control("PUT", f"/users/{uid}/homeMode", {"enabled": enabled})

    # ---- realtime ----------------------------------------------------------------------------

    def mqtt(self, token: str, *subscribe: str, client_id: str | None = None) -> Any:
        """A paho-mqtt client signed in to this world's realtime channel as `token`'s user,
        subscribed to `subscribe` (topics or device suffixes via `topic()`), collecting what
        arrives: `.wait_for("bus_")`, `.messages`, `.publish(...)`, `.connack`. Closed after
        the test. paho-mqtt comes with the package (a dependency, so this works on a plain
        install)."""
        from .realtime.client import RealtimeClient

        client = RealtimeClient(self.realtime_url, token, client_id=client_id)
        self._clients.append(client)
        if subscribe and client.connack == 0:
            client.subscribe(*subscribe)
        return client

    @staticmethod
    def topic(pk: str, dk: str, suffix: str = "bus_") -> str:
        """A device's downlink topic (bus_, ack_, onl_) or, for bus / sys_, its uplink one."""
        direction = "2" if suffix.endswith("_") and suffix != "sys_" else "1"
        return f"q/{direction}/d/qd{pk}{dk}/{suffix}"

    def close_clients(self) -> None:
        for client in self._clients:
            with contextlib.suppress(Exception):
                client.close()


def _open_world(mock: QuectelMock, scenario: str) -> None:
    """Make the test's world in one step: a library name is built straight from the scenario
    the server keeps (a world per test stays cheap), by a call when the simulator runs in this
    process; a file of this suite is sent inline."""
    if "/" in scenario or Path(scenario).is_file():
        mock.reset(scenario)
        return
    sim = getattr(mock.server_url, "simulator", None)
    if sim is not None:
        from .app import DEFAULTS
        from .harness.scenario import ScenarioInvalid

        # The server was made from the default scenario (_ThreadServer: create_app()): its worlds
        # are built from the one it loaded, not from a second load of the same file.
        own = scenario == DEFAULTS["SCENARIO"]
        try:
            sim.world(mock.world, None if own else scenario)
        except ScenarioInvalid as err:
            raise AssertionError(f"invalid scenario: {err.problems}") from None
        except LookupError as err:  # ScenarioNotFound
            raise AssertionError(str(err)) from None
        return
    status, payload = _http("GET", mock.base_url + "/_mock/health", None, {"X-Mock-Scenario": scenario})
    if status >= 400:
        raise AssertionError(payload.decode(errors="replace"))


def _scenario_body(scenario: str) -> dict:
    """PUT /_mock/scenario's body: a name, or a file of this test suite sent inline (the
    server reads no path a request gives)."""
    from pathlib import Path

    from .harness.scenario import ScenarioInvalid, read_file, validate_spec, with_base

    path = Path(scenario)
    if not path.is_file():
        return {"name": scenario}
    spec = with_base(read_file(path) or {}, path.name)
    problems = validate_spec(spec, path.name)[1]
    if problems:
        raise ScenarioInvalid(problems)
    return {"scenario": {"name": path.stem, **spec}}


def _endpoint_path(name: str) -> str:
    """The path of a simulated endpoint; an unknown name (an endpoint a rule stubs) is taken
    to live beside the binding endpoints."""
    return _registered_paths().get(name) or f"/v2/binding/enduserapi/{name}"


@functools.cache
def _registered_paths() -> dict[str, str]:
    from .api.declare import paths

    return paths()


@pytest.fixture
def quectel_mock(request: pytest.FixtureRequest, quectel_mock_server: str) -> Iterator[QuectelMock]:
    """A fresh world for this test, from the scenario its marker (or the options) name."""
    marker = request.node.get_closest_marker("quectel_scenario")
    config = request.config
    scenario = (
        (marker.args[0] if marker else None)
        or config.getoption("quectel_mock_scenario")
        or config.getini("quectel_mock_scenario")
    )
    mock = QuectelMock(quectel_mock_server, f"pytest-{next(_counter)}-{time.monotonic_ns()}", scenario)
    try:
        _open_world(mock, scenario)
    except (AssertionError, ValueError) as err:  # ScenarioInvalid is a ValueError
        raise pytest.UsageError(f"quectel_mock: cannot load scenario {scenario!r}: {err}") from None
    yield mock
    mock.close_clients()
    sim = getattr(quectel_mock_server, "simulator", None)
    if sim is not None:
        sim.drop(mock.world)
        return
    with contextlib.suppress(AssertionError, OSError):  # the server may already be gone
        mock.control("DELETE", "/world")
