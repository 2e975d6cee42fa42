"""Serving the Flask (WSGI) app through granian's RSGI interface, on its event loop.

Why not granian's WSGI mode: there every request needs a Python thread, and threads that
all want the GIL hand it around unfairly (p99 in the hundreds of milliseconds at 16
connections with 4+ threads), while one thread lets a 2 s delay rule stall everyone. Here
the app runs inline on one event loop, and a rule's delay (or hang) is awaited between two
passes through the app, so it holds nothing: the first pass decides and records the delay,
the second answers once it is over (see api/hooks.py, "deferral").
"""

from __future__ import annotations

import functools
import io
import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request

from .api.declare import Endpoint
from .api.fastpath import FastPath, release, wire
from .api.faults import DroppedOnPurpose
from .api.hooks import CAN_DEFER, DEFERRED, RESUME
from .api.light_request import LightRequest, wsgi_key
from .api.paths import SESSION
from .api.steps import Deferred, with_waits
from .api.waits import Waits
from .harness.rules import Outcome
from .ui import stream

if TYPE_CHECKING:  # the realtime channel (amqtt) is imported only by a worker that serves it
    from .realtime.serving import Realtime

log = logging.getLogger(__name__)
_DROP = object()


def has_body(scope: Any) -> bool:
    """Whether the request carries a body. Reading even an empty one is a round trip through
    granian's threads that costs a bodiless request about a third of its time. HTTP/1 says
    so in its headers; HTTP/2 need not, so its bodies are always read."""
    if not scope.http_version.startswith("1"):
        return True
    headers = scope.headers
    length = headers.get("content-length")
    return bool(length and length.strip() != "0") or headers.get("transfer-encoding") is not None


DRAINED = 64  # times the limit of a too large body read and thrown away, so the client sees the 413


async def read_body(scope: Any, proto: Any, limit: int | None) -> tuple[bytes, int | None]:
    """The body of a request that has one (has_body), or (b"", its size) once it is over
    `limit` (the app answers 413). A body is kept only while it is within the limit: the rest
    is read in chunks and thrown away (a client that is still sending when the connection
    closes would miss the answer), so no request makes the server hold more than `limit`
    bytes of it."""
    length = (scope.headers.get("content-length") or "").strip()
    declared = int(length[:20]) if length.isascii() and length.isdigit() else None
    if limit is None or (declared is not None and declared <= limit and not scope.headers.get("transfer-encoding")):
        return await proto(), None
    chunks: list[bytes] = []
    size = 0
    async for chunk in proto:
        size += len(chunk)
        if size > DRAINED * limit:
            break
        if size <= limit and (declared is None or declared <= limit):
            chunks.append(chunk)
        else:
            chunks.clear()
    if size > limit or (declared is not None and declared > limit):
        return b"", max(size, declared or 0)
    return b"".join(chunks), None


NO_BODY: tuple[bytes, int | None] = (b"", None)


def _headers_into(headers: Any, environ: dict) -> None:
    """A request's headers into `environ` by their WSGI keys, a repeated header's values
    joined with ", ". granian leaves out of items() a header whose value is not ASCII; such a
    header is there with U+FFFD, so that a non-ASCII X-Mock-Session is refused as /s/émoji/
    is, instead of the request going, unnamed, to the default world."""
    items = headers.items()
    for name, value in items:
        key = wsgi_key(name)
        environ[key] = environ[key] + ", " + value if key in environ else value
    names = headers.keys()  # granian's headers are not iterable themselves
    if len(names) != len(items):
        for name in names:
            environ.setdefault(wsgi_key(name), "\ufffd")


