"""Per-request plumbing around every endpoint: which world a request belongs to, the rules
that may answer it first, and the journal entry it leaves.

A request picks its world with the `X-Mock-Session` header or the `/s/NAME/` path prefix;
`X-Mock-Scenario` names the scenario a new world starts from.
"""

from __future__ import annotations

import time

from flask import Flask, Response, g, request

from ..domain.errors import QuectelError
from ..domain.rules import Incoming, apply_effects, caller_uid
from ..domain.scenario import ScenarioInvalid, ScenarioNotFound
from ..domain.simulator import DEFAULT_WORLD, BadSession
from .dispatch import simulator
from .envelope import envelope
from .faults import delay_seconds, fault, forced_answer
from .params import collect

SESSION_HEADER = "X-Mock-Session"
SCENARIO_HEADER = "X-Mock-Scenario"
CONTROL_PREFIX = "/_mock"


class SessionPrefix:
    """WSGI middleware: `/s/NAME/rest` is served as `/rest` in the world NAME."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path.startswith("/s/"):
            name, _, rest = path[3:].partition("/")
            environ["mock_server.session"] = name
            environ["PATH_INFO"] = "/" + rest
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + "/s/" + name
        return self.app(environ, start_response)


def install(app: Flask) -> None:
    app.wsgi_app = SessionPrefix(app.wsgi_app)
    app.before_request(_route_to_world)
    app.after_request(_record)


def is_control() -> bool:
    return request.path == CONTROL_PREFIX or request.path.startswith(CONTROL_PREFIX + "/")


def _route_to_world() -> Response | None:
    g.warnings = []
    name = request.environ.get("mock_server.session") or request.headers.get(SESSION_HEADER) or DEFAULT_WORLD
    g.world_name = name
    try:
        g.world = simulator().world(name, request.headers.get(SCENARIO_HEADER))
    except (BadSession, ScenarioNotFound) as exc:
        return envelope(400, str(exc), status=400)
    except ScenarioInvalid as exc:
        return envelope(400, "invalid scenario", data={"problems": exc.problems}, status=400)
    if is_control() or not g.world.rules:
        return None
    return _apply_rules()


def incoming() -> Incoming:
    return Incoming(
        method=request.method,
        path=request.path,
        params=_params(),
        headers={k.lower(): v for k, v in request.headers.items()},
        authorization=request.headers.get("Authorization"),
    )


def _apply_rules() -> Response | None:
    world = g.world
    req = incoming()
    with world.lock:
        rule = world.rules.match(world, req)
        if rule is None:
            return None
        g.rule = rule.id
        g.warnings += apply_effects(world, rule.action, req)
    action = rule.action
    if "delay" in action:
        time.sleep(delay_seconds(action["delay"], world.rule_rng))  # outside the lock
    if "fault" in action:
        return fault(action["fault"], world.settings)
    if "code" in action:
        return forced_answer(action)
    return None


def _params() -> dict:
    try:
        return collect()
    except Exception:  # an unreadable or oversized body: the journal records no parameters
        return {}


def _record(response: Response) -> Response:
    world = getattr(g, "world", None)
    if world is None or is_control():
        return response
    auth = request.headers.get("Authorization")
    world.journal.record(
        time=world.now(),
        method=request.method,
        path=request.path,
        endpoint=request.path.rstrip("/").rsplit("/", 1)[-1],
        params=_params(),
        uid=caller_uid(world, auth),
        rule=g.get("rule"),
        code=g.get("code"),
        status=response.status_code,
        warnings=g.warnings,
    )
    return response


def auth_status(err: QuectelError) -> int:
    """HTTP status for an error: 5106/5032 follow the world's authErrorHttpStatus switch."""
    world = g.get("world")
    if err.code in (5032, 5106) and world is not None:
        return world.settings.auth_error_http_status
    return err.http_status
