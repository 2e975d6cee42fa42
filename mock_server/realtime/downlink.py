"""What the cloud sends apps: the topic and JSON payload for each cloud
event, and the `BUSI-ERROR` system messages."""

from __future__ import annotations

from typing import Any

import orjson

from ..cloud.events import CommandAck, Event, OnlineChanged, PropertyReport
from . import topics


def message(event: Event) -> tuple[str, bytes] | None:
    """(topic, payload) for a cloud event; None for an event with nothing to say (an empty
    report: clients ignore an empty `kv`)."""
    base: dict[str, Any] = {"deviceKey": event.dk, "productKey": event.pk}
    if isinstance(event, PropertyReport):
        if not event.kv:
            return None
        return topics.down(event.pk, event.dk, "bus_"), orjson.dumps({**base, "data": {"kv": event.kv}})
    if isinstance(event, OnlineChanged):
        return online(event.pk, event.dk, event.online)
    if isinstance(event, CommandAck):
        ack: dict[str, Any] = {**base, "status": event.status, "ticket": event.ticket}
        if event.msg_id is not None:
            # JSON commands carry a msgId, TTLV frames a packetId: both echo the sender's id.
            ack["msgId"] = ack["packetId"] = event.msg_id
        ack["data"] = {"kv": event.kv}
        return topics.down(event.pk, event.dk, "ack_"), orjson.dumps(ack)
    return None


def online(pk: str, dk: str, is_online: bool) -> tuple[str, bytes]:
    payload = {"deviceKey": dk, "productKey": pk, "data": {"value": 1 if is_online else 0}}
    return topics.down(pk, dk, "onl_"), orjson.dumps(payload)


def busi_error(client_id: str, dk: str, code: int, msg: str) -> tuple[str, bytes]:
    payload = {"deviceKey": dk, "code": code, "msg": msg, "type": "BUSI-ERROR"}
    return topics.system(client_id), orjson.dumps(payload)
