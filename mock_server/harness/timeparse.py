"""Durations (`90s`, `+10m`, `-2h`, `30d`) and points in time (epoch ms, ISO 8601, or a
duration relative to the clock's start) as scenario files and the control API write them."""

from __future__ import annotations

import functools
import random
import re
from datetime import UTC, datetime

_UNITS_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_DURATION = re.compile(r"^\s*([+-]?)\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


def parse_duration(text: str | int | float) -> int:
    """Milliseconds in a duration; a bare number is milliseconds. Raises ValueError."""
    if isinstance(text, bool):
        raise ValueError("must be a duration such as 90s, 10m, 2h or 30d")
    if isinstance(text, (int, float)):
        return int(text)
    match = _DURATION.match(text)
    if not match:
        raise ValueError("must be a duration such as 90s, 10m, 2h or 30d")
    sign, amount, unit = match.groups()
    ms = int(float(amount) * _UNITS_MS[unit])
    return -ms if sign == "-" else ms


def is_relative(text: object) -> bool:
    return isinstance(text, str) and text.strip()[:1] in "+-" and bool(_DURATION.match(text))


def parse_instant(value: str | int, start_ms: int) -> int:
    """Epoch ms of `value`: an integer (epoch ms), an ISO 8601 string (UTC when it names no
    zone), or a relative duration from `start_ms`. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("must be epoch milliseconds, ISO 8601, or relative such as +10m")
    if isinstance(value, int):
        return value
    relative, ms = _instant(value) if isinstance(value, str) else _parse_instant(value)
    return start_ms + ms if relative else ms


# A world is built from the same few texts ("-30d", "+1h") thousands of times: each is read once.
@functools.lru_cache(maxsize=4096)
def _instant(text: str) -> tuple[bool, int]:
    return _parse_instant(text)


def _parse_instant(value: object) -> tuple[bool, int]:
    """(True, offset ms) of a relative duration, (False, epoch ms) of an absolute time."""
    if is_relative(value):
        return True, parse_duration(value)  # type: ignore[arg-type]
    try:
        parsed = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be epoch milliseconds, ISO 8601, or relative such as +10m") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return False, int(parsed.timestamp() * 1000)


def delay_seconds(delay: object, rng: random.Random) -> float:
    """A rule's `delay` in seconds: a duration, or {min, max} drawn from `rng`."""
    if isinstance(delay, dict):
        low, high = parse_duration(delay["min"]), parse_duration(delay["max"])
        return rng.uniform(min(low, high), max(low, high)) / 1000
    return parse_duration(delay) / 1000
