"""The simulator's clock: the one place every expiry asks for "now".

It follows real time by default (shifted by an offset once set or advanced) and can be
frozen, in which case time moves only when it is set or advanced.
"""

from __future__ import annotations

import threading
import time


def _real_ms() -> int:
    # Looked up at call time so that freezegun's patch of time.time applies.
    return int(time.time() * 1000)


class Clock:
    def __init__(self, start_ms: int | None = None, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._frozen_at: int | None = None
        self._offset = 0 if start_ms is None else start_ms - _real_ms()
        if frozen:
            # Exactly start_ms: reading the real clock twice could put it a millisecond later.
            self._frozen_at = _real_ms() + self._offset if start_ms is None else start_ms

    def now_ms(self) -> int:
        frozen_at = self._frozen_at
        if frozen_at is not None:
            return frozen_at
        return _real_ms() + self._offset

    @property
    def frozen(self) -> bool:
        return self._frozen_at is not None

    def freeze(self) -> None:
        with self._lock:
            if self._frozen_at is None:
                self._frozen_at = _real_ms() + self._offset

    def unfreeze(self) -> None:
        """Let time run again from the current reading."""
        with self._lock:
            if self._frozen_at is not None:
                self._offset = self._frozen_at - _real_ms()
                self._frozen_at = None

    def set(self, ms: int) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at = ms
            else:
                self._offset = ms - _real_ms()

    def advance(self, ms: int) -> None:
        with self._lock:
            if self._frozen_at is not None:
                self._frozen_at += ms
            else:
                self._offset += ms
