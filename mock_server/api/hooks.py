"""Per-request plumbing around every endpoint: which world a request belongs to, the rules
that may answer it first, and the journal entry it leaves.

A request picks its world with the `X-Mock-Session` header or the `/s/NAME/` path prefix;
`X-Mock-Scenario` names the scenario a new world starts from.
"""

from __future__ import annotations

import hmac
import logging
import time
from datetime import UTC, datetime

import orjson
from flask import Flask, Response, current_app, g, request

from ..cloud.accounts import strip_bearer
from ..cloud.errors import QuectelError
from ..harness.rules import Incoming, apply_effects, caller_uid, refusal
from ..harness.scenario import ScenarioInvalid, ScenarioNotFound
from ..harness.worlds import DEFAULT_WORLD, BadSession
from .context import RequestState
from .cors import cors
from .dispatch import simulator
from .envelope import envelope
from .faults import delay_seconds, fault, forced_answer
from .warn import HEADER as WARNING_HEADER
from .warn import warning_header

CONTROL_PREFIX = "/_mock"

# Deferral: a server that can wait without holding a thread (rsgi.py) sets CAN_DEFER; a
# rule's delay then ends the first pass with DEFERRED = (seconds, resume), and the server
# calls the app again after the wait with RESUME = resume (the rule, its effects applied).
CAN_DEFER = "mock_server.can_defer"
DEFERRED = "mock_server.deferred"
RESUME = "mock_server.resume"


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


# Control paths anyone may read even when an admin token is set: they change nothing. The
# dashboard checks the token itself (ui/dashboard.py), to send a browser to its login page.
PUBLIC_CONTROL = ("/_mock/health", "/_mock/docs", "/_mock/openapi", "/_mock/ui")
# The dashboard's login keeps the admin token in this cookie (HttpOnly, SameSite=Strict), so
# the pages and the control calls they make carry it; cross-site requests are refused anyway.
ADMIN_COOKIE = "mock_admin"


def install(app: Flask) -> None:
    app.wsgi_app = SessionPrefix(app.wsgi_app)
    app.before_request(_cross_site)
    app.before_request(_route_to_world)
    app.after_request(_record)
    app.after_request(_cors_headers)


def _cross_site() -> Response | None:
    """CORS for the simulated API; cross-site and rebound-name requests to /_mock refused."""
    req = request._get_current_object()
    answer = cors(req.method, req.path, req.headers, current_app.config.get("HOST") or "127.0.0.1")
    if answer.refusal:
        return Response(orjson.dumps({"error": answer.refusal}), status=403, mimetype="application/json")
    if answer.headers:
        g.cors = answer.headers
    return Response(status=204) if answer.preflight else None


def _cors_headers(response: Response) -> Response:
    for name, value in g.get("cors", ()):
        response.headers[name] = value
    return response


def _admin_given(environ: dict, header: str = "HTTP_X_MOCK_ADMIN_TOKEN") -> bool:
    """No admin token is set, or the request carries it (in `header`, Bearer or not)."""
    token = current_app.config.get("ADMIN_TOKEN")
    if not token:
        return True
    given = strip_bearer(environ.get(header) or "")
    return hmac.compare_digest(given.encode(), token.encode())


def admin_ok(req) -> bool:
    """Whether the request may use the control API: no admin token is set, or it carries it
    (Authorization: Bearer, or the dashboard's cookie)."""
    if _admin_given(req.environ, "HTTP_AUTHORIZATION"):
        return True
    given = req.cookies.get(ADMIN_COOKIE, "")
    return hmac.compare_digest(given.encode(), current_app.config["ADMIN_TOKEN"].encode())


def _admin_refusal(req) -> Response | None:
    if req.path.startswith(PUBLIC_CONTROL) or admin_ok(req):
        return None
    response = Response(
        orjson.dumps({"error": "the control API needs Authorization: Bearer <admin token>"}),
        status=401,
        mimetype="application/json",
    )
    response.headers["WWW-Authenticate"] = 'Bearer realm="mock-server control API"'
    return response


def _route_to_world() -> Response | None:
    req = request._get_current_object()
    env = req.environ
    name = env.get("mock_server.session") or env.get("HTTP_X_MOCK_SESSION") or DEFAULT_WORLD
    scenario = env.get("HTTP_X_MOCK_SCENARIO")
    if scenario and not (_admin_given(env) or _admin_given(env, "HTTP_AUTHORIZATION")):
        return envelope(401, "X-Mock-Scenario needs X-Mock-Admin-Token: <admin token>", status=401)
    try:
        world = simulator().world(name, scenario)
    except (BadSession, ScenarioNotFound) as exc:
        return envelope(400, str(exc), status=400)
    except ScenarioInvalid as exc:
        return envelope(400, "invalid scenario", data={"problems": exc.problems}, status=400)
    path = req.path
    control = path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")
    state = g.state = RequestState(world, name, req, control)
    if control:
        return _admin_refusal(req)
    if not world.rules:
        return None
    return _apply_rules(state)


