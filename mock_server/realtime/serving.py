"""Starting and stopping the realtime channel with the server, and taking its WebSockets.

The HTTP port always serves `/ws/v2` (and `/s/NAME/ws/v2`), through granian. `--mqtt-port N`
adds a listener of its own on port N (as the real cloud has a realtime host on 8443), served
by `websockets`, which also answers the `mqtt` subprotocol in the handshake: granian's RSGI
cannot, and browsers insist on it. `--no-mqtt` turns the channel off.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import ssl
from http import HTTPStatus
from typing import Any

from ..cloud.accounts import strip_bearer
from ..network import is_local_origin
from .hub import Hub, world_name

log = logging.getLogger(__name__)


class Realtime:
    """The channel of one server process: its hub, started on first use or with the
    dedicated listener."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = Hub(app.extensions["mock_server"], loop)
        self.loop = loop
        self.admin_token: str | None = app.config.get("ADMIN_TOKEN")
        self.host: str = app.config.get("HOST") or "127.0.0.1"
        self._started: asyncio.Future | None = None
        self._closing: asyncio.Future | None = None
        self._listener: Any = None

    async def ensure_started(self) -> None:
        if self._started is None:
            self._started = asyncio.ensure_future(self.hub.start())
        await asyncio.shield(self._started)

    async def websocket(self, scope: Any, proto: Any) -> None:
        """A WebSocket upgrade on the HTTP port (granian RSGI)."""
        name = world_name(scope.path, scope.headers)
        if name is None:
            proto.close(404)  # before the upgrade: an HTTP 404, as for any unknown path
            return
        refused = self.refusal(name, scope.headers)
        if refused is not None:
            log.info("realtime connection refused: %s", refused[1])
            proto.close(refused[0])
            return
        await self.ensure_started()
        await self.hub.serve_rsgi(scope, proto, name)

    def refusal(self, name: str, headers: Any) -> tuple[int, str] | None:
        """What an upgrade may not ask for, as on the REST side (api/steps.open_request):
        X-Mock-Scenario without the admin token (401), a new world or a scenario from a page
        of another site (403)."""
        scenario = headers.get("x-mock-scenario")
        if scenario and self.admin_token and not any(
            hmac.compare_digest(strip_bearer(headers.get(h) or "").encode(), self.admin_token.encode())
            for h in ("x-mock-admin-token", "authorization")
        ):
            return 401, "X-Mock-Scenario needs X-Mock-Admin-Token: <admin token>"
        origin = headers.get("origin")
        if origin and (scenario or name not in self.hub.sim.worlds) and not is_local_origin(origin, self.host):
            return 403, f"a page of another site ({origin}) may not create worlds or choose scenarios"
        return None

    async def listen(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> int:
        """The dedicated listener; returns its port (useful with port 0)."""
        from websockets.asyncio.server import serve
        from websockets.typing import Subprotocol

        await self.ensure_started()

        def process_request(connection: Any, request: Any) -> Any:
            name = world_name(request.path.split("?", 1)[0], request.headers)
            if name is None:
                return connection.respond(HTTPStatus.NOT_FOUND, "not found\n")
            refused = self.refusal(name, request.headers)
            if refused is not None:
                return connection.respond(HTTPStatus(refused[0]), refused[1] + "\n")
            return None

        async def handler(websocket: Any) -> None:
            name = world_name(websocket.request.path.split("?", 1)[0], websocket.request.headers)
            assert name is not None  # process_request answered 404 to any other path
            await self.hub.serve_websocket(websocket, name)

        self._listener = await serve(
            handler,
            host,
            port,
            ssl=tls,
            subprotocols=[Subprotocol("mqtt")],
            process_request=process_request,
            compression=None,
            ping_interval=None,  # MQTT has its own keep-alive
        )
        return self._listener.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop the listener and the hub, once however often it is asked (the stop signal
        asks first, the worker's end again)."""
        if self._closing is None:
            self._closing = asyncio.ensure_future(self._close())
        await asyncio.shield(self._closing)

    async def _close(self) -> None:
        if self._listener is not None:
            self._listener.close()
        if self._started is not None and self._started.done():
            await self.hub.stop()

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        if loop.is_running():
            if self._closing is None:
                self._closing = loop.create_task(self._close())
        else:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self.close())


def realtime_for(app: Any, loop: asyncio.AbstractEventLoop) -> Realtime | None:
    """The channel for `app`, unless its config turned it off (MQTT = False); with
    MQTT_PORT set, its dedicated listener starts with the loop."""
    if not app.config.get("MQTT", True):
        return None
    realtime = Realtime(app, loop)
    port = app.config.get("MQTT_PORT")
    if port:
        tls = tls_context(app.config.get("TLS_CERT"), app.config.get("TLS_KEY"))
        task = loop.create_task(realtime.listen(app.config.get("MQTT_HOST", "127.0.0.1"), port, tls))
        task.add_done_callback(_report_failure)
    return realtime


def _report_failure(task: asyncio.Task) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("the realtime listener did not start: %s", task.exception())


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    if not cert:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context
