"""The realtime channel: MQTT 3.1.1 over WebSocket at `/ws/v2`, served by an amqtt broker in
the process that holds the worlds.

amqtt parses MQTT and keeps sessions; it listens on nothing itself (an `external` listener):
the simulator's HTTP server accepts the WebSocket and hands its byte stream over. The hub
decides everything the cloud decides: it signs clients in with their world's tokens, grants
subscriptions to the devices a user may use, answers what apps publish (uplink.py), and turns
the world's events into messages, checking at each delivery that the recipient may still use
the device, so a share that ends stops its stream at once. The broker never relays one
client's publish to another: nothing on this cloud comes from another app.

A connection belongs to the default world, to `/s/NAME/ws/v2`'s NAME, or to the world in
its upgrade request's `X-Mock-Session` header, as REST requests do.

A client id names a client only within one user of one world: amqtt keys its sessions by a
key of each connection's own (never the client's id), so two CI jobs with one fixed id in two
worlds, or two users who picked the same id, are two clients. A second connection of the same
user in the same world with the same id takes over, as MQTT has it: the first is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from amqtt.adapters import WebSocketsReader
from amqtt.session import Session

from ..cloud import access
from ..cloud.accounts import strip_bearer
from ..cloud.events import Event
from ..harness.rules import Incoming, Outcome, decide
from ..harness.world import World
from ..harness.worlds import DEFAULT_WORLD, Simulator, session_path
from . import downlink, topics
from .broker import SimulatorBroker
from .plugins import HUBS
from .transport import RSGIReader, RSGIWriter, WebSocketsWriter, peer_of

log = logging.getLogger(__name__)

LISTENER = "ws"
PATH = "/ws/v2"
TICK_S = 1.0  # how often the clock's due changes are run for worlds with clients
JOURNAL_PAYLOAD = 512  # payload characters kept in a journal entry


def world_name(path: str, headers: Any) -> str | None:
    """The world a WebSocket path and its headers name; None for a path that is not ours."""
    name, rest = session_path(path)
    if rest != PATH:
        return None
    if name is None:
        return headers.get("x-mock-session") or DEFAULT_WORLD
    return name or None


@dataclass(eq=False)
class Connection:
    """One client's WebSocket, from upgrade to close."""

    id: int
    world: str
    peer: tuple[str, int]
    writer: RSGIWriter | WebSocketsWriter
    client_id: str = ""  # as the client gave it
    # amqtt's name for the session: unguessable, so no client can name another's session
    key: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    uid: str | None = None
    token: str = ""
    handler: Any = None  # amqtt's protocol handler, once the client is signed in
    subscriptions: dict[str, int] = field(default_factory=dict)  # filter -> granted QoS
    connected_at: int = 0
    leaving: bool = False  # being dropped: nothing more is sent to it
    delivered: int = 0
    received: int = 0

    @property
    def owner(self) -> tuple[str, str | None, str]:
        """Whose client this is: a second connection with the same owner takes over."""
        return self.world, self.uid, self.client_id

    def describe(self) -> dict:
        return {
            "clientId": self.client_id,
            "uid": self.uid,
            "connectedAt": self.connected_at,
            "subscriptions": [{"topic": t, "qos": q} for t, q in self.subscriptions.items()],
            "delivered": self.delivered,
            "received": self.received,
        }

    def qos_for(self, topic: str) -> int | None:
        """The QoS this client receives `topic` at; None when no subscription covers it."""
        if topic in self.subscriptions:
            return self.subscriptions[topic]
        granted = [q for f, q in self.subscriptions.items() if topics.has_wildcard(f) and topics.matches(f, topic)]
        return max(granted) if granted else None