def _incoming(state: RequestState) -> Incoming:
    req = state.request
    return Incoming(
        method=req.method,
        path=req.path,
        params=_safe_params(state),
        headers={k.lower(): v for k, v in req.headers.items()},
        authorization=state.authorization,
    )


def _apply_rules(state: RequestState) -> Response | None:
    world = state.world
    environ = state.request.environ
    resume = environ.get(RESUME)
    if resume is not None:  # the second pass after a deferred wait: decided already
        state.rule, action, state.refuse = resume
        return _answer(action)
    req = _incoming(state)
    with world.lock:
        rule = world.rules.match(world, req)
        if rule is None:
            return None
        state.rule = rule.id
        state.refuse = refusal(rule)
        state.warnings += apply_effects(world, rule.action, req)
    action = rule.action
    wait = delay_seconds(action["delay"], world.rule_rng) if "delay" in action else 0.0
    if action.get("fault") == "hang":
        wait += world.settings.hang_seconds
    if wait and environ.get(CAN_DEFER):
        environ[DEFERRED] = (wait, (rule.id, action, state.refuse))
        return Response(status=204)  # never sent: the server waits, then asks again
    if wait:
        time.sleep(wait)  # outside the world lock
    return _answer(action)


def _answer(action: dict) -> Response | None:
    """The rule's answer once any wait is over: a fault, a forced code, or None (go on)."""
    if "fault" in action:
        return fault(action["fault"])
    if "code" in action:
        return forced_answer(action)
    return None


def _safe_params(state: RequestState) -> dict:
    try:
        return state.params()
    except Exception:  # an unreadable or oversized body: no parameters to show
        return {}


def _record(response: Response) -> Response:
    """The request's journal entry (API calls) and log line (any call, when asked for), from
    one set of fields. The first pass of a deferred request leaves neither."""
    state: RequestState | None = g.get("state")
    if state is None or DEFERRED in state.request.environ:
        return response
    world, req = state.world, state.request
    path = req.path
    entry = {
        "time": world.now(),
        "method": req.method,
        "path": path,
        "endpoint": path.rstrip("/").rsplit("/", 1)[-1],
        "params": _safe_params(state) if not state.control else {},
        "uid": caller_uid(world, state.authorization),
        "rule": state.rule,
        "code": getattr(response, "quectel_code", None),
        "status": response.status_code,
        "warnings": state.warnings,
        "answer": None if state.control else _answer_text(response),
    }
    if not state.control:
        world.journal.record(**entry)
    if state.warnings:
        response.headers[WARNING_HEADER] = warning_header(state.warnings)
    fmt = current_app.config["LOG_FORMAT"]
    if fmt != "none" or state.warnings:  # a warning is shown even when no log is asked for
        _log("text" if fmt == "none" else fmt, entry, state)
    return response


ANSWER_MAX = 2048  # characters of an answer the journal keeps


def _answer_text(response: Response) -> str | None:
    """The body answered, for the journal (None for a streamed or dropped answer)."""
    if response.is_streamed:
        return None
    return response.get_data()[:ANSWER_MAX].decode("utf-8", "replace")


_request_log = logging.getLogger("mock_server.requests")


def _log(fmt: str, entry: dict, state: RequestState) -> None:
    ms = round((time.perf_counter() - state.started) * 1000, 3)
    if fmt == "json":
        line = {k: entry[k] for k in ("method", "path", "status", "code", "uid", "rule")}
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds")
        extra = {"warnings": entry["warnings"]} if entry["warnings"] else {}
        _request_log.info(orjson.dumps({"time": stamp, "world": state.world_name, **line, "ms": ms, **extra}).decode())
        return
    who = f" uid={entry['uid']}" if entry["uid"] else ""
    rule = f" rule={entry['rule']}" if entry["rule"] else ""
    warned = "".join(f" WARNING: {w}" for w in entry["warnings"])
    _request_log.info(
        f"{entry['method']} {entry['path']} {entry['status']} code={entry['code']}{who}{rule} {ms}ms"
        f" [{state.world_name}]{warned}"
    )


def auth_status(err: QuectelError) -> int:
    """HTTP status for an error: 5106/5032 follow the world's authErrorHttpStatus switch."""
    state: RequestState | None = g.get("state")
    if err.code in (5032, 5106) and state is not None:
        return state.world.settings.auth_error_http_status
    return err.http_status
