"""The realtime channel's entries in a world's journal: one per sign-in, subscription,
publish, refusal, delivery and disconnect, beside the REST requests (`"kind": "mqtt"`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..harness.world import World

if TYPE_CHECKING:
    from .connections import Connection

PATH = "/ws/v2"  # where apps connect; the entry's path when no topic is named
JOURNAL_PAYLOAD = 512  # payload characters kept in a journal entry


def record(world: World, connection: Connection | None, event: str, **fields: Any) -> None:
    payload = fields.pop("payload", None)
    if isinstance(payload, bytes | bytearray):
        text = payload.decode("utf-8", "replace") if payload.isascii() else payload.hex(" ").upper()
        fields["payload"] = text[:JOURNAL_PAYLOAD]
    entry = {
        "seq": 0,  # numbered by the journal, which takes this dict over (one dict per event)
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
        "warnings": tuple(fields.pop("warnings", ())),  # a tuple, as a request's: one object fewer to walk
        **fields,
    }
    world.journal.add(entry)
