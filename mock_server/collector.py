"""The cyclic garbage collector of a `mock-server run` process, set for what that process holds:
worlds of up to millions of small records with no reference cycles among them, and a little
cyclic garbage now and then (an MQTT session ends: amqtt's state machine is a cycle).

- At the start, everything made so far (the imports, the worlds) is frozen: no collection walks
  it again.
- Young collections run every YOUNG allocations, and what survives one is frozen at once. A
  survivor is nearly always world data, a share or journal entry a request made. Left in the
  older generations, it was walked again and again: under a load that creates shares, a
  middle collection every 225,000 or so walked them all for 85-90 ms, and p99 at 16
  connections went from 2-4 ms to 25-52 ms in every other 5 s run (`make bench`'s longer rows).
- Cyclic garbage that was still alive at a young collection is then found only by a full
  collection, a sweep. It runs once the process has used next to no CPU for IDLE_S, where its
  pause (60-130 ms in the default world, 0.8-0.9 s in one of a million shares) holds up no one;
  young collections are no sign of idleness: a load that only reads, once the journal is
  full, frees as much as it allocates and makes none. And only after the young collections
  since the last sweep allocated at least a tenth of what is frozen: a sweep's cost grows
  with the worlds, so an app polling a large world now and then does not pay for one after
  every poll. Under the older policy, nothing reached the oldest generation's collection.
"""

from __future__ import annotations

import gc
import threading
import time

YOUNG = 2500  # allocations between young collections
IDLE_S = 2.0  # how long the process must be all but idle before a sweep
IDLE_CPU = 0.05  # the share of a core the process may use and still count as idle
POLL_S = 0.25  # how often the process's CPU time is read
SWEEP_SHARE = 10  # a sweep once young collections allocated 1/SWEEP_SHARE of what is frozen


class Collector:
    """The policy above, for the process it is started in (once)."""

    def __init__(self, idle_s: float = IDLE_S, poll_s: float = POLL_S) -> None:
        self.idle_s, self.poll_s = idle_s, poll_s
        self.sweeping = False  # a full collection is under way: keep what it may find unfrozen
        self.sweeps = 0

    def start(self) -> None:
        """Freeze what exists, and from now on survivors of young collections; sweep when idle."""
        gc.freeze()
        gc.set_threshold(YOUNG, 50, 1_000_000)
        gc.callbacks.append(self._freeze_survivors)
        threading.Thread(target=self._sweep_when_idle, name="collector", daemon=True).start()
        gc.enable()

    def _freeze_survivors(self, phase: str, info: dict) -> None:
        if phase == "stop" and not self.sweeping:
            gc.freeze()

    def sweep(self) -> None:
        """A full collection of everything, frozen or not; then all that is left is frozen."""
        self.sweeping = True  # a young collection on another thread meanwhile freezes nothing
        try:
            gc.unfreeze()
            gc.collect()
        finally:
            gc.freeze()
            self.sweeping = False
            self.sweeps += 1

    def _sweep_when_idle(self) -> None:
        swept = _young_collections()
        cpu, busy_at = time.process_time(), time.monotonic()
        while True:
            time.sleep(self.poll_s)
            cpu_before, cpu = cpu, time.process_time()
            now = time.monotonic()
            if cpu - cpu_before > IDLE_CPU * self.poll_s:  # every thread's CPU, granian's too
                busy_at = now
            elif now - busy_at >= self.idle_s and self._worth_a_sweep(_young_collections() - swept):
                self.sweep()
                swept, cpu, busy_at = _young_collections(), time.process_time(), time.monotonic()

    @staticmethod
    def _worth_a_sweep(young_collections: int) -> bool:
        return young_collections * YOUNG * SWEEP_SHARE >= gc.get_freeze_count()


def _young_collections() -> int:
    return int(gc.get_stats()[0]["collections"])
