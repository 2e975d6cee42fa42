"""Where sent verification codes show up besides GET /_mock/outbox: a console line each, and
an entry in the world's journal (kind "outbox")."""

from __future__ import annotations

import logging

from ..cloud.models import SentCode
from ..harness.world import World

_log = logging.getLogger("mock_server.requests")  # the request log: standard output

SMS_TYPES = {1: "password reset", 2: "login", 3: "registration", 4: "account cancellation", 5: "push recipient"}
EMAIL_TYPES = {1: "registration", 2: "password reset", 3: "link e-mail", 4: "unlink e-mail", 5: "account cancellation"}


def purpose(record: SentCode) -> str:
    names = SMS_TYPES if record.channel == "sms" else EMAIL_TYPES
    return names.get(record.type, str(record.type))


def announce(world: World, record: SentCode) -> None:
    """Tell the console and the journal that the cloud sent `record`."""
    what = "SMS" if record.channel == "sms" else "E-mail"
    _log.info(f"{what} to {record.to}: code {record.code} ({purpose(record)})")
    world.journal.record(
        kind="outbox",
        time=record.sent_at,
        method=what.upper(),
        path=f"outbox/{record.channel}/{record.to}",
        endpoint=f"outbox.{record.channel}",
        params={"to": record.to, "type": record.type, "code": record.code},
        uid=None,
        rule=None,
        code=None,
        status=None,
        warnings=[],
    )
