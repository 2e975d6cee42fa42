"""How the served process collects cyclic garbage: short pauses, in a world that grows.

Most of what a running simulator allocates after it starts either dies young (a request's
objects) or lives as long as its world (the records a request adds: each shareInfo adds a
share). Python's generational collector walks each survivor again in every older generation:
a share table that grows by 16,000 records a second made young collections of 5-7 ms and
middle ones of about 90 ms (gen. 1, every ~250,000 requests), measured with gc.callbacks.

Here a young collection is small, and what survives it is frozen at once, so no older
generation ever fills. YOUNG weighs two tails: every 1,000 allocations a collection took
0.8 ms but held up more than 1 % of a create load's requests (p99), every 2,500 2.3 ms
for fewer than 1 % (in-process, 300,000 shareInfo creates, their service times as 16
connections queue them: p99 1.45 against 1.03 ms, p99.9 2.0 against 3.9 ms; main's 5-7
ms collections and 90 ms middle ones made p99.9 7-8 ms). Frozen garbage that is
cyclic would never be found, so the heap is bounded as CPython's own collector bounds it:
once the frozen objects have doubled since the last full collection, a full one runs (in
proportion to the heap, but that often at most: a growing world pays a few, a steady one none
unless something leaks cycles, such as the broker's sessions, whose records are reclaimed so).
"""

from __future__ import annotations

import gc
import threading
from typing import Any

YOUNG = 2500  # allocations between young collections
FULL_CHECK_S = 1.0  # how often the frozen heap's growth is looked at
MIN_FULL = 200_000  # frozen objects below which no full collection is worth its pause


class Collector:
    def __init__(self, check_s: float = FULL_CHECK_S, min_full: int = MIN_FULL) -> None:
        self.check_s, self.min_full = check_s, min_full
        self._full = threading.Lock()  # held while a full collection runs: nothing is frozen then
        self.full_at = max(min_full, 2 * gc.get_freeze_count())
        self.full_collections = 0
        self._stop = threading.Event()

    def start(self) -> None:
        """Freeze what exists now (what the start made lives for the whole run; no collection
        first: finding the start's little garbage took longer than making the app), then
        collect young garbage only, freezing its survivors."""
        gc.freeze()
        self.full_at = max(self.min_full, 2 * gc.get_freeze_count())
        gc.set_threshold(YOUNG, 50, 1_000_000)
        gc.callbacks.append(self._after_collection)
        threading.Thread(target=self._watch, name="collector", daemon=True).start()
        gc.enable()

    def stop(self) -> None:
        self._stop.set()
        if self._after_collection in gc.callbacks:
            gc.callbacks.remove(self._after_collection)

    def _after_collection(self, phase: str, info: dict[str, Any]) -> None:
        # Right after a collection, the young generations hold only live objects.
        if phase == "stop" and not self._full.locked():
            gc.freeze()

    def _watch(self) -> None:
        while not self._stop.wait(self.check_s):
            if gc.get_freeze_count() > self.full_at:
                self.collect_all()

    def collect_all(self) -> int:
        """A full collection of everything, the start included; then all is frozen again."""
        with self._full:
            gc.unfreeze()
            found = gc.collect()
            gc.freeze()
        self.full_at = max(self.min_full, 2 * gc.get_freeze_count())
        self.full_collections += 1
        return found
