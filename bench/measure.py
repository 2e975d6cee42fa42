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
    """Whether a JVM's warm-up had settled by its last round: it has served `min_requests`
    (fewer than that and the JIT has not compiled the hot path yet, whatever two rounds say)
    and its last two rounds agree within 10 % on the CPU time a request, which is the JIT's
    doing: on a shared machine requests/s follows the neighbours' load instead (a JVM given
    half a core does half the requests, at the same CPU a request). Requests/s is reported
    beside it but not required to agree."""
    if len(rounds) < 2 or sum(r.requests for r in rounds) < min_requests:
        return False
    return agree(rounds[-1].cpu_us, rounds[-2].cpu_us)


def settled_at(rounds: Sequence[Round], min_requests: int) -> int | None:
    """The number of rounds after which the warm-up first counted as settled, or None."""
    return next((n for n in range(2, len(rounds) + 1) if settled(rounds[:n], min_requests)), None)


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