class RSGIBridge:
    def __init__(
        self,
        wsgi_app: Any,
        server_name: str = "127.0.0.1",
        server_port: str = "8080",
        on_shutdown: Callable[[], None] | None = None,
        fast: bool = True,
    ) -> None:
        self.app = wsgi_app
        self.waits = Waits()  # requests waiting in a rule's delay or hang
        # The simulated API's endpoints are answered without Flask (api/fastpath.py).
        self.fast = FastPath.for_app(wsgi_app, self.waits) if fast else None
        self.realtime: Realtime | None = None  # the realtime channel, once made (_realtime)
        self.server_name = server_name
        self.server_port = server_port
        self.on_shutdown = on_shutdown
        self.max_body: int | None = getattr(wsgi_app, "config", {}).get("MAX_CONTENT_LENGTH")

    def __rsgi_init__(self, loop: Any) -> None:
        self.loop = loop
        # The channel (and its broker, amqtt) is made on the first WebSocket: the HTTP port
        # answers without waiting for it. A dedicated listener (MQTT_PORT) is awaited by
        # clients as soon as the banner names it, so it starts with the server.
        if self.app.config.get("MQTT_PORT"):
            self._realtime()

    def _realtime(self) -> Realtime | None:
        if self.realtime is None:
            from .realtime.serving import realtime_for

            self.realtime = realtime_for(self.app, self.loop)
        return self.realtime

    def __rsgi_del__(self, loop: Any) -> None:
        """granian calls this when the worker stops cleanly (SIGTERM, SIGINT)."""
        if self.realtime is not None:
            self.realtime.stop(loop)
        self.save()

    def stopping(self, loop: Any) -> None:
        """The server was told to stop (server.py): save the worlds first, then end what would
        hold the stop up (granian waits for every open answer): requests waiting in a rule's
        delay are answered now and hangs dropped, and the realtime sessions end."""
        self.save()
        self.waits.end_all()
        if self.realtime is not None:
            self.realtime.stop(loop)

    def save(self) -> None:
        if self.on_shutdown is None:
            return
        try:
            self.on_shutdown()
        except Exception:  # one failure to save must not keep the server from stopping
            log.exception("saving the state on stop failed")

    async def __call__(self, scope: Any, proto: Any) -> None:
        if scope.proto == "ws":  # the realtime channel, MQTT over WebSocket (realtime/)
            realtime = self._realtime() if self.app.config.get("MQTT", True) else None
            if realtime is None:
                proto.close(404)
                return
            await realtime.websocket(scope, proto)
            return
        # A bodiless request (most) awaits nothing on its way through the fast path.
        body, too_large = await read_body(scope, proto, self.max_body) if has_body(scope) else NO_BODY
        fast, path = self.fast, scope.path
        route = fast.route(scope.method, path, body) if fast is not None and not too_large else None
        if fast is not None and route is not None:
            doc = route[0]
            req = self._light(scope, body, route) if path.isascii() else self._werkzeug(scope, body)
            reply = fast.answer(doc, req)
            if isinstance(reply, Deferred):
                reply = await fast.waited(doc, req, reply)
            status, headers, payload = wire(reply, req)
            release(req)
            if payload is None:
                await self._drop(proto, status, headers)
            else:
                proto.response_bytes(status, headers, payload)
            return

        def one_pass(resume: Outcome | None) -> tuple | Deferred:
            environ = self._environ(scope, body)
            if too_large:  # Werkzeug answers 413 (the envelope, CORS) for a length over the limit
                environ["CONTENT_LENGTH"] = str(too_large)
            if resume is not None:
                environ[RESUME] = resume
            ran = self._run(environ)
            deferred, follow = environ.get(DEFERRED), environ.get(stream.STREAM)
            # Werkzeug's request and the environ refer to each other (environ["werkzeug.request"]),
            # a cycle that holds the body (and what was parsed of it) until a full collection,
            # which the server makes rare (cli.py): emptied, both go at once.
            environ.clear()
            return deferred or (*ran, follow)

        status, headers, payload, follow = await with_waits(one_pass, self.waits.wait)
        if follow is not None:  # the live journal: the answer stays open (ui/stream.py)
            return await stream.serve(proto, status, headers, payload, follow)
        if payload is _DROP:
            await self._drop(proto, status, headers)
        else:
            proto.response_bytes(status, headers, payload)

    @staticmethod
    async def _drop(proto: Any, status: int, headers: list) -> None:
        """Headers that promise a body that never comes: the client sees the connection drop."""
        transport = proto.response_stream(status, headers)
        await transport.send_bytes(b"{")

    def _light(self, scope: Any, body: bytes, route: tuple[Endpoint, str | None, str]) -> LightRequest:
        """The request as the fast path's steps read it (api/light_request.py): its headers by
        WSGI key, as _environ has them, its query, and the world a /s/NAME/ prefix named."""
        _, session, path = route
        environ: dict[str, Any] = {"QUERY_STRING": scope.query_string}
        if session is not None:
            environ[SESSION] = session
        _headers_into(scope.headers, environ)
        return LightRequest(scope.method, path, environ, body, functools.partial(self._werkzeug, scope, body))

    def _werkzeug(self, scope: Any, body: bytes) -> Request:
        """The Werkzeug Request the fast path reads for what a LightRequest leaves to it (a form
        body, an escaped query) and for a path that is not ASCII, which Werkzeug decodes."""
        assert self.fast is not None
        return self.fast.werkzeug_request(self._environ(scope, body), body)

    def _environ(self, scope: Any, body: bytes) -> dict:
        environ = {
            "REQUEST_METHOD": scope.method,
            "SCRIPT_NAME": "",
            # RSGI gives the path percent-decoded; WSGI wants its UTF-8 bytes as latin-1.
            "PATH_INFO": scope.path.encode("utf-8", "surrogateescape").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": self.server_name,
            "SERVER_PORT": self.server_port,
            "SERVER_PROTOCOL": "HTTP/" + scope.http_version,
            "REMOTE_ADDR": scope.client.rsplit(":", 1)[0],
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": scope.scheme,
            "wsgi.input": io.BytesIO(body),
            "wsgi.input_terminated": True,  # the whole body is here, chunked or not
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            CAN_DEFER: True,
            stream.CAN_STREAM: True,
        }
        _headers_into(scope.headers, environ)
        return environ

    def _run(self, environ: dict) -> tuple[int, list[tuple[str, str]], Any]:
        started: list = []

        def start_response(status: str, headers: list, exc_info: Any = None) -> None:
            started[:] = [int(status[:3]), headers]

        result = self.app(environ, start_response)
        try:
            payload: Any = b"".join(result)
        except DroppedOnPurpose:
            payload = _DROP
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return started[0], started[1], payload
