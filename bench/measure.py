"""The bench's pure arithmetic (no servers, no clocks), kept apart so tests can check it:
when a warm-up has settled, how far repeated runs spread, what share of the machine other
processes took during a run."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

WITHIN = 0.10  # issue 20: two successive warm-up rounds agree within 10 %


@dataclass
class Round:
    """One warm-up round: requests/s, the server's CPU time a request (µs), requests served."""

    rps: float
    cpu_us: float
    requests: int


def agree(a: float, b: float, within: float = WITHIN) -> bool:
    """Whether two figures are within `within` of the larger one."""
    return abs(a - b) <= within * max(a, b)


def spread(values: Sequence[float]) -> float:
    """How far repeated runs of one thing lie apart: (largest - smallest) / median."""
    return (max(values) - min(values)) / statistics.median(values) if values else 0.0


def settled(rounds: Sequence[Round], min_requests: int) -> bool:
    """A JVM's warm-up has settled when it has served `min_requests` (fewer than that and the
    JIT has not compiled the hot path yet, whatever two rounds say), the last three rounds'
    CPU time a request lies within 10 % of the largest (the JIT's own doing, which the other
    processes of a shared machine hardly move): stricter than two rounds agreeing, which a
    figure still falling slowly can do by chance. Requests/s is reported beside it but not
    required to agree: on a shared machine it follows the neighbours' load, not the JIT."""
    if len(rounds) < 3 or sum(r.requests for r in rounds) < min_requests:
        return False
    last = [r.cpu_us for r in rounds[-3:]]
    return max(last) - min(last) <= WITHIN * max(last)


def others_cores(busy_s: float, server_s: float, own_s: float, elapsed_s: float) -> float:
    """Cores the machine's other processes kept busy during a run: all CPU time spent on the
    machine, less the measured server's and the load generator's, over the run's length."""
    return max(0.0, busy_s - server_s - own_s) / elapsed_s if elapsed_s > 0 else 0.0


@dataclass
class Paired:
    """Runs of two servers taken back to back in pairs: the ratio b/a of each pair, and each
    side's own spread between its repeats (noise) to read the ratio against (cost)."""

    ratios: list[float]
    spread_a: float
    spread_b: float

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)


def paired(a: Sequence[float], b: Sequence[float]) -> Paired:
    return Paired([y / x for x, y in zip(a, b, strict=True)], spread(a), spread(b))
