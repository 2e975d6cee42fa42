"""The journal: what each world was asked and what it answered, newest last, bounded."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

MAX_ENTRIES = 10_000
MAX_VALUE = 256  # long parameter values are cut so a huge request cannot bloat the journal


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE:
        return value[:MAX_VALUE] + f"...({len(value)} chars)"
    return value


class Journal:
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: deque[dict] = deque(maxlen=max_entries)
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, **entry: Any) -> dict:
        entry["params"] = {k: _short(v) for k, v in (entry.get("params") or {}).items()}
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, **entry}
            self._entries.append(entry)
        return entry

    def query(
        self, path: str | None = None, code: int | None = None, limit: int | None = None, kind: str | None = None
    ) -> list[dict]:
        """Entries oldest first; `path` matches the full path or its last segment; `kind` is
        "rest" (requests) or "mqtt" (realtime sessions and messages)."""
        with self._lock:
            entries = list(self._entries)
        if kind:
            entries = [e for e in entries if e.get("kind", "rest") == kind]
        if path:
            entries = [e for e in entries if path in (e["path"], e["endpoint"])]
        if code is not None:
            entries = [e for e in entries if e.get("code") == code]
        return entries[-limit:] if limit else entries

    def since(self, seq: int, limit: int | None = None) -> list[dict]:
        """Entries newer than `seq`, oldest first (the newest `limit` of them): what a live
        view has not shown yet."""
        with self._lock:
            if seq >= self._seq:
                return []
            newer: list[dict] = []
            for entry in reversed(self._entries):
                if entry["seq"] <= seq or (limit is not None and len(newer) >= limit):
                    break
                newer.append(entry)
        return newer[::-1]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    @property
    def total(self) -> int:
        """Every request ever recorded, including those the bound has dropped."""
        return self._seq
