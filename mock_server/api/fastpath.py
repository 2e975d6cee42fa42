"""The simulated API answered straight from the RSGI bridge, without Flask's request context.

Flask's per-request machinery (contexts, URL matching, hooks, Response objects) cost more than
the simulated cloud itself; this path skips it for the endpoints declared with `endpoint(...)`
(declare.registry()), at their exact method and path, optionally under `/s/NAME/`. It runs the
same steps as the Flask app (steps.py, dispatch.answer) on the request as the bridge read it
(a LightRequest, light_request.py; a Werkzeug Request for a path that is not ASCII), so the
answers are byte for byte the same (tests/test_fastpath.py holds that). Anything else (the
control API, HEAD and OPTIONS, unknown paths, oversized bodies) goes to Flask.

A pass that a rule does not make wait is a plain call (`answer`), not a coroutine: only a
request that waits pays for awaiting (`waited`).
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask
from werkzeug.wrappers import Request

from ..harness.rules import Outcome
from ..harness.worlds import session_path
from . import steps
from .declare import Endpoint, registry
from .dispatch import answer
from .envelope import Reply, to_response
from .faults import DroppedOnPurpose
from .light_request import AnyRequest, LightRequest
from .paths import split_session
from .waits import Waits

# Statuses Werkzeug answers without a body (or without Content-Length): rare, from rules;
# their wire form is left to Werkzeug itself, as in the app.
_BODILESS = frozenset((204, 304))
Wired = tuple[int, list[tuple[str, str]], bytes | None]  # status, headers, body (None: drop the connection)


class FastPath:
    def __init__(self, app: Flask, waits: Waits | None = None) -> None:
        self.waits = waits if waits is not None else Waits()
        config = app.config
        self.max_body: int | None = config["MAX_CONTENT_LENGTH"]
        self.served = steps.Served.of(app)
        served = {rule.rule for rule in app.url_map.iter_rules()}
        self.table = {(doc.method, doc.path): doc for doc in registry() if doc.path in served}

        class FastRequest(Request):  # the limits Flask's Request takes from the app's config
            max_content_length = config["MAX_CONTENT_LENGTH"]
            max_form_memory_size = config.get("MAX_FORM_MEMORY_SIZE", Request.max_form_memory_size)
            max_form_parts = config.get("MAX_FORM_PARTS", Request.max_form_parts)

        self.request_class = FastRequest

    @classmethod
    def for_app(cls, app: Any, waits: Waits | None = None) -> FastPath | None:
        """A fast path for the simulator's app; None for any other app."""
        return cls(app, waits) if isinstance(app, Flask) and "mock_server" in app.extensions else None

    def route(self, method: str, path: str, body: bytes) -> tuple[Endpoint, str | None, str] | None:
        """The endpoint this path answers, the world a /s/NAME/ prefix names and the path
        without it; None when Flask should answer."""
        name, rest = session_path(path)
        doc = self.table.get((method, rest))
        if doc is None or (self.max_body is not None and len(body) > self.max_body):
            return None
        return doc, name, rest

    def werkzeug_request(self, environ: dict, body: bytes) -> Request:
        """The Werkzeug Request of a full WSGI environ, as the app's would read it; `body`, the
        whole of it as the bridge read it (within the limit, route saw to it)."""
        split_session(environ)
        req = self.request_class(environ)
        # What get_data would read through Werkzeug's limited stream, to the same bytes: its
        # cache, which form parsing reads too. A JSON body was a tenth of the request.
        req._cached_data = body
        return req

    def answer(self, doc: Endpoint, req: AnyRequest, resume: Outcome | None = None) -> Reply | steps.Deferred:
        """One pass of the steps: the Reply, or the rule's wait before the next pass."""
        return steps.handle(self.served, req, ReplyWire, functools.partial(answer, doc), resume, can_defer=True)

    async def waited(self, doc: Endpoint, req: AnyRequest, deferred: steps.Deferred) -> Reply:
        """The passes after a first one that ended in a rule's wait."""
        return await steps.waited(functools.partial(self.answer, doc, req), deferred, self.waits.wait)


class ReplyWire:
    """The steps' answers as they are: Replies."""

    @staticmethod
    def of(reply: Reply) -> Reply:
        return reply

    @staticmethod
    def add_headers(answer: Reply, headers: list[tuple[str, str]]) -> None:
        answer.headers += headers

    @staticmethod
    def facts(answer: Reply) -> tuple[int, int | None, bytes | None]:
        return answer.status, answer.code, answer.body


def wire(reply: Reply, req: AnyRequest) -> Wired:
    """What goes on the wire for a Reply: exactly what Werkzeug sends for its Response."""
    if reply.body is not None and reply.status >= 200 and reply.status not in _BODILESS:
        return reply.status, reply.wire_headers(), reply.body
    environ = req.werkzeug().environ if isinstance(req, LightRequest) else req.environ
    app_iter, status, headers = to_response(reply).get_wsgi_response(environ)
    try:
        body: bytes | None = b"".join(app_iter)
    except DroppedOnPurpose:
        body = None
    return int(status[:3]), headers, body


def release(req: AnyRequest) -> None:
    """Break the cycle between a Werkzeug Request and its environ (environ["werkzeug.request"]),
    which would hold the body (and what was parsed of it) until a full collection, which the
    server makes rare (cli.py): emptied, both go at once."""
    if isinstance(req, LightRequest):
        req.close()
    else:
        req.environ.clear()

