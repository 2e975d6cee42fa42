from __future__ import annotations

import pytest
from browser import browser  # noqa: F401 - the headless Chromium fixture, for every test module

from mock_server.app import create_app
from mock_server.harness.scenario import Scenario

BINDING = "/v2/binding/enduserapi/"
ENDUSER = "/v2/enduser/enduserapi/"
OWNER, RECIPIENT, SECOND, FAMILY = "owner-token", "recipient-token", "second-token", "family-token"
LAMP = {"pk": "p11u5w", "dk": "LAMP00000001"}
FAR = 4_102_444_800_000  # 2100-01-01, a usage expiry that never passes in a test
ACCEPT_BY = 4_000_000_000_000  # 2096: an accept window that never closes, before FAR


@pytest.fixture(scope="session")
def default_scenario() -> Scenario:
    return Scenario.load("default")


@pytest.fixture
def app(default_scenario):
    return create_app(scenario=default_scenario)


@pytest.fixture
def world(app):
    return app.extensions["mock_server"].world()


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


@pytest.fixture
def api(app) -> Api:
    return Api(app.test_client())


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
