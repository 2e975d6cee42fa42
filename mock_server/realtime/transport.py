"""Byte streams between a WebSocket and the broker: amqtt reads MQTT packets through a reader
adapter and writes through a writer adapter, whatever carries them. A granian RSGI WebSocket
carries them on the simulator's own HTTP port; a `websockets` connection on the dedicated
`--mqtt-port` listener.

Binary frames only: MQTT over WebSocket puts packets in binary messages (MQTT 3.1.1 §6);
a text message is taken as its UTF-8 bytes, as amqtt's own WebSocket reader does.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from amqtt import adapters as amqtt_adapters
from amqtt.adapters import ReaderAdapter, WriterAdapter

CLOSE = 0  # granian's WebsocketMessageType.close
SUBACK = b"\x90"  # the fixed header's first byte
PUBACK = 0x40
PUBLISH = 3  # the packet type, the first byte's high nibble
DUP = 0x08
# Packets whose order against a PUBLISH matters (a write right after a subscription must find
# it live): SUBSCRIBE and UNSUBSCRIBE, whose first bytes are fixed (MQTT 3.1.1 §3.8.1, §3.10.1)
ORDERED = (0x82, 0xA2)
# How long an uplink PUBLISH waits behind a packet amqtt never reports handled (one it
# discards without a word, a SUBSCRIBE with an empty filter) before it is carried out anyway.
# Longer than any rule is expected to delay a SUBSCRIBE: one delayed longer is overtaken.
SETTLE_LIMIT_S = 10.0
BACKLOG = 1 << 20  # bytes a connection may have queued before its writers wait
# Bytes for amqtt a connection may have waiting before its stream is read further: while amqtt
# is held up (its writes wait on a client that stopped reading, which can still send), what
# the client sends waits in the network, not in the server's memory.
READ_AHEAD = 1 << 20
# Bytes a client may leave unread before the channel drops it, as a broker drops a client
# whose keep-alive lapses: deliveries are queued without waiting (outbox.py), and a client
# that stopped reading would otherwise hold the server's memory without bound.
UNREAD_LIMIT = 16 << 20
# The largest packet a client may send: a client announcing more (MQTT allows 256 MB) is
# dropped as soon as the length is read, rather than buffered while it trickles in. An app
# publishes commands of a few hundred bytes; the HTTP API takes bodies of 1 MB at most too.
MAX_INBOUND_PACKET = 1 << 20


def on_completion(start: Callable[[], Awaitable[Any]], then: Callable[[asyncio.Future], None]) -> asyncio.Future | None:
    """What `start` begins (a granian receive or send), with `then` called once it is over;
    None when it cannot begin (the transport has closed). A callback, not a task: no
    coroutine is stepped per message."""
    try:
        future = asyncio.ensure_future(start())
    except Exception:
        return None
    future.add_done_callback(then)
    return future


Uplink = Callable[[str, int | None, bytes], None]  # topic, packet id (QoS 1) or None, payload


def parse_publish(first: int, body: bytes | bytearray) -> tuple[str, int | None, bytes] | None:
    """Topic, packet id (None at QoS 0) and payload of a PUBLISH at QoS 0 or 1 that the
    broker would hand on as it is; None for any other (QoS 2, a malformed one, a topic amqtt
    refuses: a wildcard, a leading `$`, none), which amqtt keeps dealing with as before."""
    qos = (first >> 1) & 3
    if qos > 1 or len(body) < 2:
        return None
    end = 2 + int.from_bytes(body[:2], "big")
    if len(body) < end + 2 * qos:
        return None
    try:
        topic = bytes(body[2:end]).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not topic or topic.startswith("$") or "#" in topic or "+" in topic:
        return None
    packet_id = int.from_bytes(body[end : end + 2], "big") if qos else None
    return topic, packet_id, bytes(body[end + 2 * qos :])


class RSGIReader(ReaderAdapter):
    """amqtt reads whole packets from here. PUBACKs for the outbox (outbox.py) are taken out
    as they arrive, once `on_puback` is set: amqtt would parse each into objects and start a
    task for it, one per message delivered at QoS 1. So are what apps publish (QoS 0 and 1),
    once `on_publish` is set: amqtt would run its whole session machinery for each (a parse
    into objects, three tasks, a queue, a wait on four futures) before handing it to the hub.

    Order against what amqtt still handles holds: a PUBLISH that arrives while amqtt works on
    an earlier SUBSCRIBE, UNSUBSCRIBE or PUBLISH of this client waits until the broker reports
    it handled (`settled`), as amqtt itself would have handled them one after the other."""

    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._buffer = bytearray()  # whole packets (or, once framing stopped, any bytes) for amqtt
        self._partial = bytearray()  # the start of a packet still arriving
        self._framing = True
        self._eof = False
        self._arrived = asyncio.Event()  # set when the buffer grew or the stream ended
        self._started = False  # receiving, from amqtt's first read on
        self._receiving: asyncio.Future | None = None
        self._paused = False  # READ_AHEAD bytes wait for amqtt: nothing more is received
        self.on_puback: Callable[[int], bool] | None = None  # True: the packet id was the outbox's
        self.on_publish: Uplink | None = None
        self.broker_busy = 0  # ORDERED packets and PUBLISHes handed to amqtt, not yet settled
        self._held: deque[tuple[str, int | None, bytes]] = deque()  # publishes waiting on amqtt
        self._held_bytes = 0  # their payloads' size: past UNREAD_LIMIT, the client is dropped
        self._unstick: asyncio.TimerHandle | None = None

    async def read(self, n: int = -1) -> bytes:
        if not self._started:
            self._started = True
            self._receive_next()
        while not self._eof and (len(self._buffer) < n if n > 0 else not self._buffer):
            if self._paused:  # amqtt asks for more than waits (once framing stopped): read on
                self._resume()
            self._arrived.clear()
            await self._arrived.wait()
        if n < 0:
            n = len(self._buffer)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        if self._paused and len(self._buffer) <= READ_AHEAD:
            self._resume()
        return data

    def _resume(self) -> None:
        self._paused = False
        self._receive_next()

    def _receive_next(self) -> None:
        """Ask for the next WebSocket message, until the peer closes or the server cuts the
        connection (`feed_eof`). The stream is read here whatever amqtt does: amqtt's read
        gives up each keep-alive period without a packet for it (a client that only
        acknowledges, its PUBACKs taken out here), and a receive cancelled with it could lose
        the message that had just arrived. A callback per message, no task or coroutine,
        and amqtt is woken only when something is for it."""
        if self._eof:  # a cut stops it at once, even where receive does not suspend
            return
        self._receiving = on_completion(self._transport.receive, self._received)
        if self._receiving is None:  # the transport closed under us
            self._stop()

    def _received(self, receiving: asyncio.Future) -> None:
        self._receiving = None
        if self._eof:
            return
        try:
            message = receiving.result()
            if message.kind == CLOSE:
                self._stop()
                return
            data = message.data
            before = len(self._buffer)
            self._take(data.encode("utf-8") if isinstance(data, str) else data)
        except (asyncio.CancelledError, Exception):  # the transport closed under us
            self._stop()
            return
        if len(self._buffer) > before:
            self._arrived.set()
        if len(self._buffer) > READ_AHEAD:  # amqtt is behind: read on once it has caught up
            self._paused = True
            return
        self._receive_next()

    def _stop(self) -> None:
        self._eof = True
        self._arrived.set()

    def feed_eof(self) -> None:
        self._stop()
        if self._receiving is not None:
            self._receiving.cancel()

    def _take(self, data: bytes) -> None:
        """Split what arrived into packets: the outbox's PUBACKs are answered here, the rest
        goes on to amqtt. A packet split over WebSocket messages (MQTT allows it) waits
        for its end; a malformed length stops the framing, and amqtt sees it as it came."""
        if not self._framing:
            self._buffer += data
            return
        raw = self._partial
        raw += data
        start = 0
        while len(raw) - start >= 2:
            length, size = 0, 0
            for size in range(1, 5):  # the remaining length: at most 4 bytes (MQTT §2.2.3)
                if start + size >= len(raw):
                    break
                digit = raw[start + size]
                length |= (digit & 0x7F) << (7 * (size - 1))
                if not digit & 0x80:
                    break
            else:  # a fifth length byte: malformed, for amqtt to refuse
                self._framing = False
                self._buffer += raw[start:]
                start = len(raw)
                break
            if start + size < len(raw) and length > MAX_INBOUND_PACKET:  # the whole length read
                raw.clear()
                self.feed_eof()  # amqtt sees the client go; nothing more is received
                return
            end = start + 1 + size + length
            if start + size >= len(raw) or end > len(raw):
                break  # not all here yet
            first = raw[start]
            if not self._taken(first, length, raw[start + 1 + size : end]):
                self._buffer += raw[start:end]
                if first in ORDERED or first >> 4 == PUBLISH:
                    self.broker_busy += 1
            start = end
        del raw[:start]

    def _taken(self, first: int, length: int, body: bytearray) -> bool:
        """True when this packet is not for amqtt: an outbox's PUBACK, or a PUBLISH taken."""
        if first == PUBACK:
            return length == 2 and self._acked(body)
        return first >> 4 == PUBLISH and self._uplink(first, body)

    def _uplink(self, first: int, body: bytearray) -> bool:
        """Take a PUBLISH out of the stream for `on_publish`; False to leave it to amqtt."""
        if self.on_publish is None:
            return False
        message = parse_publish(first, body)
        if message is None:
            return False
        if message[1] is None and first & DUP:
            return True  # amqtt ignores a QoS 0 message with DUP set (MQTT-3.3.1-2)
        if self.broker_busy or self._held:
            self._held_bytes += len(message[2])
            if self._held_bytes > UNREAD_LIMIT:  # a flood behind a packet amqtt sits on: memory
                self._held.clear()
                self.feed_eof()
                return True
            self._held.append(message)
            if self._unstick is None:
                self._unstick = asyncio.get_running_loop().call_later(SETTLE_LIMIT_S, self._settle_all)
        else:
            self.on_publish(*message)
        return True

    def settled(self) -> None:
        """The broker has handled one packet it was handed: publishes held behind the last
        one go on."""
        self.broker_busy = max(0, self.broker_busy - 1)
        if not self.broker_busy:
            self._release()

    def _settle_all(self) -> None:
        self._unstick = None
        self.broker_busy = 0
        self._release()

    def _release(self) -> None:
        if self._unstick is not None:
            self._unstick.cancel()
            self._unstick = None
        while self._held and not self.broker_busy:
            message = self._held.popleft()
            self._held_bytes -= len(message[2])
            if self.on_publish is not None:
                self.on_publish(*message)

    def _acked(self, packet_id: bytes | bytearray) -> bool:
        return self.on_puback is not None and self.on_puback(int.from_bytes(packet_id, "big"))


