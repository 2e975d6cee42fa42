"""The served process's collection policy (collector.py): survivors of a young collection are
frozen, young garbage is still found, and frozen cyclic garbage is reclaimed once the frozen
heap has doubled. Each check runs in a process of its own: the policy is process-wide."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = """
import gc, time, weakref
from mock_server.collector import YOUNG, Collector

class Node:
    pass

def cycle():
    a, b = Node(), Node()
    a.other, b.other = b, a
    return a

collector = Collector(check_s=0.02, min_full=50_000)
collector.start()
assert gc.get_threshold()[0] == YOUNG and gc.isenabled()

# Garbage that dies young is found by a young collection, as before.
young = weakref.ref(cycle())
gc.collect(0)
assert young() is None, "young cyclic garbage was not collected"

# What survives a young collection is frozen: no older generation fills.
frozen_before = gc.get_freeze_count()
kept = [cycle() for _ in range(1000)]
gc.collect(0)
assert gc.get_freeze_count() >= frozen_before + 2000, (frozen_before, gc.get_freeze_count())
assert gc.get_count()[1] == 0 and len(gc.get_objects(1)) == 0 and len(gc.get_objects(2)) == 0

# Frozen, then dropped: cyclic garbage no collection sees ...
leaked = weakref.ref(kept[0])
del kept
gc.collect(0)
assert leaked() is not None
assert collector.full_collections == 0
# ... until the frozen heap has doubled: then a full collection reclaims it.
first_bound = collector.full_at
grown = [[i] for i in range(2 * first_bound)]
gc.collect(0)
deadline = time.monotonic() + 10
while collector.full_collections == 0 and time.monotonic() < deadline:
    time.sleep(0.01)
assert collector.full_collections == 1, "no full collection after the frozen heap doubled"
assert leaked() is None, "frozen cyclic garbage was not reclaimed by the full collection"
assert collector.full_at > first_bound  # the next one waits for the heap to double again
print("ok")
"""


def test_young_survivors_are_frozen_and_frozen_garbage_is_reclaimed_when_the_heap_doubles():
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(SCRIPT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


SERVED = """
import gc
import mock_server.server
from mock_server import cli
from mock_server.collector import YOUNG

def serve(make_app, *args, **kwargs):  # the app is made as `mock-server run` makes it, not served
    make_app()
    kept = [[i] for i in range(3 * YOUNG)]  # survivors of young collections
    assert gc.isenabled() and gc.get_threshold()[0] == YOUNG
    assert len(gc.get_objects(1)) == 0 and len(gc.get_objects(2)) == 0, "survivors were not frozen"
    print("ok")

mock_server.server.serve = serve
cli.main(["run", "--port", "0", "--no-mqtt"])
"""


def test_mock_server_run_collects_so():
    done = subprocess.run([sys.executable, "-c", SERVED], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_the_bench_times_each_policy_in_process():
    from pathlib import Path

    tool = Path(__file__).resolve().parents[1] / "bench" / "service_times.py"
    done = subprocess.run([sys.executable, str(tool), "server", "generational", "-n", "6000"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")] == ["server", "generational"]
    assert "6,000 shareInfo creates; modelled latency at 16 connections: p50" in lines[0]
    assert any(line.startswith("  generation 0: ") for line in lines)  # 6,000 creates: young collections
