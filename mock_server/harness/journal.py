"""The journal: what each world was asked and what it answered, newest last, bounded in
entries and in bytes (a request's parameters are cut down to what a person reads)."""

from __future__ import annotations

import math
import threading
from collections import deque
from typing import Any

import orjson

from .rules import endpoint_of

MAX_ENTRIES = 10_000
MAX_BYTES = 32 * 1024 * 1024  # about: the sizes of the texts the entries keep
MAX_VALUE = 256  # long parameter values are cut so a huge request cannot bloat the journal
MAX_PARAMS = 64  # parameters kept per entry; the rest are counted
MAX_PATH = 1024
_INT_RANGE = (-(2**63), 2**64 - 1)


def _short(value: Any) -> Any:
    """A parameter's value as the journal keeps it: numbers that any JSON reader takes, and
    texts and nested values of at most MAX_VALUE characters (a longer nested value becomes
    the start of its JSON text)."""
    if type(value) is str and len(value) <= MAX_VALUE:  # most values: kept as they are
        return value
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int) and _INT_RANGE[0] <= value <= _INT_RANGE[1]:
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if not isinstance(value, str):
        try:
            text = orjson.dumps(value, default=str).decode()
        except TypeError:  # an integer over 64 bits, nesting too deep
            text = repr(value)[: MAX_VALUE + 1]
        else:
            if len(text) <= MAX_VALUE:
                return value  # small: kept as it came (a deviceList stays a list)
        value = text
    if len(value) > MAX_VALUE:
        return value[:MAX_VALUE] + f"...({len(value)} chars)"
    return value


def _params(params: dict) -> tuple[dict, int]:
    """The parameters kept, and about how many bytes they take. Most requests have a few short
    texts, or (a JSON body) small numbers and lists: a copy of them is kept, as _cut_params
    would keep them, without a call per value."""
    if len(params) <= MAX_PARAMS:
        size = 0
        for name, value in params.items():
            if type(name) is not str or len(name) > MAX_VALUE:
                break
            kind = type(value)
            if kind is str and len(value) <= MAX_VALUE:
                size += len(name) + len(value)
            elif value is None or kind is bool or (kind is int and _INT_RANGE[0] <= value <= _INT_RANGE[1]):
                size += len(name) + 8
            elif (kind is list or kind is dict) and _small(value):
                size += len(name) + MAX_VALUE
            else:
                break
        else:
            return dict(params), size
    return _cut_params(params)


def _small(value: list | dict) -> bool:
    """Whether _short keeps a nested value as it came: its JSON text fits MAX_VALUE (in bytes
    here, which are never fewer than its characters; a text between the two goes the long way)."""
    try:
        return len(orjson.dumps(value, default=str)) <= MAX_VALUE
    except TypeError:
        return False


def _cut_params(params: dict) -> tuple[dict, int]:
    """_params for any parameters: each name and value cut down, at most MAX_PARAMS kept."""
    kept, size = {}, 0
    for i, (name, value) in enumerate(params.items()):
        if i == MAX_PARAMS:
            kept["..."] = f"{len(params) - MAX_PARAMS} more parameters"
            break
        key = name if type(name) is str and len(name) <= MAX_VALUE else _short(str(name))[:MAX_VALUE]
        short = _short(value)
        kept[key] = short
        if isinstance(short, str):
            size += len(key) + len(short)
        else:
            size += len(key) + (MAX_VALUE if isinstance(short, list | dict) else 8)
    return kept, size


def _size(entry: dict, params_size: int) -> int:
    size = 200 + params_size
    for value in entry.values():  # a loop: a generator in sum() costs twice as much here
        if isinstance(value, str):
            size += len(value)
    return size


# A REST request's entry as the journal keeps it: a tuple of seq, time, method, path, params,
# uid, rule, code, status, warnings and answer (bytes); the endpoint is derived from the path
# when it is read, the answer decoded. The dict it is read as cost more to build on every
# request than the journal's few reads (query, since) cost to make.
ANSWER_MAX = 2048  # bytes of an answer the journal keeps


