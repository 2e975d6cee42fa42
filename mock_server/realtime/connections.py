"""Who is connected: each client's connection from upgrade to close, the clients of each
world with what they subscribed to, and the events waiting to go out to them.

A client id names a client only within one user of one world: amqtt keys its sessions by a
key of each connection's own (never the client's id), so two CI jobs with one fixed id in two
worlds, or two users who picked the same id, are two clients. A second connection of the same
user in the same world with the same id takes over, as MQTT has it: the first is closed.
"""

from __future__ import annotations

import itertools
import logging
import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from amqtt.session import Session

from ..cloud.events import Event
from ..harness.world import World
from ..harness.worlds import DEFAULT_WORLD, Simulator
from . import journal, topics
from .outbox import Outbox
from .transport import RSGIWriter, WebSocketsWriter

log = logging.getLogger(__name__)

Owner = tuple[str, str | None, str]  # world, user, client id as the client gave it


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
    outbox: Outbox | None = None  # what goes out to the client, once it is signed in
    subscriptions: dict[str, int] = field(default_factory=dict)  # filter -> granted QoS
    connected_at: int = 0
    leaving: bool = False  # being dropped: nothing more is sent to it
    delivered: int = 0
    received: int = 0

    @property
    def owner(self) -> Owner:
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

    def cut(self) -> None:
        """Drop the connection, as a network failure would."""
        self.leaving = True
        self.writer.cut()


class Channel:
    """The clients of one world, and the world's events waiting to go out to them."""

    def __init__(self, name: str, world: World, wake: Callable[[Channel], None]) -> None:
        self.name = name
        self.wake = wake  # called when a first event waits: the delivery sends what waits
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
            self.wake(self)


class Connections:
    """Every connection of one server process, found by its peer address (amqtt's session
    names it), by its key (amqtt's client id) and by its owner; and each world's channel."""

    def __init__(self, simulator: Simulator, wake: Callable[[Channel], None]) -> None:
        self.sim = simulator
        self.wake = wake
        self.channels: dict[str, Channel] = {}
        self.by_peer: dict[tuple[str, int], Connection] = {}
        self.by_client: dict[str, Connection] = {}  # by Connection.key, amqtt's client id
        self.by_owner: dict[Owner, Connection] = {}
        self._ids = itertools.count(1)

    def channel(self, name: str, scenario: str | None = None) -> Channel:
        """The channel of world `name` (made, with the world, on first use), listening to the
        world that bears the name now; raises as Simulator.world does for a bad name."""
        world = self.sim.world(name, scenario)
        channel = self.channels.get(name)
        if channel is None:
            channel = self.channels[name] = Channel(name, world, self.wake)
        elif channel.world is not world:
            channel.rebind(world)
        return channel

    def opened(self, name: str, peer: tuple[str, int], writer: RSGIWriter | WebSocketsWriter) -> Connection:
        """A WebSocket was accepted for world `name`: known by its peer until it signs in."""
        connection = Connection(next(self._ids), name, peer, writer)
        self.by_peer[peer] = connection
        return connection

    def of_session(self, session: Session) -> Connection | None:
        return self.by_peer.get((session.remote_address, session.remote_port))

    def admit(self, connection: Connection) -> None:
        """A client signed in: it takes over from its owner's earlier connection with the same
        client id, and is served from before its CONNACK goes out."""
        earlier = self.by_owner.get(connection.owner)
        if earlier is not None and earlier is not connection:
            self.gone(earlier, reason="taken over by a new connection with this client id")
            earlier.cut()
        self.by_owner[connection.owner] = connection
        self.by_client[connection.key] = connection
        channel = self.channel(connection.world)
        connection.connected_at = channel.world.now()
        channel.connections.add(connection)
        channel.world.mqtt_sessions[connection.id] = connection

    def gone(self, connection: Connection, **why: Any) -> None:
        """The connection ended (or was taken over: it is closed next): forget it."""
        if self.by_peer.get(connection.peer) is connection:
            del self.by_peer[connection.peer]
        if self.by_client.get(connection.key) is connection:
            del self.by_client[connection.key]
        if self.by_owner.get(connection.owner) is connection:
            del self.by_owner[connection.owner]
        if connection.outbox is not None:
            connection.outbox.close()
        channel = self.channels.get(connection.world)
        if channel is not None and connection in channel.connections:
            channel.forget(connection)
            channel.world.mqtt_sessions.pop(connection.id, None)
            journal.record(channel.world, connection, "disconnect", **why)

    def subscribed(self, key: str, topic_filter: str, qos: int) -> None:
        """A subscription granted: live from now, before amqtt sends its SUBACK, so that a
        message published the moment the client has the SUBACK reaches it."""
        connection = self.by_client.get(key)
        if connection is None:
            return
        connection.subscriptions[topic_filter] = min(qos, 1)  # the cloud delivers at QoS 0 or 1
        channel = self.channels.get(connection.world)
        if channel is not None:
            channel.add_filter(connection, topic_filter)

    def unsubscribed(self, key: str, topic_filter: str) -> None:
        connection = self.by_client.get(key)
        if connection is not None and connection.subscriptions.pop(topic_filter, None) is not None:
            channel = self.channels.get(connection.world)
            if channel is not None:
                channel.remove_filter(connection, topic_filter)

    def follow_worlds(self) -> None:
        """For each world with clients: follow a reset to the new world, and run what its
        devices were to do by now on the clock, so that scripted changes and delayed writes
        are published even when no request comes. A world that was dropped loses its clients."""
        for name, channel in list(self.channels.items()):
            if not channel.connections:
                continue
            world = self.sim.worlds.get(name)
            if world is None:
                for connection in list(channel.connections):
                    connection.cut()
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

    def silence(self) -> None:
        """The server stops: nothing more is written to any client."""
        for connection in list(self.by_peer.values()):
            connection.writer.closed = True

    def close(self) -> None:
        """The server has stopped: no world is listened to."""
        for channel in self.channels.values():
            channel.close()
