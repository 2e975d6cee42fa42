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
from typing import Any

from amqtt import adapters as amqtt_adapters
from amqtt.adapters import ReaderAdapter, WriterAdapter

CLOSE = 0  # granian's WebsocketMessageType.close
SUBACK = b"\x90"  # the fixed header's first byte
BACKLOG = 1 << 20  # bytes a connection may have queued before its writers wait


class RSGIReader(ReaderAdapter):
    def __init__(self, transport: Any) -> None:
        self._transport = transport
        self._buffer = bytearray()
        self._eof = asyncio.Event()
        self._receiving: asyncio.Task | None = None

    async def read(self, n: int = -1) -> bytes:
        while not self._eof.is_set() and (len(self._buffer) < n if n > 0 else not self._buffer):
            if not await self._receive():
                break
        if n < 0:
            n = len(self._buffer)
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    async def _receive(self) -> bool:
        """One WebSocket message into the buffer; False at the end of the stream (the peer
        closed, or the server cut the connection: `feed_eof`)."""
        # The receive runs as a task of its own so that a cut (feed_eof) can cancel it.
        self._receiving = asyncio.ensure_future(self._transport.receive())
        try:
            message = await self._receiving
        except asyncio.CancelledError:
            if not self._eof.is_set():
                raise  # not our cut: the reader itself is being cancelled
            return False
        except Exception:  # the transport closed under us
            self._eof.set()
            return False
        finally:
            self._receiving = None
        if message.kind == CLOSE:
            self._eof.set()
            return False
        data = message.data
        self._buffer += data.encode("utf-8") if isinstance(data, str) else data
        return True

    def feed_eof(self) -> None:
        self._eof.set()
        if self._receiving is not None:
            self._receiving.cancel()


class RSGIWriter(WriterAdapter):
    def __init__(self, transport: Any, peer: tuple[str, int], reader: RSGIReader) -> None:
        self._transport = transport
        self._peer = peer
        self._reader = reader
        self._pending = bytearray()
        self._sender: asyncio.Future | None = None
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

    async def drain(self) -> None:
        """Hand the packets to one sender per connection: packets written while a frame is on
        its way go out together in the next frame (MQTT lets a WebSocket frame hold several),
        and amqtt's write lock is not held for the network's time. Past BACKLOG bytes queued
        (a client that stopped reading), the writer waits for the sender."""
        if not self._pending or self.closed:
            return
        if self._sender is None or self._sender.done():
            self._sender = asyncio.ensure_future(self._send_pending())
        if len(self._pending) > BACKLOG:
            await asyncio.shield(self._sender)

    async def _send_pending(self) -> None:
        try:
            while self._pending and not self.closed:
                data, self._pending = bytes(self._pending), bytearray()
                await self._transport.send_bytes(data)
        except Exception:  # the peer went away: the reader sees the end next
            self._end()

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
        self._reader.feed_eof()

    async def close(self) -> None:
        """amqtt closes right after a refusing CONNACK: what is queued goes out first."""
        if self._sender is not None and not self._sender.done():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.shield(self._sender), 5)
        await self._send_pending()
        self._end()


def peer_of(client: str) -> tuple[str, int]:
    """('127.0.0.1', 51234) from granian's scope.client '127.0.0.1:51234' (or '[::1]:51234')."""
    host, _, port = client.rpartition(":")
    return host.strip("[]"), int(port) if port.isdigit() else 0


class WebSocketsWriter(amqtt_adapters.WebSocketsWriter):
    """amqtt's writer for a `websockets` connection (the dedicated `--mqtt-port` listener),
    with the same CONNACK code override and cut as the RSGI writer."""

    def __init__(self, protocol: Any) -> None:
        super().__init__(protocol)
        self.connack_code: int | None = None
        self.cut_after_suback = False
        self.closed = False
        self._first = True

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

    async def drain(self) -> None:
        try:
            await super().drain()
        except Exception:
            self.closed = True

    def cut(self) -> None:
        self.closed = True
        asyncio.ensure_future(self._protocol.close())

    async def close(self) -> None:
        self.closed = True
        await super().close()
