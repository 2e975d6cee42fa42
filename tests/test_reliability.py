"""Holding up: bad input and faults over real HTTP, and many threads in one world at once."""

import http.client
import json
import random
import socket
import threading
import urllib.parse

import pytest
from conftest import LAMP, OWNER
from serving import Running, read_to_end
from werkzeug.serving import make_server

from mock_server.app import create_app
from mock_server.cloud.models import ShareStatus

ACCEPT_BY = 4_000_000_000_000


@pytest.fixture(scope="module")
def server():
    running = Running()
    yield running
    running.stop()


def raw(server, payload: bytes, read: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(payload)
        return read_to_end(sock) if read else b""


def still_serving(server) -> bool:
    return server.api("GET", "userInfo", OWNER)["code"] == 200


def test_client_disconnecting_mid_request(server):
    for _ in range(5):
        raw(
            server,
            b"POST /v2/binding/enduserapi/shareInfo HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\npk=p11",
            read=False,
        )
        raw(server, b"GET /v2/enduser/enduserapi/userInfo HTT", read=False)
    assert still_serving(server)


def test_ten_megabyte_body(server):
    body = b"pk=" + b"x" * (10 * 1024 * 1024)
    head = (
        b"POST /v2/binding/enduserapi/shareInfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: owner-token\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    answer = raw(server, head + body)
    assert answer.startswith(b"HTTP/1.1 413") and b'"code":413' in answer
    assert still_serving(server)


def test_invalid_utf8_in_body_and_query(server):
    body = b"pk=\xff\xfe&dk=\xc3&acceptingExpireAt=1"
    head = (
        b"POST /v2/binding/enduserapi/shareInfo?shareCode=%FF%FE HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: owner-token\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n"
    )
    answer = raw(server, head + body)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    envelope = json.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert envelope["code"] in (5066, 5135, 5145) and set(envelope) == {"code", "msg", "data", "extMsg"}
    json_body = b'{"pk": "\xff", "dk": 1}'
    head = (
        b"POST /v2/binding/enduserapi/shareInfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
        b"Authorization: owner-token\r\nContent-Type: application/json\r\n"
        b"Content-Length: " + str(len(json_body)).encode() + b"\r\n\r\n"
    )
    assert raw(server, head + json_body).startswith(b"HTTP/1.1 200")
    assert still_serving(server)


def test_header_flood(server):
    headers = b"".join(b"X-Flood-%d: %s\r\n" % (i, b"y" * 200) for i in range(2000))
    answer = raw(
        server, b"GET /v2/enduser/enduserapi/userInfo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + headers + b"\r\n"
    )
    assert not answer.startswith(b"HTTP/1.1 5")
    assert still_serving(server)


def test_garbage_request_line(server):
    raw(server, b"\x00\x01GARBAGE / NOTHTTP\r\n\r\n")
    raw(server, b"GET /%%%%% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert still_serving(server)


# ---- many threads, one world ---------------------------------------------------------------


def test_concurrent_create_accept_cancel_in_one_world():
    """Eight clients create, accept and cancel shares of one device at once, through a
    threaded server. Afterwards every share is in exactly one state, no code was accepted by
    two recipients, and the journal holds every request."""
    app = create_app()
    world = app.extensions["mock_server"].world()
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_port}/v2/binding/enduserapi"
    recipients = [f"token-C9000{n:02d}" for n in range(1, 21)]
    sent = [0]
    accepted: dict[str, list[str]] = {}
    lock = threading.Lock()

    def call(conn, method: str, name: str, token: str, **params) -> dict:
        conn.request(method, f"{base}/{name}?{urllib.parse.urlencode(params)}", headers={"Authorization": token})
        body = json.loads(conn.getresponse().read())
        with lock:
            sent[0] += 1
        return body

    def client(seed: int) -> None:
        rng = random.Random(seed)
        conn = http.client.HTTPConnection("127.0.0.1", httpd.server_port, timeout=30)
        codes: list[str] = []
        for _ in range(60):
            roll = rng.random()
            if roll < 0.4 or not codes:
                body = call(conn, "POST", "shareInfo", OWNER, **LAMP, acceptingExpireAt=ACCEPT_BY, coverMark=2)
                codes.append(body["data"])
            elif roll < 0.8:
                token = rng.choice(recipients)
                code = rng.choice(codes)
                if call(conn, "POST", "shareDevice", token, shareCode=code)["code"] == 200:
                    with lock:
                        accepted.setdefault(code, []).append(token)
            else:
                call(conn, "DELETE", "ownerUserUnshareDevice", OWNER, shareCode=rng.choice(codes))

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    httpd.shutdown()

    assert accepted and all(len(tokens) == 1 for tokens in accepted.values())
    assert world.journal.total == sent[0] == 8 * 60
    live = {code for bucket in world.live_by_device.values() for code in bucket}
    active = {code for bucket in world.active_by_recipient.values() for code in bucket}
    for share in world.shares.values():
        assert share.status in (ShareStatus.PENDING, ShareStatus.ACTIVE, ShareStatus.ENDED)
        assert (share.code in live) == (share.status is not ShareStatus.ENDED)
        assert (share.code in active) == (share.status is ShareStatus.ACTIVE)
        assert (share.failure_cause is None) == (share.status is not ShareStatus.ENDED)
        if share.status is ShareStatus.ACTIVE:
            assert accepted[share.code] == [f"token-{share.recipient_uid}"]
