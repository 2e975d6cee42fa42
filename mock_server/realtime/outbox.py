"""What the cloud sends a client, written straight to its stream: amqtt keeps the protocol
(CONNECT, SUBSCRIBE, keep-alive, what apps publish), but its way of sending a PUBLISH (a
coroutine, a write lock, a packet object and a 5 s timer per subscriber and message) cannot
fan out thousands of messages a second. Here a message is encoded once, whatever the number
of subscribers, and each subscriber gets those bytes with a packet id of its own, queued on
its connection's writer, which sends what queued up together in the next WebSocket frame.

QoS 1 as amqtt keeps it for a connection (sessions are never taken up again, see
connections.py): a packet id per connection not used by a message still in flight; the
PUBACK ends the flight; a message not acknowledged within ACK_TIMEOUT_S is given up, never
resent (amqtt resends only when a session is resumed). The broker itself never sends a
PUBLISH (it relays nothing and keeps no retained message), so these ids are the only ones.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

ACK_TIMEOUT_S = 5.0  # amqtt's wait for a PUBACK
PUBLISH = 0x30  # the fixed header's packet type; QoS in bits 1-2, retain in bit 0
PUBACK = 0x40
MAX_PACKET_ID = 65535


class Stream(Protocol):
    """What an outbox writes to (transport.py's writers)."""

    closed: bool

    def push(self, data: bytes) -> None: ...


def remaining_length(n: int) -> bytes:
    """MQTT's variable-length integer (§2.2.3)."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


class Message:
    """One message to any number of clients: its PUBLISH packet encoded once per QoS and
    retain flag asked for, the packet id left out (it goes between head and payload)."""

    __slots__ = ("_encoded", "payload", "topic")

    def __init__(self, topic: str, payload: bytes) -> None:
        self.topic = topic
        self.payload = payload
        self._encoded: dict[tuple[int, bool], bytes] = {}

    def head(self, qos: int, retain: bool = False) -> bytes:
        """The packet up to its packet id: fixed header, remaining length, topic."""
        head = self._encoded.get((qos, retain))
        if head is None:
            name = self.topic.encode()
            length = 2 + len(name) + (2 if qos else 0) + len(self.payload)
            first = PUBLISH | (qos << 1) | int(retain)
            head = bytes((first,)) + remaining_length(length) + len(name).to_bytes(2, "big") + name
            self._encoded[(qos, retain)] = head
        return head


class Outbox:
    """The messages going out on one connection, and those at QoS 1 still unacknowledged."""

    def __init__(self, stream: Stream, loop: asyncio.AbstractEventLoop) -> None:
        self.stream = stream
        self.loop = loop
        self._last_id = 0
        # packet id -> (monotonic time sent, a future to resolve on its PUBACK or None), oldest first
        self.inflight: dict[int, tuple[float, asyncio.Future | None]] = {}

    def publish(self, message: Message, qos: int, retain: bool = False, waiter: bool = False) -> asyncio.Future | None:
        """Queue the message; with `waiter`, a future done once it has gone through (at QoS 1:
        acknowledged, or given up)."""
        if qos == 0:
            self.stream.push(message.head(0, retain) + message.payload)
            return self._done() if waiter else None
        now = time.monotonic()
        self._expire(now)
        packet_id = self._packet_id()
        future = self.loop.create_future() if waiter else None
        self.inflight[packet_id] = (now, future)
        self.stream.push(message.head(qos, retain) + packet_id.to_bytes(2, "big") + message.payload)
        if future is not None:
            self.loop.call_later(ACK_TIMEOUT_S, self._give_up, packet_id, future)
        return future

    def acked(self, packet_id: int) -> bool:
        """A PUBACK came in: False if no message of this outbox waited for it."""
        entry = self.inflight.pop(packet_id, None)
        if entry is None:
            return False
        if entry[1] is not None and not entry[1].done():
            entry[1].set_result(None)
        return True

    def close(self) -> None:
        """The connection ended: nothing is waited for any more."""
        for _, future in self.inflight.values():
            if future is not None and not future.done():
                future.cancel()
        self.inflight.clear()

    def _packet_id(self) -> int:
        """The next id no message in flight holds (MQTT-2.3.1-2); with all of them in flight,
        the oldest message is given up."""
        if len(self.inflight) >= MAX_PACKET_ID:
            self._drop(next(iter(self.inflight)))
        packet_id = self._last_id
        while True:
            packet_id = packet_id % MAX_PACKET_ID + 1
            if packet_id not in self.inflight:
                self._last_id = packet_id
                return packet_id

    def _expire(self, now: float) -> None:
        """Forget the messages whose PUBACK did not come in time (oldest first)."""
        while self.inflight:
            packet_id, (sent, _) = next(iter(self.inflight.items()))
            if now - sent < ACK_TIMEOUT_S:
                return
            self._drop(packet_id)

    def _give_up(self, packet_id: int, future: asyncio.Future) -> None:
        entry = self.inflight.get(packet_id)
        if entry is not None and entry[1] is future:
            self._drop(packet_id)

    def _drop(self, packet_id: int) -> None:
        _, future = self.inflight.pop(packet_id)
        if future is not None and not future.done():
            future.cancel()

    def _done(self) -> asyncio.Future:
        future = self.loop.create_future()
        future.set_result(None)
        return future
