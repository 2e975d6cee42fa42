"""The regular expressions of rules (`path`, `{regex: ...}`), run by RE2.

Rules run on the one event loop that serves every client, and their patterns come from
anyone who can post a rule. Python's backtracking engine takes exponential time on a
pattern like `(a+)+$` against a long parameter, stalling every other client; RE2 matches
in time linear in the input, whatever the pattern. It has no backreferences or lookaround:
such a pattern is refused when the rule is checked. RE2's time is also linear in the
pattern's size, and a pattern of 500 KB against a long path took 30 s and 2.3 GB: patterns
are bounded in length, and their compiled programs in memory.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import re2

if TYPE_CHECKING:  # re2 ships no types: to a checker its error is any Exception
    PatternError = Exception
else:
    PatternError = re2.error
MAX_PATTERN = 1000  # characters; a rule's pattern is a few dozen
# RE2's time is about (program size) x (text length) when its DFA gives up (as it does on
# `(.*a){30}`): 2,000 instructions against the 16 KB searched take about 0.15 s at worst.
MAX_PROGRAM = 2000
MAX_SUBJECT = 16 * 1024  # characters of a value or path a pattern looks at
_OPTIONS = re2.Options()
_OPTIONS.max_mem = 1 << 20  # bytes for the compiled program: larger ones are refused
_OPTIONS.log_errors = False  # a bad pattern is refused with a message, not logged to stderr


class PatternTooLong(PatternError):
    def __str__(self) -> str:
        return f"is longer than {MAX_PATTERN:,} characters, or too complex (expand fewer repetitions)"


@lru_cache(maxsize=1024)
def compile_pattern(text: str) -> Any:
    """The compiled pattern; PatternError when RE2 cannot take it (PatternTooLong when it
    is over MAX_PATTERN characters or MAX_PROGRAM instructions)."""
    if len(text) > MAX_PATTERN:
        raise PatternTooLong()
    compiled = re2.compile(text, _OPTIONS)
    if compiled.programsize > MAX_PROGRAM:
        raise PatternTooLong()
    return compiled


def search(compiled: Any, value: str) -> bool:
    """Whether a compiled pattern is found in `value` (its first MAX_SUBJECT characters)."""
    return compiled.search(value[:MAX_SUBJECT]) is not None


def searches(text: str, value: str) -> bool:
    """Whether `text` (a pattern) is found anywhere in `value` (its first MAX_SUBJECT characters)."""
    return search(compile_pattern(text), value)
