"""The Flask application factory."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, Response, g, request_started
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from .api import control, hooks, steps
from .api.declare import registry
from .api.envelope import to_response
from .cloud.errors import QuectelError
from .harness import persistence
from .harness.scenario import Scenario
from .harness.worlds import Simulator
from .ui import ca as ca_page
from .ui import install as install_dashboard

DEFAULTS: dict[str, Any] = {
    "SCENARIO": "default",  # a library name or a path
    "SEED": None,  # overrides the scenario's seed
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # larger bodies get the 413 envelope
    "IDLE_TIMEOUT": 1800,  # seconds before an unused session world is dropped
    "MAX_WORLDS": 1000,
    "STATE_FILE": None,  # where POST /_mock/snapshot and a clean shutdown write the worlds
    "ADMIN_TOKEN": None,  # when set, the control API wants `Authorization: Bearer <it>`
    "LOG_FORMAT": "none",  # or "text" or "json": a line per request on standard output
    "SCENARIO_DIRS": (),  # folders whose scenarios requests may name, besides the library
    "HOST": "127.0.0.1",  # the name the server answers to: the control API's Host check
    "MQTT": True,  # the realtime channel (MQTT over WebSocket); False turns it off
    "MQTT_HOST": "127.0.0.1",  # where the realtime channel's own listener binds
    "MQTT_PORT": None,  # its own port; None: only on the HTTP port
    "TLS_CERT": None,  # certificate and key files of that listener's TLS (both, or neither)
    "TLS_KEY": None,
    "TLS_CA": None,  # the certificate authority of a generated certificate: the dashboard's CA page offers it
    "MAX_GENERATED": 10_000,  # users + devices + shares a scenario a request sends or names may generate
}


class UnsortedJSON(DefaultJSONProvider):
    sort_keys = False  # answers keep their keys in the order the cloud sends them


class LazyBuilderRule(Rule):
    """werkzeug's route, its URL builder (what url_for uses) compiled on first use: werkzeug
    compiles two per route as routes are added, some 20 ms of CPU before the first answer
    for the 140 routes here, where url_for builds a handful of the dashboard's."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compile_builder = super()._compile_builder
        built: Callable[..., tuple[str, str]] | None = None

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            nonlocal built
            if built is None:
                built = compile_builder(append_unknown)
            return built(rule, *args, **kwargs)

        return build


class SimulatorFlask(Flask):
    json_provider_class = UnsortedJSON
    url_rule_class = LazyBuilderRule

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        # Every view and hook here is synchronous; Flask would otherwise inspect each one on
        # every call to find out (3 % of a request's time).
        return func

    def full_dispatch_request(self) -> Response:
        """Flask's, with the request steps (api/steps.py) around the view: the same steps, in
        the same order, as the fast path runs."""
        self._got_first_request = True
        request_started.send(self, _async_wrapper=self.ensure_sync)
        return self.finalize_request(hooks.dispatch(self))


def create_app(
    config: dict[str, Any] | None = None, scenario: Scenario | None = None, restored: dict | None = None
) -> Flask:
    """Build the app. `scenario`, when given, is used instead of loading config SCENARIO;
    `restored` worlds (from a state file) replace those of the same names."""
    app = SimulatorFlask(__name__)
    app.config.update(DEFAULTS)
    app.config.update(config or {})
    if scenario is None:
        scenario = Scenario.load(app.config["SCENARIO"], app.config["SEED"])
    sim = Simulator(scenario, app.config["IDLE_TIMEOUT"], app.config["MAX_WORLDS"])
    sim.scenario_dirs = tuple(Path(d) for d in app.config["SCENARIO_DIRS"])
    sim.max_generated = app.config["MAX_GENERATED"]
    if restored:
        persistence.restore(sim, restored)
    if app.config["STATE_FILE"]:
        persistence.remove_leftovers(Path(app.config["STATE_FILE"]))  # of a write a kill cut short
    app.extensions["mock_server"] = sim
    app.register_blueprint(_api_blueprint())
    app.register_blueprint(control.bp)
    hooks.install(app)
    install_dashboard(app)
    app.register_blueprint(ca_page.bp)
    _register_errors(app)
    _log_to_stdout()  # request lines when LOG_FORMAT asks for them, and any with a warning
    return app


def _api_blueprint() -> Blueprint:
    """One route per declared endpoint; each answers through `dispatch.answer`, as the RSGI
    fast path does."""
    from .api.context import current
    from .api.dispatch import answer

    bp = Blueprint("api", __name__)
    for ep in registry():

        def view(ep=ep):  # a Flask view, bound to its endpoint
            return to_response(answer(ep, current()))

        bp.add_url_rule(ep.path, endpoint=ep.path, view_func=view, methods=[ep.method])
    return bp


def _log_to_stdout() -> None:
    requests_log = logging.getLogger("mock_server.requests")
    if not requests_log.handlers:
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(logging.Formatter("%(message)s"))
        requests_log.addHandler(handler)
        requests_log.setLevel(logging.INFO)
        requests_log.propagate = False


def _register_errors(app: Flask) -> None:
    # The same answers as the RSGI fast path gives (steps.error_reply).
    def _error(exc: Exception):
        return to_response(steps.error_reply(exc, g.get("state")))

    for kind in (QuectelError, HTTPException, Exception):
        app.register_error_handler(kind, _error)
