"""What the realtime channel's own delivery path (realtime/outbox.py) must keep: each
subscriber's QoS 1 packet ids and order, PUBACKs taken out of the stream (split or not) and
only its own, a stalled or vanished subscriber holding back no one else; and the encoding,
byte for byte amqtt's."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid

import pytest
from amqtt.mqtt.publish import PublishPacket
from helpers import Running
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from mock_server.realtime import outbox as outbox_module
from mock_server.realtime import transport
from mock_server.realtime.client import RealtimeClient
from mock_server.realtime.outbox import ACK_TIMEOUT_S, Message, Outbox
from mock_server.realtime.transport import RSGIReader

LAMP = ("p11u5w", "LAMP00000001")
BUS = f"q/2/d/qd{LAMP[0]}{LAMP[1]}/bus_"
WRITE = f"q/1/d/qd{LAMP[0]}{LAMP[1]}/sys_"


@pytest.fixture(scope="module")
def server():
    running = Running()
    yield running
    running.stop()


@pytest.fixture
def world(server):
    return f"/s/fan-{uuid.uuid4().hex[:10]}"


def utf8(text: str) -> bytes:
    data = text.encode()
    return len(data).to_bytes(2, "big") + data


def packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + outbox_module.remaining_length(len(body)) + body


class RawClient:
    """MQTT 3.1.1 by hand over a WebSocket: to see packet ids, and to hold back PUBACKs."""

    def __init__(self, url: str, token: str, keepalive: int = 60) -> None:
        self.ws = connect(url, subprotocols=[Subprotocol("mqtt")], open_timeout=10)
        self.buffer = bytearray()
        flags = 0xC2  # user name, password, clean session
        header = utf8("MQTT") + bytes((4, flags)) + keepalive.to_bytes(2, "big")
        self.ws.send(packet(0x10, header + utf8(f"raw-{uuid.uuid4().hex[:8]}") + utf8("") + utf8(token)))
        assert self.next() == (0x20, b"\x00\x00")  # CONNACK, accepted

    def subscribe(self, topic_filter: str) -> None:
        self.ws.send(packet(0x82, (1).to_bytes(2, "big") + utf8(topic_filter) + b"\x01"))
        first, body = self.next()
        assert first == 0x90 and body == b"\x00\x01\x01", body  # SUBACK: granted QoS 1

    def next(self, timeout: float = 5) -> tuple[int, bytes]:
        """The next packet: its first byte and its body."""
        deadline = time.monotonic() + timeout
        while True:
            if len(self.buffer) >= 2:
                length, size = 0, 1
                while self.buffer[size] & 0x80:
                    length |= (self.buffer[size] & 0x7F) << (7 * (size - 1))
                    size += 1
                length |= self.buffer[size] << (7 * (size - 1))
                end = 1 + size + length
                if len(self.buffer) >= end:
                    first, body = self.buffer[0], bytes(self.buffer[1 + size : end])
                    del self.buffer[:end]
                    return first, body
            self.buffer += self.ws.recv(timeout=max(deadline - time.monotonic(), 0.01))

    def publishes(self, count: int) -> list[tuple[int, dict]]:
        """The next `count` PUBLISH packets at QoS 1: (packet id, payload), unacknowledged."""
        out = []
        for _ in range(count):
            first, body = self.next()
            assert first & 0xF0 == 0x30 and (first >> 1) & 3 == 1, hex(first)
            topic_end = 2 + int.from_bytes(body[:2], "big")
            out.append((int.from_bytes(body[topic_end : topic_end + 2], "big"), json.loads(body[topic_end + 2 :])))
        return out

    def ack(self, packet_id: int, split: bool = False) -> None:
        data = packet(0x40, packet_id.to_bytes(2, "big"))
        for part in (data[:1], data[1:3], data[3:]) if split else (data,):
            self.ws.send(part)

    def close(self) -> None:
        self.ws.close()


def write(client: RealtimeClient, brightness: int) -> None:
    client.publish(
        WRITE, {"msgId": brightness, "type": "WRITE-ATTR", "kv": json.dumps([{"brightness": brightness}])}, 0
    )


def test_each_subscriber_has_its_own_packet_ids_in_order_and_an_unacknowledged_id_is_not_reused(server, world):
    url = f"ws://127.0.0.1:{server.port}{world}/ws/v2"
    acking, silent = RawClient(url, "owner-token"), RawClient(url, "owner-token")
    driver = RealtimeClient(url, "owner-token")
    try:
        for client in (acking, silent):
            client.subscribe(BUS)
        for level in range(1, 6):
            write(driver, level)
        got = acking.publishes(5)
        assert [p for p, _ in got] == [1, 2, 3, 4, 5]  # a connection's own numbering, from 1
        assert [m["data"]["kv"]["brightness"] for _, m in got] == [1, 2, 3, 4, 5]
        for packet_id, _ in got:
            acking.ack(packet_id, split=packet_id % 2 == 0)  # a PUBACK over three frames too
        held = silent.publishes(5)
        assert [p for p, _ in held] == [1, 2, 3, 4, 5]
        silent.ack(3)
        for level in range(6, 9):
            write(driver, level)
        assert [p for p, _ in acking.publishes(3)] == [6, 7, 8]
        assert [(p, m["data"]["kv"]["brightness"]) for p, m in silent.publishes(3)] == [(6, 6), (7, 7), (8, 8)]
    finally:
        for client in (acking, silent, driver):
            client.close()


def test_a_stalled_subscriber_and_a_vanished_one_hold_back_no_one(server, world):
    url = f"ws://127.0.0.1:{server.port}{world}/ws/v2"
    stalled, vanished = RawClient(url, "owner-token"), RawClient(url, "owner-token")
    listener, driver = RealtimeClient(url, "owner-token"), RealtimeClient(url, "owner-token")
    try:
        for client in (stalled, vanished):
            client.subscribe(BUS)  # then never read, never acknowledge
        listener.subscribe(BUS)
        vanished.ws.socket.shutdown(socket.SHUT_RDWR)  # gone without a word
        for level in range(1, 101):
            write(driver, level)
        got = listener.wait_for("bus_", count=100)
        assert [m.json["data"]["kv"]["brightness"] for m in got] == list(range(1, 101))
    finally:
        for client in (stalled, vanished, listener, driver):
            client.close()


def test_a_client_that_only_acknowledges_for_several_keep_alive_periods_misses_nothing(server, world):
    # amqtt's read of the next packet gives up after each keep-alive period: the PUBACKs it
    # never sees must not make it lose what arrives, nor drop the client.
    url = f"ws://127.0.0.1:{server.port}{world}/ws/v2"
    quiet, driver = RawClient(url, "owner-token", keepalive=1), RealtimeClient(url, "owner-token")
    try:
        quiet.subscribe(BUS)
        levels = []
        for level in range(1, 31):  # about 3 s
            write(driver, level)
            [(packet_id, message)] = quiet.publishes(1)
            quiet.ack(packet_id)
            levels.append(message["data"]["kv"]["brightness"])
            time.sleep(0.1)
        assert levels == list(range(1, 31))
    finally:
        quiet.close()
        driver.close()


# ---- in-process: the encoding, the outbox, the reader --------------------------------------------


@pytest.mark.parametrize("size", [0, 90, 200, 20_000])
@pytest.mark.parametrize(("qos", "retain"), [(0, False), (1, False), (1, True)])
def test_a_publish_packet_is_byte_for_byte_amqtts(size, qos, retain):
    payload = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    topic = "q/2/d/qdp11u5wLAMP00000001/bus_"
    packet_id = 513 if qos else None
    theirs = PublishPacket.build(topic, payload, packet_id, False, qos, retain).to_bytes()
    head = Message(topic, payload).head(qos, retain)
    ours = head + (packet_id.to_bytes(2, "big") if packet_id else b"") + payload
    assert ours == theirs


class Collected:
    closed = False

    def __init__(self) -> None:
        self.packets: list[bytes] = []

    def push(self, data: bytes) -> None:
        self.packets.append(data)


def test_the_outbox_skips_ids_in_flight_gives_up_after_the_timeout_and_resolves_waiters(monkeypatch):
    loop = asyncio.new_event_loop()
    now = [1000.0]
    monkeypatch.setattr(outbox_module.time, "monotonic", lambda: now[0])
    try:
        stream = Collected()
        box = Outbox(stream, loop)
        message = Message("t", b"p")
        box._last_id = 65533  # near the wrap
        assert box.publish(message, 1) is None
        waiter = box.publish(message, 1, waiter=True)
        assert list(box.inflight) == [65534, 65535]
        box.acked(65534)
        box._last_id = 65533
        box.publish(message, 1)  # 65534 is free again; 65535 is still in flight
        box.publish(message, 1)
        assert list(box.inflight) == [65535, 65534, 1]
        assert not box.acked(7) and waiter is not None and not waiter.done()
        assert box.acked(65535) and waiter.done() and not waiter.cancelled()
        now[0] += ACK_TIMEOUT_S  # the rest go unacknowledged: given up on the next publish
        box.publish(message, 1)
        assert list(box.inflight) == [2]
        late = box.publish(message, 1, waiter=True)
        box.close()
        assert late is not None and late.cancelled() and not box.inflight
        assert [p[-3:-1] for p in stream.packets[:2]] == [(65534).to_bytes(2, "big"), (65535).to_bytes(2, "big")]
        assert box.publish(message, 0, waiter=True).done()  # QoS 0: through once queued
        assert stream.packets[-1] == b"\x30\x04\x00\x01tp"
    finally:
        loop.close()


class Frames:
    """A granian WebSocket transport that hands over the given messages, then closes."""

    def __init__(self, frames: list[bytes]) -> None:
        self.frames = list(frames)

    async def receive(self):
        class Message:
            kind, data = (1, self.frames.pop(0)) if self.frames else (0, b"")

        return Message()


def test_the_reader_takes_out_the_outboxs_pubacks_and_passes_everything_else_whole():
    puback = bytes((0x40, 2, 0, 7))
    foreign = bytes((0x40, 2, 0, 9))
    publish = packet(0x30, utf8("a/b") + b"x" * 300)  # a two-byte remaining length
    ping = bytes((0xC0, 0))
    stream = puback + publish + foreign + ping + puback
    # cut everywhere: in a length, in a body, between packets
    frames = [stream[:1], stream[1:3], stream[3:6], stream[6:200], stream[200:-3], stream[-3:]]
    reader = RSGIReader(Frames(frames))
    acked: list[int] = []
    reader.on_puback = lambda packet_id: acked.append(packet_id) or packet_id == 7
    got = asyncio.run(reader.read(len(publish) + len(foreign) + len(ping) + 1))
    assert got == publish + foreign + ping
    assert acked == [7, 9, 7]


def test_a_malformed_length_reaches_amqtt_as_it_came():
    bad = bytes((0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01)) + b"rest"
    reader = RSGIReader(Frames([bad]))
    reader.on_puback = lambda packet_id: True
    assert asyncio.run(reader.read(len(bad) + 1)) == bad


class Unread:
    """A granian WebSocket transport whose client has stopped reading: a send never ends."""

    def __init__(self) -> None:
        self.sent = 0

    async def send_bytes(self, data: bytes) -> None:
        self.sent += 1
        await asyncio.Event().wait()


def test_a_client_that_leaves_too_much_unread_is_dropped_instead_of_holding_memory():
    async def main() -> tuple[bool, bool, int]:
        reader = RSGIReader(Frames([]))
        writer = transport.RSGIWriter(Unread(), ("127.0.0.1", 1), reader)
        chunk = b"\x30" + b"x" * (1 << 20)
        for _ in range(transport.UNREAD_LIMIT // len(chunk)):
            writer.push(chunk)
            await asyncio.sleep(0)
        held = writer.closed
        writer.push(chunk)  # past the limit
        writer.push(chunk)  # after it: ignored
        return held, writer.closed and reader._eof, len(writer._pending)

    held, dropped, queued = asyncio.run(main())
    assert not held and dropped and queued == 0


def test_a_client_announcing_a_packet_over_the_limit_is_dropped_before_it_is_buffered():
    too_long = transport.MAX_INBOUND_PACKET + 1
    header = bytes((0x30,)) + outbox_module.remaining_length(too_long)
    frames = [header[:2], header[2:] + b"x" * 1000] + [b"x" * 1000] * 5
    reader = RSGIReader(Frames(frames))
    assert asyncio.run(reader.read(1)) == b""  # the end of the stream, at once
    assert reader._eof and not reader._partial and not reader._buffer
    assert len(reader._transport.frames) == 5  # nothing more was taken in


def test_a_packet_at_the_limit_still_reaches_amqtt():
    body = b"x" * (transport.MAX_INBOUND_PACKET - 5)
    whole = packet(0x30, utf8("t") + body)
    reader = RSGIReader(Frames([whole[:70_000], whole[70_000:]]))
    assert asyncio.run(reader.read(len(whole))) == whole


# ---- what apps publish, taken out of the stream before amqtt ------------------------------------


def publish_packet(topic: str, payload: bytes, qos: int = 0, packet_id: int = 0, flags: int = 0) -> bytes:
    body = utf8(topic) + (packet_id.to_bytes(2, "big") if qos else b"") + payload
    return packet(0x30 | (qos << 1) | flags, body)


def test_the_reader_takes_app_publishes_at_qos_0_and_1_and_leaves_amqtt_what_it_refuses_or_keeps():
    taken = [publish_packet("a/b", b"zero"), publish_packet("a/b", b"one", qos=1, packet_id=513)]
    left = [
        publish_packet("a/b", b"two", qos=2, packet_id=9),  # QoS 2: amqtt's flow
        publish_packet("a/+", b"wild"),  # amqtt refuses these and closes the connection
        publish_packet("$SYS/x", b"sys"),
        publish_packet("", b"none"),
        packet(0x30, b"\x00\x02\xff\xfe" + b"bad utf-8"),
    ]
    duplicate = publish_packet("a/b", b"dup", flags=0x08)  # QoS 0 with DUP: amqtt ignores it
    stream = b"".join([taken[0], duplicate, taken[1], *left])
    reader = RSGIReader(Frames([stream[:5], stream[5:40], stream[40:]]))
    got: list[tuple] = []
    reader.on_publish = lambda topic, packet_id, payload: got.append((topic, packet_id, payload))
    whole = b"".join(left)
    assert asyncio.run(reader.read(len(whole) + 1)) == whole
    assert got == [("a/b", None, b"zero"), ("a/b", 513, b"one")]
    assert reader.broker_busy == len(left)  # what comes after them waits for the broker


def test_a_publish_behind_a_subscribe_waits_until_the_broker_has_handled_it():
    subscribe = packet(0x82, (1).to_bytes(2, "big") + utf8("a/b") + b"\x01")

    async def main() -> list[list]:
        reader = RSGIReader(Frames([subscribe + publish_packet("t", b"1") + publish_packet("t", b"2", 1, 7)]))
        got: list = []
        reader.on_publish = lambda topic, packet_id, payload: got.append(payload)
        assert await reader.read(len(subscribe)) == subscribe
        seen = [list(got)]
        reader.settled()  # the SUBSCRIBE is handled: both publishes go on, in order
        seen.append(list(got))
        return seen

    assert asyncio.run(main()) == [[], [b"1", b"2"]]


def test_a_publish_behind_a_packet_the_broker_never_reports_goes_on_after_a_while(monkeypatch):
    monkeypatch.setattr(transport, "SETTLE_LIMIT_S", 0.05)
    garbled = packet(0x82, b"\x00")  # amqtt discards it and says nothing

    async def main() -> tuple[list, list]:
        reader = RSGIReader(Frames([garbled + publish_packet("t", b"late")]))
        got: list = []
        reader.on_publish = lambda topic, packet_id, payload: got.append(payload)
        await reader.read(len(garbled))
        before = list(got)
        await asyncio.sleep(0.2)
        return before, got

    assert asyncio.run(main()) == ([], [b"late"])


def test_a_flood_of_publishes_held_behind_an_unreported_packet_drops_the_client_instead_of_holding_memory():
    garbled = packet(0x82, b"\x00")  # amqtt discards it and says nothing: what follows is held
    big = publish_packet("t", b"x" * (transport.MAX_INBOUND_PACKET - 100))
    flood = [big] * (transport.UNREAD_LIMIT // len(big) + 2)

    async def main() -> tuple[bool, bool, int]:
        reader = RSGIReader(Frames([garbled, *flood]))
        got: list = []
        reader.on_publish = lambda topic, packet_id, payload: got.append(payload)
        await reader.read(len(garbled))
        while not reader._eof:
            await asyncio.sleep(0)
        return reader._eof, not reader._held, len(got)

    assert asyncio.run(main()) == (True, True, 0)


def test_a_write_in_the_frame_of_a_subscribe_is_acknowledged_carried_out_and_reported_to_it(server, world):
    url = f"ws://127.0.0.1:{server.port}{world}/ws/v2"
    raw = RawClient(url, "owner-token")
    try:
        subscribe = packet(0x82, (1).to_bytes(2, "big") + utf8(BUS) + b"\x01")
        body = json.dumps({"msgId": 3, "type": "WRITE-ATTR", "kv": json.dumps([{"brightness": 37}])}).encode()
        raw.ws.send(subscribe + publish_packet(WRITE, body, qos=1, packet_id=4242))
        got = [raw.next() for _ in range(3)]
        assert (0x90, b"\x00\x01\x01") in got  # SUBACK
        assert (0x40, (4242).to_bytes(2, "big")) in got  # the write's PUBACK, with its own id
        [report] = [body for first, body in got if first == 0x32]
        assert b'"brightness":37' in report.replace(b" ", b"")
        journal = server.request("GET", f"{world}/_mock/journal?kind=mqtt")[1]["entries"]
        [entry] = [e for e in journal if e["endpoint"] == "mqtt.publish"]
        assert entry["path"] == WRITE and '"WRITE-ATTR"' in entry["payload"]
    finally:
        raw.close()


def test_a_push_asks_no_loop_of_asyncio(monkeypatch):
    """The writer keeps its loop: asyncio.get_running_loop() makes a getpid system call on
    every call (3.11), and a fan-out pushes a packet per delivery."""

    class Quick:
        def __init__(self) -> None:
            self.sent: list[bytes] = []

        async def send_bytes(self, data: bytes) -> None:
            self.sent.append(data)

    async def main() -> list[bytes]:
        quick = Quick()
        writer = transport.RSGIWriter(quick, ("127.0.0.1", 1), RSGIReader(Frames([])))
        asked = []
        monkeypatch.setattr(transport.asyncio, "get_running_loop", lambda: asked.append(1) or pytest.fail("asked"))
        for n in range(3):
            writer.push(packet(0x30, utf8("t") + bytes((n,))))
            await asyncio.sleep(0)
        monkeypatch.undo()
        await asyncio.sleep(0.01)
        assert asked == []
        return quick.sent

    sent = asyncio.run(main())
    assert b"".join(sent) == b"".join(packet(0x30, utf8("t") + bytes((n,))) for n in range(3))


def test_while_amqtt_is_held_up_the_stream_is_not_read_past_the_read_ahead_and_nothing_is_lost():
    """amqtt held up (its writes wait on a client that stopped reading, which still sends):
    what the client sends waits in the network, not in the server's memory; once amqtt reads
    again, every packet reaches it, in order."""
    pings = [bytes((0xC0, 0)) * 50_000 for _ in range(40)]  # 100,000 bytes a message, 4 MB in all

    async def main() -> tuple[int, int, bytes]:
        reader = RSGIReader(Frames(pings))
        first = await reader.read(2)  # amqtt reads a packet, then is held up
        for _ in range(100):
            await asyncio.sleep(0)
        held, unread = len(reader._buffer), len(reader._transport.frames)
        rest = await reader.read(len(pings) * len(pings[0]) - 2)
        return held, unread, first + rest

    held, unread, got = asyncio.run(main())
    assert transport.READ_AHEAD < held <= transport.READ_AHEAD + len(pings[0])
    assert unread >= len(pings) - 12  # the rest waits in the network
    assert got == b"".join(pings)


def test_amqtt_asking_for_more_than_the_read_ahead_gets_it_once_framing_has_stopped():
    """Past a malformed length the reader passes bytes as they come, and amqtt may ask for any
    number of them: it is never left waiting on a paused stream."""
    bad = bytes((0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01))
    chunks = [bad] + [b"x" * 200_000 for _ in range(10)]
    reader = RSGIReader(Frames(chunks))
    reader.on_puback = lambda packet_id: True
    whole = b"".join(chunks)
    assert asyncio.run(asyncio.wait_for(reader.read(len(whole)), 10)) == whole  # no wait for ever
