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
from .outbox import Message, Outbox
from .policy import rule, ruled
from .transport import RSGIReader

if TYPE_CHECKING:
    from .broker import SimulatorBroker


class Delivery:
    """Sends on the broker's event loop, whatever thread changed a world."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.thread: int | None = None  # the loop's thread, once started
        self.broker: SimulatorBroker | None = None

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
        the device (judged now, on the world's clock): each message encoded once."""
        world = channel.world
        while channel.pending:
            event = channel.pending.popleft()
            found = downlink.message(event)
            if found is None or not channel.connections:
                continue
            message = Message(*found)
            with world.lock:
                # Who may use the device is asked of cloud/access.py once per user and message:
                # nothing changes the world while its lock is held.
                usable: dict[str, bool] = {}
                sent = [
                    c.client_id
                    for c in channel.recipients(message.topic)
                    if self.deliver(world, c, event, message, usable)
                ]
            journal.record(world, None, "deliver", topic=message.topic, payload=message.payload, to=sent)

    def deliver(
        self, world: World, connection: Connection, event: Event, message: Message, usable: dict[str, bool]
    ) -> bool:
        topic = message.topic
        qos = connection.qos_for(topic)
        uid = connection.uid
        if qos is None or uid is None:
            return False
        may = usable.get(uid)
        if may is None:
            may = usable[uid] = access.can_use(world, uid, event.pk, event.dk)
        if not may:
            return False
        if not world.rules or not world.rules.may_match("deliver", "MQTT", topic):
            self.publish(connection, message, qos)
            return True  # journaled as sent even to a client going away, as before
        target = topics.DeviceTopic(topics.DOWN, event.pk, event.dk, topic.rsplit("/", 1)[-1])
        outcome = rule(world, connection, "deliver", topic, target)
        if outcome is None:
            self.publish(connection, message, qos)
            return True
        journal.record(world, connection, "deliver", topic=topic, payload=message.payload, **ruled(outcome))
        sending = None
        if outcome.fault is None:  # any fault withholds the message
            if outcome.code is not None:
                message = Message(*downlink.busi_error(connection.client_id, event.dk, outcome.code, outcome.msg))
                qos = 0
            if outcome.wait:
                self.loop.call_later(outcome.wait, self.publish, connection, message, qos)
            else:
                sending = self.publish(connection, message, qos, waiter=True)
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

    def attach(self, connection: Connection) -> Outbox | None:
        """The client's outbox, made once amqtt has its protocol handler (the client is
        signed in): messages may go out to it from then on, and its PUBACKs are the
        outbox's. None before."""
        if connection.outbox is not None:
            return connection.outbox
        handler = self.broker.sessions.get(connection.key, (None, None))[1] if self.broker is not None else None
        if handler is None:
            return None
        outbox = connection.outbox = Outbox(connection.writer, self.loop)
        reader = getattr(connection.writer, "reader", None)
        if isinstance(reader, RSGIReader):
            reader.on_puback = outbox.acked  # taken out before amqtt parses them
            return outbox

        async def handle_puback(puback: Any) -> None:
            # No reference to the handler here: a cycle would keep the WebSocket (the
            # writer's transport) open after the session ends, until a garbage collection.
            outbox.acked(puback.packet_id)

        handler.handle_puback = handle_puback
        return outbox

    def publish(
        self, connection: Connection, message: Message, qos: int, retain: bool = False, waiter: bool = False
    ) -> asyncio.Future | None:
        """Queue a message for one client. With `waiter`, a future done once it has gone
        through; None when the client is gone or not signed in (or no waiter was asked)."""
        outbox = connection.outbox or self.attach(connection)
        if outbox is None or connection.writer.closed or connection.leaving:
            return None
        connection.delivered += 1
        return outbox.publish(message, qos, retain, waiter)

    def send(
        self, connection: Connection, topic: str, payload: bytes, qos: int, retain: bool = False
    ) -> asyncio.Future | None:
        """Publish one topic and payload to one client; the future is done when the message
        has gone through (None: the client is gone)."""
        return self.publish(connection, Message(topic, payload), qos, retain, waiter=True)