class RSGIWriter(WriterAdapter):
    """One sender per connection, driven by callbacks rather than a task: what is queued in
    one turn of the loop goes out as one WebSocket frame (MQTT lets a frame hold several
    packets), what queues while a frame is on its way goes in the next, and no coroutine or
    task is made per delivery."""

    def __init__(self, transport: Any, peer: tuple[str, int], reader: RSGIReader) -> None:
        self._transport = transport
        self._peer = peer
        self.reader = reader
        # The loop it runs on, kept: asyncio.get_running_loop() asks the kernel for the process
        # id on every call (3.11), and a fan-out schedules a send per delivery.
        self._loop = asyncio.get_running_loop()
        self._pending = bytearray()
        self._scheduled = False  # a send is due later in this turn of the loop
        self._sending: asyncio.Future | None = None  # the frame on its way
        self._waiters: list[asyncio.Future] = []  # done once nothing is queued or on its way
        self._closing: asyncio.Future | None = None
        self._cutting = False
        self.closed = False
        # A CONNACK return code to answer instead of amqtt's refusal (5): rules may want 4.
        self.connack_code: int | None = None
        self.cut_after_suback = False  # a rule's disconnect on subscribe: the SUBACK, then the cut
        self._first = True

    def write(self, data: bytes) -> None:
        if self._first and self.connack_code is not None and data[:2] == b"\x20\x02" and data[3]:
            # The first packet is always the CONNACK (20 02 flags code); only a refusal is changed.
            data = data[:3] + bytes([self.connack_code]) + data[4:]
        self._first = False
        if not self._cutting:
            self._pending += data
            if self.cut_after_suback and data[:1] == SUBACK:
                self.cut()

    def push(self, data: bytes) -> None:
        """Queue a packet and have it sent, without waiting (outbox.py): a client that stops
        reading lets its bytes pile up here and blocks no one else."""
        if self.closed:
            return
        self.write(data)
        if len(self._pending) > UNREAD_LIMIT:
            self._pending = bytearray()
            self._cutting = True
            self._end()  # the broker sees the client go; nothing more is queued for it
            return
        self._schedule()

    async def drain(self) -> None:
        """amqtt's packets go out as pushed ones do, and amqtt's write lock is not held for
        the network's time. Past BACKLOG bytes queued (a client that stopped reading), the
        writer waits until they have gone."""
        if not self._pending or self.closed:
            return
        self._schedule()
        if len(self._pending) > BACKLOG:
            await self._all_sent()

    def _schedule(self) -> None:
        if not self._scheduled and self._sending is None and self._pending:
            self._scheduled = True
            self._loop.call_soon(self._send_next)

    def _send_next(self) -> None:
        self._scheduled = False
        if self._sending is not None:
            return
        if not self._pending or self.closed:
            self._wake_waiters()
            return
        data, self._pending = bytes(self._pending), bytearray()
        self._sending = on_completion(lambda: self._transport.send_bytes(data), self._sent)
        if self._sending is None:  # the transport is closed already
            self._failed()

    def _sent(self, sending: asyncio.Future) -> None:
        self._sending = None
        if sending.cancelled() or sending.exception() is not None:
            self._failed()  # the peer went away: the reader sees the end next
        else:
            self._send_next()

    def _failed(self) -> None:
        self._end()
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def _all_sent(self) -> None:
        """Until nothing is queued or on its way (or the connection has ended)."""
        if self.closed or (self._sending is None and not self._pending):
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        if self._sending is None:
            self._schedule()
        await waiter

    def get_peer_info(self) -> tuple[str, int]:
        return self._peer

    def get_ssl_info(self) -> None:
        return None

    def cut(self) -> None:
        """End the stream from our side, once what is queued has gone out: the broker sees
        the client go, as on a network drop."""
        self._cutting = True  # nothing written from now on goes out
        self._closing = asyncio.ensure_future(self.close())

    def _end(self) -> None:
        self.closed = True
        self.reader.feed_eof()

    async def close(self) -> None:
        """amqtt closes right after a refusing CONNACK: what is queued goes out first (for
        at most 5 s)."""
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._all_sent(), 5)
        self._end()
        self._wake_waiters()


