"""The tail that garbage collection adds to a load that grows the world, in-process:
`python bench/service_times.py [POLICY ...] [-n N]`, POLICY one of `server` (what
`mock-server run` does, mock_server/collector.py: a young collection every 2,500 allocations,
whose survivors are frozen at once, so no older generation fills), `older` (the policy before
it, measured against it: gc.freeze after the start, then thresholds 5000/50/1,000,000, so the
survivors of 50 young collections are walked again by a middle one), `off` (no collection:
the floor). Default: all three, each in a process of its own.

Each of N shareInfo creates goes through the fast path (bench/inprocess.py's bridge, small
world) and is timed in CPU time of the thread, which a busy machine does not lengthen; each
collection is timed by gc.callbacks. What 16 connections would see is modelled as a queue: a
request waits for the 15 before it, so its latency is the sum of 16 service times, and a
collection's pause lands on the 16 requests in flight. The model leaves out granian's
threads and the machine. Measured end to end (wrk, 16 connections, 5 s runs one after the
other on one server), the older policy's middle collections (85-90 ms, one every 225,000 or
so creates) took p99 from 2-4 ms to 25-52 ms in every other run; the server's policy kept
every run at 2.0-2.6 ms."""

from __future__ import annotations

import asyncio
import gc
import statistics
import subprocess
import sys
import time

POLICIES = ("server", "older", "off")
N = 300_000


def _quantile(values: list[float], q: float) -> float:
    return values[int(q * (len(values) - 1))]


def measure(policy: str, n: int) -> str:
    from inprocess import SMALL_WORLD, _Proto, _Scope, loads

    from mock_server.app import create_app
    from mock_server.collector import Collector
    from mock_server.rsgi import RSGIBridge

    app = create_app({"SCENARIO": str(SMALL_WORLD)})
    bridge = RSGIBridge(app)
    method, path, query, token, body = loads(app)["shareInfo create"]
    pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
    started = [0]

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.thread_time_ns()
        else:
            pauses[info["generation"]].append((time.thread_time_ns() - started[0]) / 1e6)

    if policy == "server":
        Collector(idle_s=3600).start()  # no sweep: the process is never idle while measured
    elif policy == "older":
        gc.freeze()
        gc.set_threshold(5000, 50, 1_000_000)
    else:
        gc.freeze()
        gc.disable()
    gc.callbacks.append(timed)
    service: list[int] = []

    async def run() -> None:
        clock = time.thread_time_ns
        for i in range(n):
            scope, proto = _Scope(method, path, query + str(i), token, body), _Proto(body)
            before = clock()
            await bridge(scope, proto)
            service.append(clock() - before)

    asyncio.run(run())
    queued = sorted(sum(service[i - 15 : i + 1]) / 1e6 for i in range(15, len(service)))
    lines = [f"{policy}: {n:,} shareInfo creates; modelled latency at 16 connections: p50 "
             f"{_quantile(queued, 0.5):.2f} ms, p99 {_quantile(queued, 0.99):.2f} ms, p99.9 "
             f"{_quantile(queued, 0.999):.2f} ms, max {queued[-1]:.1f} ms"]  # fmt: skip
    for generation, times in pauses.items():
        if times:
            lines.append(f"  generation {generation}: {len(times)} collections, {sum(times):.0f} ms in all, median "
                         f"{statistics.median(times):.2f} ms, longest {max(times):.1f} ms")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    n = int(sys.argv[sys.argv.index("-n") + 1]) if "-n" in sys.argv else N
    asked = [a for a in sys.argv[1:] if a in POLICIES]
    if len(asked) == 1:
        print(measure(asked[0], n), flush=True)
        return
    for policy in asked or POLICIES:
        subprocess.run([sys.executable, __file__, policy, "-n", str(n)], check=True)


if __name__ == "__main__":
    main()
