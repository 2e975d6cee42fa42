"""Verification codes: sent by SMS or e-mail into the world's outbox (nothing leaves the
simulator), valid for a while on the clock, spent on use, and rate-limited per address.

Per (channel, address, type) only the newest unused code sent within the validity window
(`Settings.code_valid_minutes`, 5 by default, as the sendPhoneSmsCode page says) is valid. A
wrong, spent, expired or other-type code gives 5037 (SMS) or 5046 (e-mail). More than
`Settings.code_sends_per_minute` sends to one address within a minute of the clock: 5058.
"""

from __future__ import annotations

import random

from .errors import QuectelError
from .models import SentCode
from .store import Cloud

SMS, EMAIL = "sms", "email"
WRONG_CODE = {SMS: 5037, EMAIL: 5046}
MINUTE_MS = 60_000
KEPT = 10_000  # sent codes a world keeps (the oldest go first): a flood of sends stays cheap


def send(cloud: Cloud, channel: str, to: str, kind: int) -> SentCode:
    """Send a new code of type `kind` to `to`: a record in the outbox, or 5058 when the
    address had too many codes in the last minute."""
    now = cloud.now()
    recent = sum(1 for c in cloud.sent_codes if c.channel == channel and c.to == to and now - c.sent_at < MINUTE_MS)
    if recent >= cloud.settings.code_sends_per_minute:
        raise QuectelError(5058)
    # The n-th code of a world depends only on its seed and n, so a seed gives the same codes.
    digits = random.Random(f"{cloud.seed}/code/{cloud.codes_sent}").randrange(10**6)
    cloud.codes_sent += 1
    record = SentCode(channel, to, kind, f"{digits:06d}", now)
    cloud.sent_codes.append(record)
    if len(cloud.sent_codes) > KEPT:
        del cloud.sent_codes[: len(cloud.sent_codes) - KEPT]
    return record


def valid_code(cloud: Cloud, channel: str, to: str, kinds: tuple[int, ...] | None) -> list[SentCode]:
    """The codes that would be accepted now for `to`: per type, the newest unused one if it
    is still within its window (`kinds` None: any type)."""
    now = cloud.now()
    window = cloud.settings.code_valid_minutes * MINUTE_MS
    newest: dict[int, SentCode] = {}
    for record in cloud.sent_codes:
        if record.channel != channel or record.to != to or record.used_at is not None:
            continue
        if kinds is not None and record.type not in kinds:
            continue
        if record.type not in newest or record.sent_at >= newest[record.type].sent_at:
            newest[record.type] = record
    return [r for r in newest.values() if 0 <= now - r.sent_at < window]


def check(cloud: Cloud, channel: str, to: str, kinds: tuple[int, ...] | None, code: str) -> SentCode:
    """The valid code `code` for `to`, not yet spent; 5037/5046 when there is none."""
    for record in valid_code(cloud, channel, to, kinds):
        if record.code == code.strip():
            return record
    raise QuectelError(WRONG_CODE[channel])


def spend(record: SentCode, now: int) -> None:
    """Mark a checked code used: called once everything else about the request has passed."""
    record.used_at = now


def outbox(cloud: Cloud) -> list[SentCode]:
    """What GET /_mock/outbox lists: sent messages not yet cleared, newest first."""
    return [c for c in reversed(cloud.sent_codes) if c.in_outbox]


def clear_outbox(cloud: Cloud) -> int:
    """Empty the outbox (the codes stay valid: only the view is cleared); how many went."""
    shown = [c for c in cloud.sent_codes if c.in_outbox]
    for record in shown:
        record.in_outbox = False
    return len(shown)


def render(record: SentCode) -> dict:
    return {
        "channel": record.channel,
        "to": record.to,
        "type": record.type,
        "code": record.code,
        "sentAt": record.sent_at,
        "usedAt": record.used_at,
    }
