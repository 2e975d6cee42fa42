"""What apps publish: binary TTLV frames on `q/1/d/qd{pk}{dk}/bus` (read
all 0x0011, write 0x0013) and JSON `READ-ATTR` / `WRITE-ATTR` on `q/1/d/qd{pk}{dk}/sys_`.

Both go through the same control code as batchControlDevice; the device then answers with
`ack_` and `bus_` (the hub publishes the events). Anything the cloud refuses or cannot read
comes back to the sender alone as a `BUSI-ERROR` on `q/1/u/{clientId}/sys_`, and changes
nothing: 4007 for a device the user may not use, 4021 when it is offline, 5340 for a command
that cannot be carried out (unreadable frame or JSON, unknown code, value outside its specs).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson

from ..cloud import access, control
from ..cloud.control import CommandRefused
from ..cloud.errors import message_for
from . import downlink, topics, ttlv
from .policy import ruled

if TYPE_CHECKING:
    from ..harness.rules import Outcome
    from .connections import Connection
    from .hub import Hub

INVALID = 5340
NOT_BOUND = (4007, "device is not bound")


def take(hub: Hub, connection: Connection, topic: str, payload: bytes) -> None:
    """One message, taken out of the stream before amqtt (transport.py) or handed on by it:
    decided and carried out at once, or once a rule's wait is over (later messages go on
    meanwhile, as each had a task of its own in amqtt)."""
    decided = _decide(hub, connection, topic, payload)
    if decided is None:
        return
    outcome = decided[2]
    if outcome is not None and outcome.wait:
        hub.loop.call_later(outcome.wait, _carry_out, hub, connection, payload, *decided)
    else:
        _carry_out(hub, connection, payload, *decided)


def _decide(
    hub: Hub, connection: Connection, topic: str, payload: bytes
) -> tuple[Any, topics.DeviceTopic | None, Outcome | None] | None:
    """The world, the device topic and what a rule makes of the message (journaled); None
    when the connection's world has gone."""
    channel = hub.channels.get(connection.world)
    if channel is None:
        return None
    world = channel.world
    target = channel.devices.parse(topic)
    with world.lock:
        world.catch_up()
        outcome = hub.rule(world, connection, "publish", topic, target)
    hub.journal(world, connection, "publish", topic=topic, payload=payload, **ruled(outcome))
    return world, target, outcome


def _carry_out(
    hub: Hub, connection: Connection, payload: bytes, world: Any, target: topics.DeviceTopic | None,
    outcome: Outcome | None,
) -> None:  # fmt: skip
    dk = target.dk if target else ""
    if outcome is not None:
        if outcome.disconnect:
            hub.cut(connection)
            return
        if outcome.fault is not None:  # any fault loses the message
            return
        if outcome.code is not None:
            _refuse(hub, connection, dk, CommandRefused(outcome.code, outcome.msg))
            return
    try:
        with world.lock:
            world.catch_up()
            _command(world, connection, target, payload)
    except CommandRefused as refused:
        _refuse(hub, connection, dk, refused)


def _refuse(hub: Hub, connection: Connection, dk: str, refused: CommandRefused) -> None:
    msg = refused.msg or message_for(refused.code)
    topic, payload = downlink.busi_error(connection.client_id, dk, refused.code, msg)
    hub.send(connection, topic, payload, 0)
    channel = hub.channels.get(connection.world)
    if channel is not None:
        hub.journal(channel.world, connection, "refuse", topic=topic, payload=payload, code=refused.code)


def _command(world: Any, connection: Connection, target: topics.DeviceTopic | None, payload: bytes) -> None:
    """Carry out one uplink message; CommandRefused when the cloud will not."""
    if target is None or target.direction != topics.UP:
        raise CommandRefused(*NOT_BOUND)
    user = world.users.get(connection.uid)
    if user is None or not access.can_use(world, user.uid, target.pk, target.dk):
        raise CommandRefused(*NOT_BOUND)
    if target.suffix == "bus":
        _ttlv(world, user, target, payload)
    elif target.suffix == "sys_":
        _json(world, user, target, payload)
    else:
        raise CommandRefused(INVALID, f"nothing is published to {target.suffix}: use bus (TTLV) or sys_ (JSON)")


def _ttlv(world: Any, user: Any, target: topics.DeviceTopic, payload: bytes) -> None:
    product = world.products.get(target.pk)
    if product is None:
        raise CommandRefused(INVALID, f"product {target.pk} has no thing model")
    try:
        frame = ttlv.decode_frame(payload)
        if frame.cmd == ttlv.READ_ALL:
            control.read(world, user, target.pk, target.dk, None, msg_id=frame.packet_id)
        elif frame.cmd == ttlv.WRITE:
            kv = ttlv.decode_fields(product, frame.payload)
            control.write(world, user, target.pk, target.dk, kv, msg_id=frame.packet_id)
        else:
            raise CommandRefused(INVALID, f"TTLV command {frame.cmd:#06x}: only 0x0011 (read all) and 0x0013 (write)")
    except ttlv.TTLVError as problem:
        raise CommandRefused(INVALID, f"malformed TTLV frame: {problem}") from None


def _json(world: Any, user: Any, target: topics.DeviceTopic, payload: bytes) -> None:
    try:
        message = orjson.loads(payload)
    except orjson.JSONDecodeError:
        raise CommandRefused(INVALID, "malformed JSON: the message must be a READ-ATTR or WRITE-ATTR object") from None
    if not isinstance(message, dict):
        raise CommandRefused(INVALID, "malformed JSON: the message must be a READ-ATTR or WRITE-ATTR object")
    msg_id = message.get("msgId") if isinstance(message.get("msgId"), int) else None
    kind = message.get("type")
    kv = _inner(message.get("kv"))
    if kind == "READ-ATTR":
        if kv is not None and not (isinstance(kv, list) and all(isinstance(c, str) for c in kv)):
            raise CommandRefused(INVALID, 'READ-ATTR kv must be JSON text of a code list, ["switch"]')
        control.read(world, user, target.pk, target.dk, kv or None, msg_id=msg_id)
    elif kind == "WRITE-ATTR":
        control.write(world, user, target.pk, target.dk, _merged(kv), msg_id=msg_id)
    else:
        raise CommandRefused(INVALID, f"unknown type {kind!r}: READ-ATTR or WRITE-ATTR")


def _inner(kv: Any) -> Any:
    """`kv` is JSON text on the wire; a client that sends the value itself is understood too."""
    if isinstance(kv, str):
        try:
            return orjson.loads(kv)
        except orjson.JSONDecodeError:
            raise CommandRefused(INVALID, "kv is not JSON text") from None
    return kv


def _merged(kv: Any) -> dict:
    items = kv if isinstance(kv, list) else [kv]
    if not items or not all(isinstance(item, dict) for item in items):
        raise CommandRefused(INVALID, 'WRITE-ATTR kv must be JSON text of [{"code": value}]')
    merged: dict = {}
    for item in items:
        merged.update(item)
    return merged
