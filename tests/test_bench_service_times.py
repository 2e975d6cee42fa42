"""bench/service_times.py: the tail each collection policy adds to a load that grows the world."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_bench_times_each_policy_in_process():
    tool = Path(__file__).resolve().parents[1] / "bench" / "service_times.py"
    done = subprocess.run([sys.executable, str(tool), "server", "older", "-n", "6000"],
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines if not line.startswith(" ")] == ["server", "older"]
    assert "6,000 shareInfo creates; modelled latency at 16 connections: p50" in lines[0]
    assert any(line.startswith("  generation 0: ") for line in lines)  # 6,000 creates: young collections
