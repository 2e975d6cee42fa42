"""Requests waiting out a rule's delay or hang (steps.Deferred) await here, holding no thread.

A stopping server ends every wait at once: granian's graceful stop waits for every open answer,
so one `hang` (120 s by default) held SIGTERM up for minutes. A delayed request is then
answered without the rest of its delay, and a hang is dropped, as when its wait ends.
"""

from __future__ import annotations

import asyncio


class Waits:
    def __init__(self) -> None:
        self._waiting: set[asyncio.Future] = set()
        self.stopping = False

    async def wait(self, seconds: float) -> None:
        """Sleep `seconds`, or until the server stops."""
        if self.stopping:
            return
        loop = asyncio.get_running_loop()
        over = loop.create_future()
        timer = loop.call_later(seconds, _finish, over)
        self._waiting.add(over)
        try:
            await over
        finally:
            timer.cancel()
            self._waiting.discard(over)

    def end_all(self) -> None:
        """The server is stopping: every wait ends now, and none begins."""
        self.stopping = True
        for over in list(self._waiting):
            _finish(over)


def _finish(over: asyncio.Future) -> None:
    if not over.done():
        over.set_result(None)
