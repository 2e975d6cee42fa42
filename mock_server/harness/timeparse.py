"""Durations (`90s`, `+10m`, `-2h`, `30d`) and points in time (epoch ms, ISO 8601, or a
duration relative to the clock's start) as scenario files and the control API write them."""

from __future__ import annotations

import functools
import random
import re
from datetime import UTC, datetime

_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
# Each unit's spellings, the shortest first; matched whole, so "m" is minutes and "ms" milliseconds.
_UNIT_WORDS = {
    "ms": ("ms", "msec", "msecs", "millisecond", "milliseconds"),
    "s": ("s", "sec", "secs", "second", "seconds"),
    "m": ("m", "min", "mins", "minute", "minutes"),
    "h": ("h", "hr", "hrs", "hour", "hours"),
    "d": ("d", "day", "days"),
    "w": ("w", "week", "weeks"),
}
_SPELLING = {word: unit for unit, words in _UNIT_WORDS.items() for word in words}
_WORDS = "|".join(sorted(_SPELLING, key=len, reverse=True))
_PART = rf"(\d+(?:\.\d+)?)\s*({_WORDS})(?![a-z])"
_DURATION = re.compile(rf"^\s*([+-]?)\s*((?:{_PART}\s*)+)$", re.IGNORECASE)
_PARTS = re.compile(_PART, re.IGNORECASE)
DURATION_RULE = (
    "must be a duration: one or more parts of a number and a unit, such as 90s, 4m59s, 1.5h or "
    "90 minutes (units ms, s, m, h, d, w, or their words: seconds, minutes, hours, days, weeks), "
    "or a whole number of milliseconds"
)
# Times a world can hold: up to the end of year 9999 (what ISO 8601 and the pages can show),
# and durations up to 1,000 years. Beyond, a number broke the pages and the state file.
LAST_INSTANT_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z
LONGEST_MS = 1000 * 365 * 86_400_000


def parse_duration(text: str | int | float) -> int:
    """Milliseconds in a duration (DURATION_RULE); a bare number is milliseconds. Raises
    ValueError with the rule."""
    if isinstance(text, bool):
        raise ValueError(DURATION_RULE)
    if isinstance(text, (int, float)):
        return _bounded(text, LONGEST_MS)
    if not isinstance(text, str):
        raise ValueError(DURATION_RULE)
    if text.strip().isdigit():
        return _bounded(int(text.strip()), LONGEST_MS)
    match = _DURATION.match(text)
    if not match:
        raise ValueError(DURATION_RULE)
    ms = _bounded(sum(float(n) * _UNIT_MS[_SPELLING[u.lower()]] for n, u in _PARTS.findall(match.group(2))), LONGEST_MS)
    return -ms if match.group(1) == "-" else ms


def _bounded(number: int | float, limit: int) -> int:
    """`number` as whole milliseconds; ValueError when it is beyond ±limit (or not finite)."""
    if not -limit <= number <= limit:  # NaN fails this too
        raise ValueError(f"must be at most {limit:,} ms (1,000 years)" if limit == LONGEST_MS else "is out of range")
    return round(number)


def is_relative(text: object) -> bool:
    return isinstance(text, str) and text.strip()[:1] in "+-" and bool(_DURATION.match(text))


def parse_instant(value: str | int, start_ms: int) -> int:
    """Epoch ms of `value`: an integer (epoch ms), an ISO 8601 string (UTC when it names no
    zone), or a relative duration from `start_ms`. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("must be epoch milliseconds, ISO 8601, or relative such as +10m")
    if isinstance(value, int):
        return _within(value)
    relative, ms = _instant(value) if isinstance(value, str) else _parse_instant(value)
    if relative:  # a start of 0 is a check of the text alone (the start is not known yet)
        return start_ms + ms if not start_ms else _within(start_ms + ms)
    return _within(ms)


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


def _within(ms: int) -> int:
    if not 0 <= ms <= LAST_INSTANT_MS:
        raise ValueError("must be a time from 1970 to the end of 9999")
    return ms


def delay_seconds(delay: str | int | float | dict, rng: random.Random) -> float:
    """A rule's `delay` in seconds: a duration, or {min, max} drawn from `rng`."""
    if isinstance(delay, dict):
        low, high = parse_duration(delay["min"]), parse_duration(delay["max"])
        return rng.uniform(min(low, high), max(low, high)) / 1000
    return parse_duration(delay) / 1000
