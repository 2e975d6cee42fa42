"""Serving the app with granian, in one worker process that holds every world."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask


def serve(
    make_app: Callable[[], Flask],
    host: str,
    port: int,
    log_level: str = "warning",
    cert: str | None = None,
    key: str | None = None,
    on_shutdown: Callable[[], None] | None = None,
) -> None:
    """Serve the app that `make_app` builds, in granian's one worker process, so that the
    worlds exist once, in the process that serves them (not also in the supervising parent)."""
    from .rsgi import RSGIBridge

    server = granian_server(host, port, log_level, cert, key)
    server.serve(target_loader=lambda _target: RSGIBridge(make_app(), host, str(port), on_shutdown))


def granian_server(
    host: str, port: int, log_level: str = "warning", cert: str | None = None, key: str | None = None
) -> Any:
    """The granian server as the simulator runs it (RSGI, one worker); `make bench` serves its
    bare-handler limit with the same one."""
    from pathlib import Path

    from granian.constants import Interfaces, SSLProtocols
    from granian.log import LogLevels
    from granian.server import Server

    return Server(
        "mock_server:app",  # only a label: the loader given to serve() hands over the built app
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        workers=1,
        log_level=LogLevels(log_level),
        ssl_cert=Path(cert) if cert else None,
        ssl_key=Path(key) if key else None,
        ssl_protocol_min=SSLProtocols.tls12,  # phones older than Android 10 lack TLS 1.3
    )