def _as_dict(kept: dict | tuple) -> dict:
    """An entry as it is read: a dict, its fields in the order REST and realtime entries share."""
    if type(kept) is dict:
        return kept
    seq, time, method, path, params, uid, rule, code, status, warnings, answer = kept
    return {"seq": seq, "time": time, "method": method, "path": path, "endpoint": endpoint_of(path),
            "params": params, "uid": uid, "rule": rule, "code": code,
            "status": status, "warnings": warnings,
            "answer": None if answer is None else answer.decode("utf-8", "replace")}  # fmt: skip


def _seq(kept: dict | tuple) -> int:
    return kept[0] if type(kept) is tuple else kept["seq"]  # type: ignore[call-overload]


def _cut_path(path: str) -> str:
    return path[:MAX_PATH] + f"...({len(path)} chars)"


class Journal:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_bytes: int = MAX_BYTES) -> None:
        self._entries: deque[dict | tuple] = deque()
        self._sizes: deque[int] = deque()
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self._bytes = 0
        self._lock = threading.Lock()
        self._seq = 0

    def record(self, **entry: Any) -> dict:
        return self.add({"seq": 0, **entry})

    def add(self, entry: dict) -> dict:
        """Record `entry`, whose first key is "seq" (numbered here): the journal takes the
        dict over, so the caller must not change it afterwards. Its parameters and a long
        path are cut down (a copy of the parameters is kept, never the caller's)."""
        params = entry.get("params")
        entry["params"], params_size = _params(params) if params else ({}, 0)
        path = entry.get("path")
        if type(path) is str and len(path) > MAX_PATH:
            entry["path"] = _cut_path(path)
        with self._lock:
            entry["seq"] = self._keep(entry, _size(entry, params_size))
        return entry

    def add_request(
        self, time: int, method: str, path: str, params: dict, uid: str | None, rule: str | None,
        code: int | None, status: int, warnings: tuple[str, ...], answer: bytes | None,
    ) -> None:  # fmt: skip
        """Record a REST request, kept as a tuple (the comment above ANSWER_MAX): read back,
        it is the dict `add` would keep for the same fields, the answer's first ANSWER_MAX
        bytes as text."""
        kept, size = _params(params) if params else ({}, 0)
        if len(path) > MAX_PATH:
            path = _cut_path(path)
        if answer is not None:
            answer = answer[:ANSWER_MAX]  # the same bytes, not a copy, when shorter
            size += len(answer)
        size += 200 + len(method) + 2 * len(path) + len(uid or "") + len(rule or "")
        if warnings:
            size += sum(map(len, warnings))
        with self._lock:  # numbered as _keep numbers it
            self._keep((self._seq + 1, time, method, path, kept, uid, rule, code, status, warnings, answer), size)

    def _keep(self, kept: dict | tuple, size: int) -> int:
        """Number and keep an entry (under the lock), dropping the oldest past the bounds."""
        self._seq += 1
        self._entries.append(kept)
        self._sizes.append(size)
        self._bytes += size
        while len(self._entries) > self.max_entries or (self._bytes > self.max_bytes and len(self._entries) > 1):
            self._entries.popleft()
            self._bytes -= self._sizes.popleft()
        return self._seq

    @property
    def size(self) -> int:
        """About how many bytes the entries kept take."""
        return self._bytes

    def query(
        self, path: str | None = None, code: int | None = None, limit: int | None = None, kind: str | None = None
    ) -> list[dict]:
        """Entries oldest first; `path` matches the full path or its last segment; `kind` is
        "rest" (requests) or "mqtt" (realtime sessions and messages)."""
        with self._lock:
            kept = list(self._entries)
        entries = [_as_dict(e) for e in kept]
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
            newer: list[dict | tuple] = []
            for entry in reversed(self._entries):
                if _seq(entry) <= seq or (limit is not None and len(newer) >= limit):
                    break
                newer.append(entry)
        return [_as_dict(e) for e in reversed(newer)]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._sizes.clear()
            self._bytes = 0

    @property
    def total(self) -> int:
        """Every request ever recorded, including those the bound has dropped."""
        return self._seq