def peer_of(client: str) -> tuple[str, int]:
    """('127.0.0.1', 51234) from granian's scope.client '127.0.0.1:51234' (or '[::1]:51234')."""
    host, _, port = client.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else 0


class WebSocketsWriter(amqtt_adapters.WebSocketsWriter):
    """amqtt's writer for a `websockets` connection (the dedicated `--mqtt-port` listener),
    with the same CONNACK code override and cut as the RSGI writer."""

    _stream: io.BytesIO  # amqtt's buffer of what is written

    def __init__(self, protocol: Any) -> None:
        super().__init__(protocol)
        self.connack_code: int | None = None
        self.cut_after_suback = False
        self.closed = False
        self._first = True
        self._flushing: asyncio.Future | None = None

    def write(self, data: bytes) -> None:
        if self._first and self.connack_code is not None and data[:2] == b"\x20\x02" and data[3]:
            data = data[:3] + bytes([self.connack_code]) + data[4:]
        self._first = False
        super().write(data)
        if self.cut_after_suback and data[:1] == SUBACK:
            asyncio.ensure_future(self._cut_once_sent())

    async def _cut_once_sent(self) -> None:
        with contextlib.suppress(Exception):
            await super().drain()
        self.cut()

    def push(self, data: bytes) -> None:
        """Queue a packet and have it sent, without waiting (outbox.py)."""
        if self.closed:
            return
        self.write(data)
        if self._stream.tell() > UNREAD_LIMIT:  # see UNREAD_LIMIT
            self._stream = io.BytesIO()
            self.cut()
            return
        if self._flushing is None:
            self._flushing = asyncio.ensure_future(self._flush())

    async def _flush(self) -> None:
        """Send what was pushed, once the loop has run what else queued packets this turn."""
        self._flushing = None
        await self.drain()

    async def drain(self) -> None:
        """What is queued, sent as one frame. Taken from the buffer before the send awaits:
        amqtt's own drain empties the buffer after, losing what was written meanwhile."""
        data = self._stream.getvalue()
        if not data or self.closed:
            return
        self._stream = io.BytesIO()
        try:
            await self._protocol.send(data)
        except Exception:
            self.closed = True

    def cut(self) -> None:
        self.closed = True
        asyncio.ensure_future(self._protocol.close())

    async def close(self) -> None:
        self.closed = True
        await super().close()
