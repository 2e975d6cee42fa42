"""The realtime channel: MQTT 3.1.1 over WebSocket at `/ws/v2`, served by an amqtt broker in
the process that holds the worlds.

amqtt parses MQTT and keeps sessions; it listens on nothing itself (an `external` listener):
the simulator's HTTP server accepts the WebSocket and hands its byte stream over. The hub is
what amqtt and the server see; each concern has a room of its own:
- connections.py: who is connected, to which world, subscribed to what; takeover by client id;
- policy.py: who may sign in and subscribe, and what a world's rules make of MQTT events;
- delivery.py: the world's events turned into messages for the clients that may still use
  the device (cloud/access.py), and any one message to one client;
- outbox.py: those messages written straight to each client's stream (amqtt's own way of
  sending a PUBLISH costs too much per subscriber), QoS 1 packet ids and PUBACKs included;
- uplink.py: what apps publish, taken out of the stream before amqtt at QoS 0 and 1
  (transport.py; amqtt's session machinery per message was most of the cost of a write);
  journal.py: the channel's journal entries.
The broker never relays one client's publish to another: nothing on this cloud comes from
another app.

A connection belongs to the default world, to `/s/NAME/ws/v2`'s NAME, or to the world in
its upgrade request's `X-Mock-Session` header, as REST requests do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from amqtt.adapters import WebSocketsReader
from amqtt.session import Session

from ..harness.rules import Outcome
from ..harness.world import World
from ..harness.worlds import DEFAULT_WORLD, Simulator, session_path
from . import journal, policy
from .broker import SimulatorBroker
from .connections import Channel, Connection, Connections
from .delivery import Delivery
from .plugins import HUBS
from .transport import RSGIReader, RSGIWriter, WebSocketsWriter, peer_of
from .uplink import take as take_uplink

log = logging.getLogger(__name__)

LISTENER = "ws"
PATH = journal.PATH
PUBACK = b"\x40\x02"  # fixed header and remaining length; the packet id follows
TICK_S = 1.0  # how often the clock's due changes are run for worlds with clients


def world_name(path: str, headers: Any) -> str | None:
    """The world a WebSocket path and its headers name; None for a path that is not ours."""
    name, rest = session_path(path)
    if rest != PATH:
        return None
    if name is None:
        return headers.get("x-mock-session") or DEFAULT_WORLD
    return name or None


class Hub:
    """The realtime channel of one server process, on one event loop."""

    def __init__(self, simulator: Simulator, loop: asyncio.AbstractEventLoop) -> None:
        self.sim = simulator
        self.loop = loop
        self.key = f"hub-{id(self)}"
        self.delivery = Delivery(loop)
        self.connections = Connections(simulator, self.delivery.wake)
        self._ticker: asyncio.Task | None = None
        self.broker: SimulatorBroker | None = None

    @property
    def channels(self) -> dict[str, Channel]:
        return self.connections.channels

    # ---- lifecycle ------------------------------------------------------------------------

    def config(self) -> dict:
        """Every amqtt default overridden: no TCP listener on 1883, no anonymous logins, no
        $SYS topics, no packet logging."""
        plugin = {"hub": self.key}
        return {
            "listeners": {"default": {"type": "external"}, LISTENER: {"type": "external", "bind": "external"}},
            "plugins": {
                "mock_server.realtime.plugins.TokenAuth": plugin,
                "mock_server.realtime.plugins.DeviceTopics": plugin,
                "mock_server.realtime.plugins.Events": plugin,
            },
        }

    async def start(self) -> None:
        HUBS[self.key] = self
        logging.getLogger("amqtt").setLevel(logging.ERROR)  # refusals are journaled, not logged
        logging.getLogger("transitions").setLevel(logging.ERROR)
        self.broker = SimulatorBroker(self, self.config(), loop=self.loop)
        self.delivery.start(self.broker)
        await self.broker.start()
        self._ticker = self.loop.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        self.connections.silence()
        if self.broker is not None:
            # amqtt logs the cancelling of its own broadcast loop as an error, with a traceback
            logging.getLogger("amqtt.broker").setLevel(logging.CRITICAL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.broker.shutdown(), 5)
        self.connections.close()
        HUBS.pop(self.key, None)

    async def _tick(self) -> None:
        """Once a second, for each world with clients, follow a reset and run its clock."""
        while True:
            await asyncio.sleep(TICK_S)
            self.connections.follow_worlds()

    # ---- what the server hands over -------------------------------------------------------

    async def serve_rsgi(self, scope: Any, proto: Any, name: str) -> None:
        """A WebSocket upgrade on the HTTP port: accept it and let the broker run the MQTT
        session over it until either side closes."""
        if not self._world_ok(name, scope.headers.get("x-mock-scenario")):
            proto.close(400)
            return
        transport = await proto.accept()
        reader = RSGIReader(transport)
        peer = peer_of(scope.client)
        try:
            await self._serve(name, reader, RSGIWriter(transport, peer, reader), peer)
        finally:
            # granian closes the WebSocket once its transport is freed: nothing may hold it
            # now, neither the reader's receiving task nor the outbox (a cycle through the
            # writer, which would keep it open until a collection).
            reader.feed_eof()
            reader.on_puback = reader.on_publish = None

    async def serve_websocket(self, websocket: Any, name: str) -> None:
        """A WebSocket on the dedicated listener (`websockets`, with the `mqtt` subprotocol)."""
        if not self._world_ok(name, websocket.request.headers.get("X-Mock-Scenario")):
            await websocket.close(1008, "unknown world or scenario")
            return
        peer = tuple(websocket.remote_address[:2])
        await self._serve(name, WebSocketsReader(websocket), WebSocketsWriter(websocket), peer)

    def _world_ok(self, name: str, scenario: str | None) -> bool:
        try:
            self.connections.channel(name, scenario)
            return True
        except Exception as exc:  # a bad session name (BadSession), an unknown or invalid scenario
            log.info("realtime connection refused: %s", exc)
            return False

    async def _serve(self, name: str, reader: Any, writer: RSGIWriter | WebSocketsWriter, peer: Any) -> None:
        assert self.broker is not None, "the hub serves once started"
        connection = self.connections.opened(name, peer, writer)
        try:
            await self.broker.external_connected(reader, writer, LISTENER)
        except Exception:
            log.exception("realtime session failed")
        finally:
            self.connections.gone(connection)
            await self.broker.end_session(connection.key)

    # ---- what the broker asks (plugins.py, broker.py) --------------------------------------

    async def authenticate(self, session: Session) -> bool:
        return await policy.authenticate(self.connections, session)

    def connected(self, session: Session) -> None:
        connection = self.connections.by_client.get(session.client_id)
        if connection is not None and self.delivery.attach(connection) is not None:
            reader = getattr(connection.writer, "reader", None)
            if isinstance(reader, RSGIReader):
                reader.on_publish = lambda topic, packet_id, payload: self.take(connection, topic, packet_id, payload)

    def settled(self, client_id: str) -> None:
        """amqtt has handled a SUBSCRIBE, UNSUBSCRIBE or PUBLISH of this client: the
        publishes taken out of its stream after it go on (transport.py)."""
        connection = self.connections.by_client.get(client_id)
        reader = getattr(connection.writer, "reader", None) if connection is not None else None
        if isinstance(reader, RSGIReader):
            reader.settled()

    async def may_subscribe(self, session: Session, topic_filter: str) -> bool:
        return await policy.may_subscribe(self.connections, session, topic_filter)

    def subscribed(self, client_id: str, topic_filter: str, qos: int) -> None:
        self.connections.subscribed(client_id, topic_filter, qos)

    def suback_sent(self, client_id: str, topic_filter: str) -> None:
        connection = self.connections.by_client.get(client_id)
        if connection is None or topic_filter not in connection.subscriptions:
            return
        channel = self.channels.get(connection.world)
        if channel is not None:
            self.delivery.online_state(channel, connection, topic_filter)

    def unsubscribed(self, client_id: str, topic_filter: str) -> None:
        self.connections.unsubscribed(client_id, topic_filter)

    async def uplink(self, client_id: str, topic: str, payload: bytes) -> None:
        """What a client published, as amqtt hands it on; publishes held behind it go on
        (before a rule's wait is over, as they would have in amqtt)."""
        connection = self.connections.by_client.get(client_id)
        try:
            if connection is not None and connection.uid is not None:
                connection.received += 1
                take_uplink(self, connection, topic, payload)
        finally:
            self.settled(client_id)

    def take(self, connection: Connection, topic: str, packet_id: int | None, payload: bytes) -> None:
        """What a client published, taken out of its stream before amqtt (transport.py):
        acknowledged at QoS 1 as amqtt does (before the message is carried out), then
        carried out as `uplink` does, while the connection is still the client's."""
        if packet_id is not None:
            connection.writer.push(PUBACK + packet_id.to_bytes(2, "big"))
        if self.connections.by_client.get(connection.key) is not connection or connection.uid is None:
            return
        connection.received += 1
        try:
            take_uplink(self, connection, topic, payload)
        except Exception:  # as amqtt's task would: logged, and the stream goes on
            log.exception("realtime uplink failed")

    # ---- what uplink.py uses ---------------------------------------------------------------

    def send(
        self, connection: Connection, topic: str, payload: bytes, qos: int, retain: bool = False
    ) -> asyncio.Future | None:
        return self.delivery.send(connection, topic, payload, qos, retain)

    def cut(self, connection: Connection) -> None:
        connection.cut()

    def rule(self, world: World, connection: Connection, kind: str, topic: str, target: Any = None) -> Outcome | None:
        return policy.rule(world, connection, kind, topic, target)

    def journal(self, world: World, connection: Connection | None, event: str, **fields: Any) -> None:
        journal.record(world, connection, event, **fields)
