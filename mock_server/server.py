"""Serving the app with granian, embedded in this very process.

One process holds every world and serves them: killing it (even with SIGKILL) stops the
serving, since there is no worker process to survive its parent. The listening socket is
bound here, without SO_REUSEPORT, so a second server on a busy port is refused instead of
silently sharing the port (and answering every other request from another world).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import resource
import signal
import socket
import sys
import threading
from collections.abc import Callable
from typing import Any

from flask import Flask

BACKLOG = 1024  # connections the kernel queues before the server accepts them
# Connections served at once. granian's default (its backlog, 128) counts idle keep-alive
# sockets and requests waiting in a delay rule too, so 128 of either froze every world. A
# wait holds no thread (rsgi.py), so thousands cost little; each needs a file descriptor.
CONNECTIONS = 4096
STOP_GRACE_S = 5.0  # how long a stop waits for answers still going out before it exits anyway

log = logging.getLogger(__name__)


class PortInUse(OSError):
    """The address cannot be listened on; the message is the one line to show."""


def listen(host: str, port: int) -> socket.socket:
    """A socket listening on host:port, or PortInUse with one line saying why not."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # SO_REUSEADDR only lets us rebind over connections in TIME_WAIT; it never shares a port
    # that something listens on (that would take SO_REUSEPORT, deliberately not set).
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(BACKLOG)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            busy = f"port {port} on {host} is already in use; stop what holds it or pick another --port"
            raise PortInUse(busy) from None
        raise PortInUse(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock


class _QuietEmbedded(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "experimental" not in record.getMessage()


def serve(
    make_app: Callable[[], Flask],
    host: str,
    port: int,
    log_level: str = "warning",
    cert: str | None = None,
    key: str | None = None,
    on_shutdown: Callable[[], None] | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve the app that `make_app` builds on host:port (or on `sock`, from `listen`) until
    SIGINT or SIGTERM, then exit; the RSGI hooks of the app object run in this process."""
    from .rsgi import RSGIBridge

    def make_target() -> Any:
        return RSGIBridge(make_app(), host, str(port), on_shutdown)

    serve_rsgi(make_target, host, port, log_level, cert, key, sock)


def serve_rsgi(
    make_target: Callable[[], Any],
    host: str,
    port: int,
    log_level: str = "warning",
    cert: str | None = None,
    key: str | None = None,
    sock: socket.socket | None = None,
) -> None:
    """Serve the RSGI target `make_target` builds as the simulator is served (`make bench`
    serves its bare-handler limit so), on host:port or `sock`, until SIGINT or SIGTERM; then
    the process exits (status 0)."""
    sock = sock or listen(host, port)
    server = _embedded_server(sock, host, port, log_level, cert, key)
    with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
        runner.run(_run(server, make_target()))
    # Stopped, and the state saved. Python's own finalization would now race granian's runtime
    # threads, which then panic ("panic in a function that cannot unwind") on every other stop.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's event loop where it is installed (a dependency, except on Windows), else
    asyncio's own (None). Every request wakes the loop from granian's threads and is answered
    on it: measured side by side, uvloop's costs about a fifth less CPU per request and about
    halves p99 at 16 connections."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def _embedded_server(sock: socket.socket, host: str, port: int, log_level: str, cert: str | None, key: str | None):
    from pathlib import Path

    from granian._granian import SocketHolder
    from granian.constants import Interfaces, SSLProtocols
    from granian.log import LogLevels
    from granian.server.embed import Server

    class OwnSocketServer(Server):
        def _init_shared_socket(self) -> None:
            # granian hands its workers the socket it holds; give it ours (it takes the fd over).
            self._ssp = None
            # granian's stub leaves out SocketHolder's constructor and types _shd as None only
            holder = SocketHolder(sock.detach(), False, BACKLOG)  # type: ignore[call-arg]
            self._shd = holder  # type: ignore[assignment]
            self._sfd = holder.get_fd()

    server = OwnSocketServer(
        None,  # the target is handed over in _run
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        backlog=BACKLOG,
        backpressure=_connections_allowed(),
        log_level=LogLevels(log_level),
        ssl_cert=Path(cert) if cert else None,
        ssl_key=Path(key) if key else None,
        ssl_protocol_min=SSLProtocols.tls12,  # phones older than Android 10 lack TLS 1.3
    )
    logging.getLogger("_granian").addFilter(_QuietEmbedded())
    return server


def _connections_allowed() -> int:
    """CONNECTIONS, with the open-file limit raised to hold them where the hard limit lets it
    (many systems start processes at a soft limit of 1024); fewer when it cannot be."""
    spare = 256  # state files, scenario files, the realtime listener, logs
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = CONNECTIONS + spare
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    limit = CONNECTIONS if soft == resource.RLIM_INFINITY else soft - spare
    return max(128, min(CONNECTIONS, limit))


async def _run(server, bridge) -> None:
    loop = asyncio.get_running_loop()
    stop = _Stop(server, bridge, loop)
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop, signum)
    server.target = bridge
    await server.serve()


class _Stop:
    """SIGTERM or SIGINT: the bridge saves the worlds and ends what waits (rsgi.py), granian
    stops; past STOP_GRACE_S (a client still sending its body, say) the process exits anyway,
    after saving again. A second signal exits at once: the worlds were saved on the first."""

    def __init__(self, server: Any, bridge: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.server, self.bridge, self.loop = server, bridge, loop
        self.signalled = False

    def __call__(self, signum: int) -> None:
        if self.signalled:
            os._exit(128 + signum)
        self.signalled = True
        stopping = getattr(self.bridge, "stopping", None)  # a bare RSGI target (make bench) has none
        if stopping is not None:
            stopping(self.loop)
        self.server.stop()
        self.loop.call_later(STOP_GRACE_S, self._overdue)

    def _overdue(self) -> None:
        log.warning("answers still open %.0f s after the stop signal: exiting without them", STOP_GRACE_S)
        save = getattr(self.bridge, "save", None)
        if save is not None:
            save()
        os._exit(0)


class InThread:
    """The app served as `mock-server run` serves it (granian, the RSGI bridge and its fast
    path, keep-alive connections, the realtime channel on the same port), from a thread of
    this process, on 127.0.0.1 and a free port: the pytest plugin's thread mode. Its worlds
    are this process's own objects (`app.extensions["mock_server"]`)."""

    def __init__(self, app: Flask) -> None:
        from .rsgi import RSGIBridge

        sock = listen("127.0.0.1", 0)  # the system picks a free port: two suites never race for one
        self.port: int = sock.getsockname()[1]
        self._server = _embedded_server(sock, "127.0.0.1", self.port, "warning", None, None)
        self._bridge = RSGIBridge(app, "127.0.0.1", str(self.port))
        self._loop: asyncio.AbstractEventLoop | None = None
        started = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, args=(started,), daemon=True, name="mock-server")
        self._thread.start()
        started.wait()
        if self._failed is not None:
            raise RuntimeError("the simulator's server did not start") from self._failed

    def _serve(self, started: threading.Event) -> None:
        try:
            with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
                self._loop = runner.get_loop()
                self._server.target = self._bridge
                self._loop.call_soon(started.set)
                runner.run(self._server.serve())
        except BaseException as exc:  # told to the thread that waits for the start
            self._failed = exc
            raise
        finally:
            started.set()

    def stop(self, timeout: float = 10) -> None:
        """Stop serving: what waits in a rule's delay is answered, realtime sessions end."""
        loop = self._loop
        if loop is not None and self._thread.is_alive():

            def stop() -> None:
                self._bridge.stopping(loop)
                self._server.stop()

            with contextlib.suppress(RuntimeError):  # the loop already closed
                loop.call_soon_threadsafe(stop)
        self._thread.join(timeout)
