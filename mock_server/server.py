"""Serving the app with granian, in one worker process that holds every world."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask


def serve(make_app: Callable[[], Flask], host: str, port: int, log_level: str = "warning") -> None:
    """Serve the app that `make_app` builds, in granian's one worker process, so that the
    worlds exist once, in the process that serves them (not also in the supervising parent)."""
    from granian.constants import Interfaces
    from granian.log import LogLevels
    from granian.server import Server

    from .rsgi import RSGIBridge

    server = Server(
        "mock_server:app",  # only a label: the loader below hands over the built app
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=1,
        log_level=LogLevels(log_level),
    )
    server.serve(target_loader=lambda _target: RSGIBridge(make_app(), host, str(port)))
