"""Holding connections and stopping, with a real server process: idle sockets and requests
waiting in a rule's delay starve no one, and SIGTERM stops within seconds, state saved first."""

from __future__ import annotations

import socket
import time
from contextlib import ExitStack

from serving import Running

USER_INFO = "/v2/enduser/enduserapi/userInfo"


def _open_sockets(stack: ExitStack, port: int, count: int, request: bytes = b"") -> list[socket.socket]:
    """`count` connections to the server, each sending `request` (nothing: an idle socket)
    and never reading an answer."""
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=10))
        if request:
            sock.sendall(request)
        sockets.append(sock)
    return sockets


def _timed(server: Running, path: str, **kw) -> tuple[float, int, dict]:
    started = time.monotonic()
    status, body = server.request("GET", path, **kw)
    return time.monotonic() - started, status, body


def _get(world: str, path: str = USER_INFO) -> bytes:
    return f"GET /s/{world}{path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: owner-token\r\n\r\n".encode()


def _rule_fired(server: Running, world: str) -> int:
    return server.request("GET", f"/s/{world}/_mock/rules")[1][0]["fired"]


def _wait_until(done, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ---- connections held ------------------------------------------------------------------------------


def test_200_idle_connections_leave_every_endpoint_answering():
    server = Running()
    try:
        with ExitStack() as stack:
            _open_sockets(stack, server.port, 200)
            time.sleep(0.3)  # the server has accepted them all
            took, status, _ = _timed(server, "/_mock/health")
            assert status == 200 and took < 2
            took, status, body = _timed(server, USER_INFO, headers={"Authorization": "owner-token"})
            assert status == 200 and body["code"] == 200 and took < 2
    finally:
        server.kill()


def test_requests_parked_in_one_worlds_delay_do_not_stall_another_world():
    server = Running()
    try:
        rule = {"match": {"path": "userInfo"}, "action": {"delay": "60s"}}
        assert server.request("POST", "/s/parked/_mock/rules", body=rule)[0] == 201
        with ExitStack() as stack:
            _open_sockets(stack, server.port, 200, _get("parked"))
            _wait_until(lambda: _rule_fired(server, "parked") == 200)  # all 200 wait in the delay
            took, status, body = _timed(server, f"/s/free{USER_INFO}", headers={"Authorization": "owner-token"})
            assert status == 200 and body["code"] == 200 and took < 2
            took, status, _ = _timed(server, "/s/parked/_mock/state")  # the parked world's control too
            assert status == 200 and took < 2
    finally:
        server.kill()
