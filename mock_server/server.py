"""Serving the app with granian (WSGI mode), in one worker process that holds every world."""

from __future__ import annotations

import logging

from flask import Flask


class _QuietThreadAdvice(logging.Filter):
    # Many blocking threads are deliberate here: a delayed request sleeps in its own thread
    # while the others are served, so granian's advice against them is noise.
    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Configuration allows spawning")


def serve(app: Flask, host: str, port: int, threads: int, log_level: str = "warning") -> None:
    from granian.constants import Interfaces
    from granian.log import LogLevels, logger
    from granian.server import Server

    logger.addFilter(_QuietThreadAdvice())
    server = Server(
        "mock_server:app",  # only a label: the loader below hands over the built app
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=threads,
        log_level=LogLevels(log_level),
    )
    # The worker is forked from this process, so it inherits the app (and its worlds) as built.
    server.serve(target_loader=lambda _target: app)
