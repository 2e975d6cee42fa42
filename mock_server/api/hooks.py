"""The Flask side of the request steps (steps.handle): the app runs them around its view, as
the fast path (fastpath.py) runs them around an endpoint's answer.

Deferral: a server that can wait without holding a thread (rsgi.py) sets CAN_DEFER; a rule's
delay then ends the first pass with DEFERRED = the steps' Deferred, and the server calls the
app again after the wait (steps.with_waits) with RESUME = the rule's outcome.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, g, request

from . import steps
from .envelope import Reply, to_response
from .paths import split_session

CAN_DEFER = "mock_server.can_defer"
DEFERRED = steps.VIEW_DEFERRED
RESUME = "mock_server.resume"


class SessionPrefix:
    """WSGI middleware: `/s/NAME/rest` is served as `/rest` in the world NAME."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        split_session(environ)
        return self.app(environ, start_response)


class FlaskWire:
    """The steps' answers as Flask Responses."""

    @staticmethod
    def of(reply: Reply) -> Response:
        return to_response(reply)

    @staticmethod
    def add_headers(answer: Response, headers: list[tuple[str, str]]) -> None:
        for name, value in headers:
            answer.headers[name] = value

    @staticmethod
    def facts(answer: Response) -> tuple[int, int | None, bytes | None]:
        body = None if answer.is_streamed else answer.get_data()
        return answer.status_code, getattr(answer, "quectel_code", None), body


def install(app: Flask) -> None:
    # Flask's documented way to wrap its WSGI app, which mypy sees as replacing a method.
    app.wsgi_app = SessionPrefix(app.wsgi_app)  # type: ignore[method-assign]


def dispatch(app: Flask) -> Response:
    """Flask's own request dispatch (hooks, view, error handlers) as the answer step."""
    # The request itself, not its proxy; Flask types the proxy as a Request, which has no such method.
    req = request._get_current_object()  # type: ignore[attr-defined]
    served = steps.Served.of(app)
    environ = req.environ
    result = steps.handle(
        served, req, FlaskWire, lambda state: _view(app, state), environ.get(RESUME), bool(environ.get(CAN_DEFER))
    )
    if isinstance(result, steps.Deferred):
        environ[DEFERRED] = result
        return Response(status=204)  # never sent: the server waits, then asks again
    return result


def _view(app: Flask, state: steps.RequestState) -> Response:
    g.state = state
    try:
        rv = app.preprocess_request()
        if rv is None:
            rv = app.dispatch_request()
    except Exception as exc:
        rv = app.handle_user_exception(exc)
    return app.make_response(rv)


def admin_ok(req) -> bool:
    """Whether the request may use the control API (the dashboard asks, for its login)."""
    return steps.admin_ok(req, current_app.config.get("ADMIN_TOKEN"))