class Channel:
    """The clients of one world, and the world's events waiting to go out to them."""

    def __init__(self, hub: Hub, name: str, world: World) -> None:
        self.hub, self.name = hub, name
        self.connections: set[Connection] = set()
        self.pending: deque[Event] = deque()
        self.world: World = world
        self.devices = topics.Channels(self.world.devices)
        self._unsubscribe = world.events.subscribe(self._queue)
        # Who subscribed to what: exact topics by name, wildcard holders checked one by one.
        self.by_topic: dict[str, set[Connection]] = {}
        self.wildcard: set[Connection] = set()

    def add_filter(self, connection: Connection, topic_filter: str) -> None:
        if topics.has_wildcard(topic_filter):
            self.wildcard.add(connection)
        else:
            self.by_topic.setdefault(topic_filter, set()).add(connection)

    def remove_filter(self, connection: Connection, topic_filter: str) -> None:
        if not topics.has_wildcard(topic_filter):
            holders = self.by_topic.get(topic_filter, set())
            holders.discard(connection)
            if not holders:
                self.by_topic.pop(topic_filter, None)
        elif not any(topics.has_wildcard(f) for f in connection.subscriptions):
            self.wildcard.discard(connection)

    def forget(self, connection: Connection) -> None:
        self.connections.discard(connection)
        self.wildcard.discard(connection)
        for topic_filter in connection.subscriptions:
            self.remove_filter(connection, topic_filter)

    def recipients(self, topic: str) -> list[Connection]:
        return [*self.by_topic.get(topic, ()), *(c for c in self.wildcard if c.qos_for(topic) is not None)]

    def rebind(self, world: World) -> None:
        """The world was reset or replaced: listen to the new one (its clients stay)."""
        self._unsubscribe()
        world.mqtt_sessions.update(self.world.mqtt_sessions)
        self.world = world
        self.devices = topics.Channels(self.world.devices)
        self._unsubscribe = world.events.subscribe(self._queue)

    def close(self) -> None:
        self._unsubscribe()

    def _queue(self, event: Event) -> None:
        # Called with the world's lock held, on whatever thread changed the world: only queue.
        first = not self.pending
        self.pending.append(event)
        if first:
            if threading.get_ident() == self.hub.thread:  # REST on the loop: no need to wake it
                self.hub.loop.call_soon(self.hub.flush, self)
            else:
                self.hub.loop.call_soon_threadsafe(self.hub.flush, self)


