"""Starting and stopping the realtime channel with the server, and taking its WebSockets:
the HTTP port serves `/ws/v2` (and `/s/NAME/ws/v2`); `--no-mqtt` turns the channel off."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from .hub import Hub, world_name

log = logging.getLogger(__name__)


class Realtime:
    """The channel of one server process, started on its first WebSocket."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.hub = Hub(app.extensions["mock_server"], loop)
        self._started: asyncio.Future | None = None

    async def websocket(self, scope: Any, proto: Any) -> None:
        name = world_name(scope.path, scope.headers)
        if name is None:
            proto.close(404)  # before the upgrade: an HTTP 404, as for any unknown path
            return
        if self._started is None:
            self._started = asyncio.ensure_future(self.hub.start())
        await asyncio.shield(self._started)
        await self.hub.serve_rsgi(scope, proto, name)

    def stop(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._started is None or not self._started.done():
            return
        if loop.is_running():
            loop.create_task(self.hub.stop())
        else:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self.hub.stop())


def realtime_for(app: Any, loop: asyncio.AbstractEventLoop) -> Realtime | None:
    """The channel for `app`, unless its config turned it off (MQTT = False)."""
    if not app.config.get("MQTT", True):
        return None
    return Realtime(app, loop)
