"""The Flask side of the per-request steps (steps.py): the hooks that run them around every
endpoint of the app, and the admin-token check of the control API.

Deferral: a server that can wait without holding a thread (rsgi.py) sets CAN_DEFER; a rule's
delay then ends the first pass with DEFERRED = (seconds, resume), and the server calls the app
again after the wait with RESUME = resume (the rule, its effects applied).
"""

from __future__ import annotations

import hmac
import time

import orjson
from flask import Flask, Response, current_app, g, request

from . import steps
from .context import RequestState
from .cors import cors
from .dispatch import simulator
from .envelope import Reply, to_response

CONTROL_PREFIX = steps.CONTROL_PREFIX
CAN_DEFER = "mock_server.can_defer"
DEFERRED = "mock_server.deferred"
RESUME = "mock_server.resume"


class SessionPrefix:
    """WSGI middleware: `/s/NAME/rest` is served as `/rest` in the world NAME."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        steps.split_session(environ)
        return self.app(environ, start_response)


# Control paths anyone may read even when an admin token is set: they change nothing.
PUBLIC_CONTROL = ("/_mock/health", "/_mock/docs", "/_mock/openapi", "/_mock/ui")
# The dashboard checks the token itself (ui/dashboard.py), to send a browser to its login
# page; its login keeps the token in this cookie (HttpOnly, SameSite=Strict).
ADMIN_COOKIE = "mock_admin"


def install(app: Flask) -> None:
    app.wsgi_app = SessionPrefix(app.wsgi_app)
    app.before_request(_cross_site)
    app.before_request(_route_to_world)
    app.after_request(_finish)


def _cross_site() -> Response | None:
    """CORS for the simulated API; cross-site and rebound-name requests to /_mock refused."""
    req = request._get_current_object()
    answer = cors(req.method, req.path, req.headers, current_app.config.get("HOST") or "127.0.0.1")
    if answer.refusal:
        return Response(orjson.dumps({"error": answer.refusal}), status=403, mimetype="application/json")
    if answer.headers:
        g.cors = answer.headers
    return Response(status=204) if answer.preflight else None


def admin_ok(req) -> bool:
    """Whether the request may use the control API: no admin token is set, or it carries it
    (Authorization: Bearer, or the dashboard's cookie)."""
    token = current_app.config.get("ADMIN_TOKEN")
    if steps.admin_given(req.environ, token, "HTTP_AUTHORIZATION"):
        return True
    return hmac.compare_digest(req.cookies.get(ADMIN_COOKIE, "").encode(), token.encode())


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
    config = current_app.config
    opened = steps.open_request(simulator(), req, config.get("ADMIN_TOKEN"), config.get("HOST") or "127.0.0.1")
    if isinstance(opened, Reply):
        steps.record_refused(req, opened, config["LOG_FORMAT"], g.get("started") or time.perf_counter())
        return to_response(opened)
    state = g.state = opened
    if state.control:
        return _admin_refusal(req)
    if not state.world.rules:
        return None
    environ = req.environ
    outcome = steps.apply_rules(state, environ.get(RESUME), bool(environ.get(CAN_DEFER)))
    if isinstance(outcome, steps.Deferred):
        environ[DEFERRED] = (outcome.seconds, outcome.resume)
        return Response(status=204)  # never sent: the server waits, then asks again
    return None if outcome is None else to_response(outcome)


def _finish(response: Response) -> Response:
    """CORS headers, then the journal entry, log line and warning header; the first pass of a
    deferred request leaves no entry."""
    for name, value in g.get("cors", ()):
        response.headers[name] = value
    state: RequestState | None = g.get("state")
    if state is None or DEFERRED in state.request.environ:
        return response
    code = getattr(response, "quectel_code", None)
    answer = None if response.is_streamed else response.get_data()
    for name, value in steps.record(state, response.status_code, code, current_app.config["LOG_FORMAT"], answer):
        response.headers[name] = value
    return response
