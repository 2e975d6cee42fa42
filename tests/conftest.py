"""The suite's fixtures; what tests import lives in helpers.py."""

from __future__ import annotations

import pytest
from browser import browser  # noqa: F401 - the headless Chromium fixture, for every test module
from helpers import Api, Running

from mock_server.app import create_app
from mock_server.harness.scenario import Scenario


@pytest.fixture(scope="session")
def default_scenario() -> Scenario:
    return Scenario.load("default")


@pytest.fixture
def app(default_scenario):
    return create_app(scenario=default_scenario)


@pytest.fixture
def world(app):
    return app.extensions["mock_server"].world()


@pytest.fixture
def api(app) -> Api:
    return Api(app.test_client())


@pytest.fixture(scope="module")
def server():
    """The real server with the default world, shared by a module's tests."""
    running = Running()
    try:
        yield running
    finally:
        running.stop()