class Hub:
    def __init__(self, simulator: Simulator, loop: asyncio.AbstractEventLoop) -> None:
        self.sim = simulator
        self.loop = loop
        self.key = f"hub-{id(self)}"
        self.channels: dict[str, Channel] = {}
        self.by_peer: dict[tuple[str, int], Connection] = {}
        self.by_client: dict[str, Connection] = {}  # by Connection.key, amqtt's client id
        self.by_owner: dict[tuple[str, str | None, str], Connection] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Future] = set()
        self._ticker: asyncio.Task | None = None
        self.broker: SimulatorBroker | None = None
        self.thread: int | None = None  # the loop's thread, once started

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
        self.thread = threading.get_ident()
        logging.getLogger("amqtt").setLevel(logging.ERROR)  # refusals are journaled, not logged
        logging.getLogger("transitions").setLevel(logging.ERROR)
        self.broker = SimulatorBroker(self, self.config(), loop=self.loop)
        await self.broker.start()
        self._ticker = self.loop.create_task(self._tick())

    async def stop(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
        for connection in list(self.by_peer.values()):
            connection.writer.closed = True
        if self.broker is not None:
            # amqtt logs the cancelling of its own broadcast loop as an error, with a traceback
            logging.getLogger("amqtt.broker").setLevel(logging.CRITICAL)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.broker.shutdown(), 5)
        for channel in self.channels.values():
            channel.close()
        HUBS.pop(self.key, None)

    # ---- connections ----------------------------------------------------------------------

    async def serve_rsgi(self, scope: Any, proto: Any, name: str) -> None:
        """A WebSocket upgrade on the HTTP port: accept it and let the broker run the MQTT
        session over it until either side closes."""
        if not self._world_ok(name, scope.headers.get("x-mock-scenario")):
            proto.close(400)
            return
        transport = await proto.accept()
        reader = RSGIReader(transport)
        peer = peer_of(scope.client)
        await self._serve(name, reader, RSGIWriter(transport, peer, reader), peer)

    async def serve_websocket(self, websocket: Any, name: str) -> None:
        """A WebSocket on the dedicated listener (`websockets`, with the `mqtt` subprotocol)."""
        if not self._world_ok(name, websocket.request.headers.get("X-Mock-Scenario")):
            await websocket.close(1008, "unknown world or scenario")
            return
        peer = tuple(websocket.remote_address[:2])
        await self._serve(name, WebSocketsReader(websocket), WebSocketsWriter(websocket), peer)

    def _world_ok(self, name: str, scenario: str | None) -> bool:
        try:
            self._channel(name, scenario)
            return True
        except Exception as exc:  # a bad session name (BadSession), an unknown or invalid scenario
            log.info("realtime connection refused: %s", exc)
            return False

    async def _serve(self, name: str, reader: Any, writer: Any, peer: tuple[str, int]) -> None:
        connection = Connection(next(self._ids), name, peer, writer)
        self.by_peer[peer] = connection
        try:
            await self.broker.external_connected(reader, writer, LISTENER)
        except Exception:
            log.exception("realtime session failed")
        finally:
            self._gone(connection)
            await self.broker.end_session(connection.key)

    def _channel(self, name: str, scenario: str | None = None) -> Channel:
        world = self.sim.world(name, scenario)
        channel = self.channels.get(name)
        if channel is None:
            channel = self.channels[name] = Channel(self, name, world)
        elif channel.world is not world:
            channel.rebind(world)
        return channel

    def _gone(self, connection: Connection, **why: Any) -> None:
        """The connection ended (or was taken over: it is closed next): forget it."""
        if self.by_peer.get(connection.peer) is connection:
            del self.by_peer[connection.peer]
        if self.by_client.get(connection.key) is connection:
            del self.by_client[connection.key]
        if self.by_owner.get(connection.owner) is connection:
            del self.by_owner[connection.owner]
        channel = self.channels.get(connection.world)
        if channel is not None and connection in channel.connections:
            channel.forget(connection)
            channel.world.mqtt_sessions.pop(connection.id, None)
            self.journal(channel.world, connection, "disconnect", **why)

    def cut(self, connection: Connection) -> None:
        """Drop a client's connection, as a network failure would."""
        connection.leaving = True
        connection.writer.cut()

    # ---- what the broker asks ---------------------------------------------------------------

    async def authenticate(self, session: Session) -> bool:
        """CONNECT: the access token in the password (else the user name), with or without
        `Bearer `; refused with CONNACK 5 when missing, unknown, expired or revoked (or the
        code a rule names)."""
        connection = self.by_peer.get((session.remote_address, session.remote_port))
        if connection is None:
            return False
        # A will would let one client publish on a device's topics: the cloud has none.
        session.will_flag, session.will_retain = False, False
        connection.client_id = session.client_id or ""
        session.client_id = connection.key  # before amqtt files the session under it
        world = self._channel(connection.world).world
        given = session.password or session.username or ""
        connection.token = strip_bearer(str(given))
        with world.lock:
            world.catch_up()
            token = world.tokens.get(connection.token)
            live = token is not None and token.kind == "access" and token.is_live(world.now())
            connection.uid = token.uid if live and token.uid in world.users else None
            outcome = self.rule(world, connection, "connect", "")
        if outcome is not None and outcome.wait:
            await asyncio.sleep(outcome.wait)
        if outcome is not None and outcome.fault is not None:  # lost before any CONNACK
            connection.writer.cut()
            self.journal(world, connection, "connect", **ruled(outcome))
            return False
        code = 0 if connection.uid else 5
        if outcome is not None and outcome.code is not None:
            code = outcome.code if outcome.code in (1, 2, 3, 4, 5) else 5
        elif outcome is not None and outcome.disconnect:
            code = 5
        connection.writer.connack_code = code or None
        self.journal(world, connection, "connect", **{**ruled(outcome), "code": code})
        if code == 0:
            self._admit(connection)
        return code == 0

    def _admit(self, connection: Connection) -> None:
        """A client signed in: it takes over from its owner's earlier connection with the same
        client id, and is served from before its CONNACK goes out."""
        earlier = self.by_owner.get(connection.owner)
        if earlier is not None and earlier is not connection:
            self._gone(earlier, reason="taken over by a new connection with this client id")
            self.cut(earlier)
        self.by_owner[connection.owner] = connection
        self.by_client[connection.key] = connection
        channel = self._channel(connection.world)
        connection.connected_at = channel.world.now()
        channel.connections.add(connection)
        channel.world.mqtt_sessions[connection.id] = connection

    def connected(self, session: Session) -> None:
        """amqtt made the protocol handler that sends to the client."""
        connection = self.by_client.get(session.client_id)
        if connection is not None and connection.handler is None:
            connection.handler = self._handler_of(connection)

    def _handler_of(self, connection: Connection) -> Any:
        return self.broker.sessions.get(connection.key, (None, None))[1] if self.broker is not None else None

    async def may_subscribe(self, session: Session, topic_filter: str) -> bool:
        """SUBSCRIBE: a device's topics only for its owner and the holders of an active share
        (a wildcard in the device's place is granted, and each message is checked); the
        client's own system topic; nothing else. Refused filters get 0x80 in the SUBACK."""
        connection = self.by_peer.get((session.remote_address, session.remote_port))
        if connection is None or connection.uid is None:
            return False
        channel = self._channel(connection.world)
        world = channel.world
        target = channel.devices.parse(topic_filter)
        with world.lock:
            if target is not None:
                usable = access.can_use(world, connection.uid, target.pk, target.dk)
                allowed = target.direction == topics.DOWN and usable
            else:
                allowed = _plausible(topic_filter, connection.client_id)
            outcome = self.rule(world, connection, "subscribe", topic_filter, target)
        if outcome is not None and outcome.wait:
            await asyncio.sleep(outcome.wait)
        if outcome is not None and outcome.answers:
            allowed = False
        if outcome is not None and outcome.disconnect:
            connection.writer.cut_after_suback = True
        fields = {**ruled(outcome), "code": 0 if allowed else 0x80}
        self.journal(world, connection, "subscribe", topic=topic_filter, **fields)
        return allowed

    def subscribed(self, client_id: str, topic_filter: str, qos: int) -> None:
        """A subscription granted: live from now, before amqtt sends its SUBACK, so that a
        message published the moment the client has the SUBACK reaches it."""
        connection = self.by_client.get(client_id)
        if connection is None:
            return
        connection.subscriptions[topic_filter] = min(qos, 1)  # the cloud delivers at QoS 0 or 1
        channel = self.channels.get(connection.world)
        if channel is not None:
            channel.add_filter(connection, topic_filter)

    def suback_sent(self, client_id: str, topic_filter: str) -> None:
        connection = self.by_client.get(client_id)
        if connection is not None and topic_filter in connection.subscriptions:
            self._send_online_state(connection, topic_filter)

    def unsubscribed(self, client_id: str, topic_filter: str) -> None:
        connection = self.by_client.get(client_id)
        if connection is not None and connection.subscriptions.pop(topic_filter, None) is not None:
            channel = self.channels.get(connection.world)
            if channel is not None:
                channel.remove_filter(connection, topic_filter)

    def _send_online_state(self, connection: Connection, topic_filter: str) -> None:
        """The device's current online state once, retained, on subscribing to its `onl_`."""
        channel = self.channels.get(connection.world)
        if channel is None:
            return
        world = channel.world
        with world.lock:
            for pk, dk in _devices_of(world, connection.uid):
                topic, payload = downlink.online(pk, dk, world.devices[(pk, dk)].online)
                if topics.matches(topic_filter, topic):
                    self.send(connection, topic, payload, connection.subscriptions[topic_filter], True)

    async def uplink(self, client_id: str, topic: str, payload: bytes) -> None:
        from .uplink import handle

        connection = self.by_client.get(client_id)
        if connection is not None and connection.uid is not None:
            connection.received += 1
            await handle(self, connection, topic, payload)

    # ---- downlink ---------------------------------------------------------------------------

    def flush(self, channel: Channel) -> None:
        """Send the world's queued events to the clients that subscribed and may still use
        the device (judged now, on the world's clock)."""
        world = channel.world
        while channel.pending:
            event = channel.pending.popleft()
            message = downlink.message(event)
            if message is None or not channel.connections:
                continue
            topic, payload = message
            with world.lock:
                sent = [c.client_id for c in channel.recipients(topic) if self.deliver(world, c, event, topic, payload)]
            self.journal(world, None, "deliver", topic=topic, payload=payload, to=sent)

    def deliver(self, world: World, connection: Connection, event: Event, topic: str, payload: bytes) -> bool:
        qos = connection.qos_for(topic)
        if qos is None or connection.uid is None or not access.can_use(world, connection.uid, event.pk, event.dk):
            return False
        if not world.rules:
            self.send(connection, topic, payload, qos)
            return True
        target = topics.DeviceTopic(topics.DOWN, event.pk, event.dk, topic.rsplit("/", 1)[-1])
        outcome = self.rule(world, connection, "deliver", topic, target)
        if outcome is None:
            self.send(connection, topic, payload, qos)
            return True
        self.journal(world, connection, "deliver", topic=topic, payload=payload, **ruled(outcome))
        sending = None
        if outcome.fault is None:  # any fault withholds the message
            if outcome.code is not None:
                topic, payload = downlink.busi_error(connection.client_id, event.dk, outcome.code, outcome.msg)
                qos = 0
            if outcome.wait:
                self.loop.call_later(outcome.wait, self.send, connection, topic, payload, qos)
            else:
                sending = self.send(connection, topic, payload, qos)
        if outcome.disconnect:
            self._cut_after(connection, sending)
        return False

    def _cut_after(self, connection: Connection, sending: asyncio.Future | None) -> None:
        """Drop the connection once the message it gets first has gone through (at QoS 1, its
        PUBACK is in): closed earlier, the client's PUBACK would meet a closed socket, whose
        reset can discard the message unread on the client's side."""
        connection.leaving = True
        if sending is None:
            self.loop.call_soon(self.cut, connection)
        else:
            sending.add_done_callback(lambda _: self.cut(connection))

    def send(
        self, connection: Connection, topic: str, payload: bytes, qos: int, retain: bool = False
    ) -> asyncio.Future | None:
        """Publish to one client; the task ends when the message has gone through (None: the
        client is gone)."""
        handler = connection.handler = connection.handler or self._handler_of(connection)
        if handler is None or connection.writer.closed or connection.leaving:
            return None
        connection.delivered += 1
        task = asyncio.ensure_future(handler.mqtt_publish(topic, payload, qos, retain))
        self._tasks.add(task)
        task.add_done_callback(self._sent)
        return task

    def _sent(self, task: asyncio.Future) -> None:
        self._tasks.discard(task)
        if not task.cancelled():
            task.exception()  # a client that went away or never acknowledged: nothing to do

    # ---- rules, journal, clock ----------------------------------------------------------

    def rule(
        self, world: World, connection: Connection, kind: str, topic: str, target: topics.DeviceTopic | None = None
    ) -> Outcome | None:
        """The outcome of the first rule for this MQTT event (its effects applied); None if no
        rule fires. The caller holds the world's lock."""
        if not world.rules:
            return None
        params = {"clientId": connection.client_id}
        if target is not None:
            params.update(pk=target.pk, dk=target.dk)
        return decide(world, Incoming("MQTT", topic, params, {}, connection.token, mqtt=kind))

    def journal(self, world: World, connection: Connection | None, event: str, **fields: Any) -> None:
        payload = fields.pop("payload", None)
        if isinstance(payload, bytes | bytearray):
            text = payload.decode("utf-8", "replace") if payload.isascii() else payload.hex(" ").upper()
            fields["payload"] = text[:JOURNAL_PAYLOAD]
        entry = {
            "kind": "mqtt",
            "time": world.now(),
            "method": "MQTT",
            "path": fields.pop("topic", PATH),
            "endpoint": f"mqtt.{event}",
            "params": {},
            "uid": connection.uid if connection else None,
            "clientId": connection.client_id if connection else None,
            "rule": fields.pop("rule", None),
            "code": fields.pop("code", None),
            "status": None,
            "warnings": fields.pop("warnings", []),
            **fields,
        }
        world.journal.record(**entry)

    async def _tick(self) -> None:
        """Once a second, for each world with clients: follow a reset to the new world, and run
        what its devices were to do by now on the clock, so that scripted changes and delayed
        writes are published even when no request comes."""
        while True:
            await asyncio.sleep(TICK_S)
            for name, channel in list(self.channels.items()):
                if not channel.connections:
                    continue
                world = self.sim.worlds.get(name)
                if world is None:
                    for connection in list(channel.connections):
                        self.cut(connection)
                    continue
                if world is not channel.world:
                    channel.rebind(world)
                if name != DEFAULT_WORLD:
                    self.sim.touch(name)  # a world with clients is in use, requests or not
                try:
                    with world.lock:
                        world.catch_up()
                except Exception:
                    log.exception("running the clock of world %s failed", name)


def ruled(outcome: Outcome | None) -> dict[str, Any]:
    """A journal entry's fields for a rule's outcome: its rule, code and warnings."""
    if outcome is None:
        return {}
    return {"rule": outcome.rule, "code": outcome.code, "warnings": list(outcome.warnings)}


def _plausible(topic_filter: str, client_id: str) -> bool:
    """A filter without a concrete device: the client's own system topic, or a wildcard over
    the devices (each message is then checked against the recipient's access)."""
    if topics.matches(topic_filter, topics.system(client_id)):
        return True
    probes = [topics.down("PK", "DK", suffix) for suffix in topics.DOWNLINK]
    return topics.has_wildcard(topic_filter) and any(topics.matches(topic_filter, p) for p in probes)


def _devices_of(world: World, uid: str | None) -> list[tuple[str, str]]:
    if uid is None:
        return []
    return [d.key for d in access.usable_devices(world, uid)]
