"""The server process's garbage collection (mock_server/collector.py): survivors of young
collections are frozen (no older collection walks them again, the p99 under a load that
creates shares), and cyclic garbage frozen so is still found, by a full collection once the
process is idle. Run in a child process: the policy is process-wide."""

import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import gc, json, time, weakref
    from mock_server.collector import Collector

    class Node:
        pass

    def cycle():
        a, b = Node(), Node()
        a.other, b.other = b, a
        return a

    collector = Collector(idle_s=0.3, poll_s=0.05)
    collector.start()
    frozen_at_start = gc.get_freeze_count()
    kept = cycle()
    gone = weakref.ref(kept)
    survivors = [[i] for i in range(30_000)]  # young collections run, allocating 30,000
    gc.collect(0)
    facts = {
        "frozen_grew": gc.get_freeze_count() > frozen_at_start + 30_000,
        "older_generations_empty": not gc.get_objects(1) and not gc.get_objects(2),
        "sweeps_while_busy": collector.sweeps,
    }
    del kept  # cyclic garbage now, and frozen: no young collection can find it
    gc.collect(0)
    facts["found_by_a_young_collection"] = gone() is None
    # Busy, though making no young collection (as a load that only reads, the journal full)
    end, spins = time.monotonic() + 1.0, 0
    while time.monotonic() < end:
        spins += 1
    facts["swept_while_busy_without_collections"] = collector.sweeps
    deadline = time.monotonic() + 20
    while gone() is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # idle: no allocations to speak of
    facts["found_once_idle"] = gone() is None
    facts["sweeps"] = collector.sweeps
    facts["frozen_after_sweep"] = gc.get_freeze_count() > len(survivors) and not gc.get_objects(2)
    # A little activity, far under a tenth of what is frozen, then idle again: no sweep
    few = [[i] for i in range(3000)]
    time.sleep(1.0)
    facts["sweeps_after_a_little"] = collector.sweeps - facts["sweeps"]
    print(json.dumps(facts))
    """
)


def test_survivors_are_frozen_and_cyclic_garbage_is_swept_once_idle():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60, check=True)
    facts = json.loads(done.stdout)
    assert facts["frozen_grew"] and facts["older_generations_empty"]  # survivors frozen at once
    assert facts["sweeps_while_busy"] == 0
    assert not facts["found_by_a_young_collection"]  # frozen garbage waits for the sweep...
    assert facts["swept_while_busy_without_collections"] == 0  # ...which busy CPU holds off...
    assert facts["found_once_idle"] and facts["sweeps"] >= 1  # ...which finds it
    assert facts["frozen_after_sweep"]  # what the sweep leaves is frozen again
    assert facts["sweeps_after_a_little"] == 0  # a sweep costs as much as all that is frozen
