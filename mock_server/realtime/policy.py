"""What the broker may let a client do, decided as the cloud does: who signs in (a live
access token of the world's users), what a client may subscribe to (the devices it may use,
judged by cloud/access.py, and its own system topic), and what a world's rules make of each
MQTT event, mapped to what MQTT can say (a CONNACK code, a refused subscription, a cut)."""

from __future__ import annotations

import asyncio
from typing import Any

from amqtt.session import Session

from ..cloud import access
from ..cloud.accounts import strip_bearer
from ..harness.rules import Incoming, Outcome, decide
from ..harness.world import World
from . import journal, topics
from .connections import Connection, Connections

REFUSED = 0x80  # a SUBACK's answer to a filter it does not grant
NOT_AUTHORISED = 5  # the CONNACK code of a refused sign-in


async def authenticate(connections: Connections, session: Session) -> bool:
    """CONNECT: the access token in the password (else the user name), with or without
    `Bearer `; refused with CONNACK 5 when missing, unknown, expired or revoked (or the
    code a rule names)."""
    connection = connections.of_session(session)
    if connection is None:
        return False
    # A will would let one client publish on a device's topics: the cloud has none.
    session.will_flag, session.will_retain = False, False
    connection.client_id = session.client_id or ""
    session.client_id = connection.key  # before amqtt files the session under it
    world = connections.channel(connection.world).world
    connection.token = strip_bearer(str(session.password or session.username or ""))
    with world.lock:
        world.catch_up()
        connection.uid = _signed_in(world, connection.token)
        outcome = rule(world, connection, "connect", "")
    if outcome is not None and outcome.wait:
        await asyncio.sleep(outcome.wait)
    if outcome is not None and outcome.fault is not None:  # lost before any CONNACK
        connection.writer.cut()
        journal.record(world, connection, "connect", **ruled(outcome))
        return False
    code = connack_code(connection, outcome)
    connection.writer.connack_code = code or None
    journal.record(world, connection, "connect", **{**ruled(outcome), "code": code})
    if code == 0:
        connections.admit(connection)
    return code == 0


def _signed_in(world: World, token_text: str) -> str | None:
    """The user a live access token of this world names; None for any other text."""
    token = world.tokens.get(token_text)
    live = token is not None and token.kind == "access" and token.is_live(world.now())
    return token.uid if live and token is not None and token.uid in world.users else None


def connack_code(connection: Connection, outcome: Outcome | None) -> int:
    """0 for a signed-in client, else 5; a rule's code when it is one CONNACK can carry (any
    other code, and a rule that disconnects, refuse with 5)."""
    code = 0 if connection.uid else NOT_AUTHORISED
    if outcome is not None and outcome.code is not None:
        code = outcome.code if outcome.code in (1, 2, 3, 4, 5) else NOT_AUTHORISED
    elif outcome is not None and outcome.disconnect:
        code = NOT_AUTHORISED
    return code


async def may_subscribe(connections: Connections, session: Session, topic_filter: str) -> bool:
    """SUBSCRIBE: a device's topics only for its owner and the holders of an active share
    (a wildcard in the device's place is granted, and each message is checked); the
    client's own system topic; nothing else. Refused filters get 0x80 in the SUBACK."""
    connection = connections.of_session(session)
    if connection is None or connection.uid is None:
        return False
    channel = connections.channel(connection.world)
    world = channel.world
    target = channel.devices.parse(topic_filter)
    with world.lock:
        if target is not None:
            usable = access.can_use(world, connection.uid, target.pk, target.dk)
            allowed = target.direction == topics.DOWN and usable
        else:
            allowed = _plausible(topic_filter, connection.client_id)
        outcome = rule(world, connection, "subscribe", topic_filter, target)
    if outcome is not None and outcome.wait:
        await asyncio.sleep(outcome.wait)
    if outcome is not None and outcome.answers:
        allowed = False
    if outcome is not None and outcome.disconnect:
        connection.writer.cut_after_suback = True
    fields = {**ruled(outcome), "code": 0 if allowed else REFUSED}
    journal.record(world, connection, "subscribe", topic=topic_filter, **fields)
    return allowed


def _plausible(topic_filter: str, client_id: str) -> bool:
    """A filter without a concrete device: the client's own system topic, or a wildcard over
    the devices (each message is then checked against the recipient's access)."""
    if topics.matches(topic_filter, topics.system(client_id)):
        return True
    probes = [topics.down("PK", "DK", suffix) for suffix in topics.DOWNLINK]
    return topics.has_wildcard(topic_filter) and any(topics.matches(topic_filter, p) for p in probes)


def rule(
    world: World, connection: Connection, kind: str, topic: str, target: topics.DeviceTopic | None = None
) -> Outcome | None:
    """The outcome of the first rule for this MQTT event (its effects applied); None if no
    rule fires. The caller holds the world's lock."""
    if not world.rules or not world.rules.may_match(kind, "MQTT", topic):
        return None
    params = {"clientId": connection.client_id}
    if target is not None:
        params.update(pk=target.pk, dk=target.dk)
    return decide(world, Incoming("MQTT", topic, params, {}, connection.token, mqtt=kind))


def ruled(outcome: Outcome | None) -> dict[str, Any]:
    """A journal entry's fields for a rule's outcome: its rule, code and warnings."""
    if outcome is None:
        return {}
    return {"rule": outcome.rule, "code": outcome.code, "warnings": list(outcome.warnings)}
