"""Holding connections and stopping, with a real server process: idle sockets and requests
waiting in a rule's delay starve no one, and SIGTERM stops within seconds, state saved first."""

from __future__ import annotations

import json
import signal
import socket
import time
from contextlib import ExitStack

from serving import Running, read_to_end

from mock_server.server import STOP_GRACE_S

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


# ---- stopping ------------------------------------------------------------------------------------


def _stop_timed(server: Running, timeout: float = 20) -> tuple[int, float]:
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    code = server.proc.wait(timeout=timeout)
    return code, time.monotonic() - started


def test_sigterm_answers_delayed_requests_drops_hangs_saves_and_stops_within_seconds(tmp_path):
    state = tmp_path / "worlds.json"
    server = Running("--state-file", str(state))
    try:
        delay = {"match": {"path": "userInfo"}, "action": {"delay": "60s"}}
        hang = {"match": {"path": "userInfo"}, "action": {"fault": "hang"}}  # 120 s by default
        assert server.request("POST", "/s/slow/_mock/rules", body=delay)[0] == 201
        assert server.request("POST", "/s/stuck/_mock/rules", body=hang)[0] == 201
        with ExitStack() as stack:
            delayed = _open_sockets(stack, server.port, 3, _get("slow"))
            hanging = _open_sockets(stack, server.port, 3, _get("stuck"))
            _wait_until(lambda: _rule_fired(server, "slow") == 3 and _rule_fired(server, "stuck") == 3)
            code, took = _stop_timed(server)
            assert code == 0 and took < 3
            for sock in delayed:  # answered, without the rest of the delay
                head, _, body = read_to_end(sock).partition(b"\r\n\r\n")
                assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["code"] == 200
            for sock in hanging:  # dropped, as a hang ends: headers promise a body that never comes
                head, _, body = read_to_end(sock).partition(b"\r\n\r\n")
                length = int(
                    next(h for h in head.split(b"\r\n") if h.lower().startswith(b"content-length")).split(b":")[1]
                )
                assert len(body) < length
        assert {"slow", "stuck"} <= set(json.loads(state.read_bytes())["worlds"])
    finally:
        if server.proc.poll() is None:
            server.kill()


def _held_open(stack: ExitStack, port: int) -> socket.socket:
    """A client that sends a request's headers and the first byte of its body, then nothing:
    an answer the server cannot finish."""
    [sock] = _open_sockets(stack, port, 1, b"POST /_mock/rules HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                           b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")  # fmt: skip
    time.sleep(0.3)
    return sock


def test_a_client_that_never_finishes_holds_the_stop_no_longer_than_the_grace(tmp_path):
    state = tmp_path / "worlds.json"
    server = Running("--state-file", str(state))
    try:
        with ExitStack() as stack:
            _held_open(stack, server.port)
            code, took = _stop_timed(server)
        assert code == 0 and took < STOP_GRACE_S + 2
        assert "default" in json.loads(state.read_bytes())["worlds"]
    finally:
        if server.proc.poll() is None:
            server.kill()


def test_a_second_signal_stops_at_once_with_the_state_saved_on_the_first(tmp_path):
    state = tmp_path / "worlds.json"
    server = Running("--state-file", str(state))
    try:
        assert (
            server.request(
                "POST", "/s/kept/_mock/rules", body={"match": {"path": "nowhere"}, "action": {"delay": "1s"}}
            )[0]
            == 201
        )
        with ExitStack() as stack:
            _held_open(stack, server.port)
            server.proc.send_signal(signal.SIGTERM)
            time.sleep(0.5)
            assert server.proc.poll() is None  # still waiting for the body
            assert "kept" in json.loads(state.read_bytes())["worlds"]  # saved before waiting
            code, took = _stop_timed(server, timeout=5)
        assert code == 128 + signal.SIGTERM and took < 1
    finally:
        if server.proc.poll() is None:
            server.kill()


def test_sigterm_with_realtime_clients_connected_stops_at_once_without_a_traceback():
    from mock_server.realtime.client import RealtimeClient

    server = Running()
    try:
        with RealtimeClient(f"ws://127.0.0.1:{server.port}/ws/v2", "owner-token") as client:
            assert client.subscribe("q/2/d/qdp11u5wLAMP00000001/bus_") == [1]
            code, took = _stop_timed(server)
            assert client.disconnected.wait(5)
        assert code == 0 and took < 3
        assert b"Traceback" not in server.proc.stderr.read()
    finally:
        if server.proc.poll() is None:
            server.kill()


def test_a_clean_stop_after_serving_says_nothing_on_standard_error():
    """Python's finalization once raced granian's threads, which panicked on about every other
    stop: four stops in a row would show it."""
    for _ in range(4):
        server = Running()
        try:
            assert server.request("GET", "/_mock/health")[0] == 200
            code, took = _stop_timed(server)
            assert code == 0 and took < 3
            assert server.proc.stderr.read() == b""
        finally:
            if server.proc.poll() is None:
                server.kill()
