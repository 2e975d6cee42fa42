"""The simulated API answered straight from the RSGI bridge, without Flask's request context.

Flask's per-request machinery (contexts, URL matching, hooks, Response objects) cost more than
the simulated cloud itself; this path skips it for the endpoints declared with `endpoint(...)`
(dispatch.REGISTRY), at their exact method and path, optionally under `/s/NAME/`. It runs the
same steps as the Flask app (steps.py, dispatch.answer) on a plain Werkzeug Request, so the
answers are byte for byte the same (tests/test_fastpath.py holds that). Anything else (the
control API, HEAD and OPTIONS, unknown paths, oversized bodies) goes to Flask.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from flask import Flask
from werkzeug.wrappers import Request

from . import steps
from .cors import cors
from .dispatch import REGISTRY, EndpointDoc, answer
from .envelope import Reply, to_response
from .faults import DroppedOnPurpose

# Statuses Werkzeug answers without a body (or without Content-Length): rare, from rules;
# their wire form is left to Werkzeug itself, as in the app.
_BODILESS = frozenset((204, 304))


class FastPath:
    def __init__(self, app: Flask) -> None:
        self.sim = app.extensions["mock_server"]
        config = app.config
        self.max_body: int | None = config["MAX_CONTENT_LENGTH"]
        self.log_format: str = config["LOG_FORMAT"]
        self.admin_token: str | None = config.get("ADMIN_TOKEN")
        self.host: str = config.get("HOST") or "127.0.0.1"
        served = {rule.rule for rule in app.url_map.iter_rules()}
        self.table = {(doc.method, doc.path): doc for doc in REGISTRY if doc.path in served}

        class FastRequest(Request):  # the limits Flask's Request takes from the app's config
            max_content_length = config["MAX_CONTENT_LENGTH"]
            max_form_memory_size = config.get("MAX_FORM_MEMORY_SIZE", Request.max_form_memory_size)
            max_form_parts = config.get("MAX_FORM_PARTS", Request.max_form_parts)

        self.request_class = FastRequest

    @classmethod
    def for_app(cls, app: Any) -> FastPath | None:
        """A fast path for the simulator's app; None for any other app."""
        return cls(app) if isinstance(app, Flask) and "mock_server" in app.extensions else None

    def lookup(self, method: str, path: str, body: bytes) -> EndpointDoc | None:
        """The endpoint this path answers, or None when Flask should."""
        if path.startswith("/s/"):
            path = "/" + path[3:].partition("/")[2]
        doc = self.table.get((method, path))
        if doc is None or (self.max_body is not None and len(body) > self.max_body):
            return None
        return doc

    async def serve(self, doc: EndpointDoc, environ: dict) -> tuple[int, list[tuple[str, str]], bytes | None]:
        """Status, headers and body (None: drop the connection) of one request."""
        steps.split_session(environ)
        req = self.request_class(environ)
        # Never a refusal nor a preflight here: those are for /_mock and OPTIONS, which Flask answers.
        cross_site = cors(req.method, req.path, req.headers, self.host).headers
        resume, started = None, time.perf_counter()
        while True:
            state = None
            try:
                opened = steps.open_request(self.sim, req, self.admin_token, self.host)
                if isinstance(opened, Reply):
                    steps.record_refused(req, opened, self.log_format, started)
                    opened.headers += cross_site
                    return wire(opened, environ)  # no world, so no journal entry (as in the app)
                state = opened
                reply = None
                if state.world.rules:
                    outcome = steps.apply_rules(state, resume, can_defer=True)
                    if isinstance(outcome, steps.Deferred):
                        await asyncio.sleep(outcome.seconds)  # holds nothing: others go on
                        resume = outcome.resume
                        continue
                    reply = outcome
                if reply is None:
                    reply = answer(doc, state)
            except Exception as exc:
                reply = steps.error_reply(exc, state)
            reply.headers += cross_site
            if state is not None:
                reply.headers += steps.record(state, reply.status, reply.code, self.log_format, reply.body)
            return wire(reply, environ)


def wire(reply: Reply, environ: dict) -> tuple[int, list[tuple[str, str]], bytes | None]:
    """What goes on the wire for a Reply: exactly what Werkzeug sends for its Response."""
    if reply.body is not None and reply.status >= 200 and reply.status not in _BODILESS:
        return reply.status, reply.wire_headers(), reply.body
    app_iter, status, headers = to_response(reply).get_wsgi_response(environ)
    try:
        body: bytes | None = b"".join(app_iter)
    except DroppedOnPurpose:
        body = None
    return int(status[:3]), headers, body
