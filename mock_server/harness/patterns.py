"""The regular expressions of rules (`path`, `{regex: ...}`), run by RE2.

Rules run on the one event loop that serves every client, and their patterns come from
anyone who can post a rule. Python's backtracking engine takes exponential time on a
pattern like `(a+)+$` against a long parameter, stalling every other client; RE2 matches
in time linear in the input, whatever the pattern. It has no backreferences or lookaround:
such a pattern is refused when the rule is checked.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import re2

PatternError = re2.error


@lru_cache(maxsize=1024)
def compile_pattern(text: str) -> Any:
    """The compiled pattern; PatternError when RE2 cannot take it."""
    return re2.compile(text)


def searches(text: str, value: str) -> bool:
    """Whether `text` (a pattern) is found anywhere in `value`."""
    return compile_pattern(text).search(value) is not None
