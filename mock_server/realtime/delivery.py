"""What goes out to clients: the world's events, turned into messages for the clients that
subscribed and may still use the device (judged by cloud/access.py at each delivery, on the
world's clock, so a share that ends stops its stream at once), with what a world's rules make
of a delivery; a device's online state on subscribing; and any one message to one client."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from ..cloud import access
from ..cloud.events import Event
from ..harness.world import World
from . import downlink, journal, topics
from .connections import Channel, Connection
from .policy import rule, ruled

if TYPE_CHECKING:
    from .broker import SimulatorBroker


class Delivery:
    """Sends on the broker's event loop, whatever thread changed a world."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread: int | None = None  # the loop's thread, once started
        self.broker: SimulatorBroker | None = None
        self._tasks: set[asyncio.Future] = set()

    def start(self, broker: SimulatorBroker) -> None:
        """Called on the loop's thread."""
        self.thread = threading.get_ident()
        self.broker = broker

    def wake(self, channel: Channel) -> None:
        """A first event waits in the channel: flush it from the loop. Called with the
        world's lock held, on whatever thread changed the world."""
        if threading.get_ident() == self.thread:  # REST on the loop: no need to wake it
            self.loop.call_soon(self.flush, channel)
        else:
            self.loop.call_soon_threadsafe(self.flush, channel)

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
            journal.record(world, None, "deliver", topic=topic, payload=payload, to=sent)

    def deliver(self, world: World, connection: Connection, event: Event, topic: str, payload: bytes) -> bool:
        qos = connection.qos_for(topic)
        if qos is None or connection.uid is None or not access.can_use(world, connection.uid, event.pk, event.dk):
            return False
        if not world.rules:
            self.send(connection, topic, payload, qos)
            return True
        target = topics.DeviceTopic(topics.DOWN, event.pk, event.dk, topic.rsplit("/", 1)[-1])
        outcome = rule(world, connection, "deliver", topic, target)
        if outcome is None:
            self.send(connection, topic, payload, qos)
            return True
        journal.record(world, connection, "deliver", topic=topic, payload=payload, **ruled(outcome))
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
            self.loop.call_soon(connection.cut)
        else:
            sending.add_done_callback(lambda _: connection.cut())

    def online_state(self, channel: Channel, connection: Connection, topic_filter: str) -> None:
        """The device's current online state once, retained, on subscribing to its `onl_`."""
        if connection.uid is None:
            return
        world = channel.world
        with world.lock:
            for device in access.usable_devices(world, connection.uid):
                topic, payload = downlink.online(*device.key, device.online)
                if topics.matches(topic_filter, topic):
                    self.send(connection, topic, payload, connection.subscriptions[topic_filter], True)

    def attach(self, connection: Connection) -> None:
        """amqtt made the protocol handler that sends to the client."""
        if connection.handler is None:
            connection.handler = self._handler_of(connection)

    def _handler_of(self, connection: Connection) -> Any:
        return self.broker.sessions.get(connection.key, (None, None))[1] if self.broker is not None else None

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
