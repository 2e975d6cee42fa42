"""JSON text from clients, read strictly: what Java's and JavaScript's parsers would refuse,
or what no record here can hold, is refused with a reason instead of ending in a 500 or a
world that cannot be saved.

Python's own reader takes `NaN`, `Infinity`, `1e400` (as infinity), integers of any size
(those of over 4,300 digits then fail with a ValueError, those over 64 bits later, when a
state file is written) and nesting until it runs out of stack (RecursionError).
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

INT_MIN = -(2**63)  # the widest integers any client (a Java long) or the state file holds
INT_MAX = 2**64 - 1
MAX_DEPTH = 64  # arrays and objects within each other; real requests nest three or four


class JsonRefused(ValueError):
    """Text that is not JSON, or JSON this simulator does not take; the message says why."""


def read_json(text: str | bytes) -> Any:
    """The value of `text`; JsonRefused when it is not JSON, holds a number that is not
    finite or does not fit in 64 bits, or nests deeper than MAX_DEPTH. orjson reads it (fast,
    and it refuses NaN, Infinity and 1e400), but turns integers over 64 bits into floats:
    text with a run of 20 digits is read again, exactly, by the standard library."""
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise JsonRefused(f"not JSON: {exc}") from None
    if _LONG_NUMBER.search(raw):
        try:
            value = json.loads(raw, parse_constant=_constant)
        except (ValueError, RecursionError) as exc:  # over 4,300 digits, too deep for it
            raise JsonRefused(f"not a number JSON takes: {str(exc)[:100]}") from None
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH or _LONG_NUMBER.search(raw):
        problem = problem_of(value)
        if problem:
            raise JsonRefused(problem)
    return value


def problem_of(value: Any) -> str | None:
    """What in a parsed value (from JSON or YAML) no JSON reader of 64 bits takes: a number
    that is not finite or does not fit in 64 bits, nesting deeper than MAX_DEPTH; else None."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                return f"the number {str(item)[:24]}{'…' if len(str(item)) > 24 else ''} does not fit in 64 bits"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "numbers must be finite"
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return f"nested deeper than {MAX_DEPTH}"
            children = item.values() if isinstance(item, dict) else item
            stack += [(child, depth + 1) for child in children]
    return None


_LONG_NUMBER = re.compile(rb"\d{20}")


def _constant(text: str) -> float:
    raise JsonRefused(f"{text} is not JSON (numbers must be finite)")


