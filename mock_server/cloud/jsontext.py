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
from typing import Any

INT_MIN = -(2**63)  # the widest integers any client (a Java long) or the state file holds
INT_MAX = 2**64 - 1
MAX_DEPTH = 64  # arrays and objects within each other; real requests nest three or four


class JsonRefused(ValueError):
    """Text that is not JSON, or JSON this simulator does not take; the message says why."""


def read_json(text: str | bytes) -> Any:
    """The value of `text`; JsonRefused when it is not JSON, holds a number that is not
    finite or does not fit in 64 bits, or nests deeper than MAX_DEPTH."""
    try:
        value = json.loads(text, parse_int=_integer, parse_float=_finite, parse_constant=_constant)
    except RecursionError:
        raise JsonRefused(f"nested deeper than {MAX_DEPTH}") from None
    except JsonRefused:
        raise
    except (ValueError, TypeError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise JsonRefused(f"not JSON: {exc}") from None
    if _depth_over(value, MAX_DEPTH):
        raise JsonRefused(f"nested deeper than {MAX_DEPTH}")
    return value


def fits(value: Any) -> bool:
    """Whether every number in a parsed value (from JSON or YAML) is finite and fits in
    64 bits, and it nests no deeper than MAX_DEPTH."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, bool) or item is None or isinstance(item, str):
            continue
        if isinstance(item, int):
            if not INT_MIN <= item <= INT_MAX:
                return False
        elif isinstance(item, float):
            if not math.isfinite(item):
                return False
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_DEPTH:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack += [(child, depth + 1) for child in children]
    return True


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 20:  # before int(): thousands of digits cost time, then fail
        raise JsonRefused(f"the number {text[:24]}… does not fit in 64 bits")
    number = int(text)
    if not INT_MIN <= number <= INT_MAX:
        raise JsonRefused(f"the number {text} does not fit in 64 bits")
    return number


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonRefused(f"the number {text[:24]} is too large")
    return number


def _constant(text: str) -> float:
    raise JsonRefused(f"{text} is not JSON (numbers must be finite)")


def _depth_over(value: Any, limit: int) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= limit:
                return True
            stack += [(child, depth + 1) for child in (item.values() if isinstance(item, dict) else item)]
    return False
