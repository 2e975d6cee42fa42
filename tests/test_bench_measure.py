"""The bench's pure arithmetic (bench/measure.py): when a WireMock warm-up counts as settled,
how repeats spread, what other processes took. No servers, no timing."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("bench_measure", Path(__file__).parents[1] / "bench" / "measure.py")
assert _spec and _spec.loader
measure = importlib.util.module_from_spec(_spec)
sys.modules["bench_measure"] = measure  # dataclasses look their module up there
_spec.loader.exec_module(measure)
Round = measure.Round


def rounds(*cpu_us: float, requests: int = 10_000, rps: float = 5_000) -> list:
    return [Round(rps, c, requests) for c in cpu_us]


def test_agree_is_within_ten_percent_of_the_larger():
    assert measure.agree(100, 90)
    assert measure.agree(90, 100)
    assert not measure.agree(100, 89)


def test_two_rounds_agreeing_on_cpu_a_request_is_settled():
    assert measure.settled(rounds(300, 200, 105, 100), min_requests=20_000)
    assert not measure.settled(rounds(300, 200, 120, 100), min_requests=0)


def test_one_round_is_never_enough():
    assert not measure.settled(rounds(100), min_requests=0)


def test_too_few_requests_served_is_not_settled_however_flat():
    assert not measure.settled(rounds(100, 100, 100, requests=1_000), min_requests=20_000)
    assert measure.settled(rounds(100, 100, 100, requests=7_000), min_requests=20_000)


def test_requests_per_second_need_not_agree():
    swinging = [Round(rps, 100, 10_000) for rps in (9_000, 4_000, 12_000)]
    assert measure.settled(swinging, min_requests=0)


def test_settled_at_is_the_first_round_that_settles_and_counts_the_volume():
    assert measure.settled_at(rounds(300, 200, 105, 100, 60), min_requests=0) == 4
    # 300 -> 290 agree, but only 20,000 requests had been served by then
    assert measure.settled_at(rounds(300, 290, 200, 195), min_requests=30_000) == 4
    assert measure.settled_at(rounds(300, 200, 100), min_requests=0) is None


def test_spread_is_range_over_median():
    assert measure.spread([90, 100, 110]) == pytest.approx(0.2)
    assert measure.spread([5]) == 0
    assert measure.spread([]) == 0


def test_paired_ratios_and_each_sides_spread():
    pairs = measure.paired([100, 110, 90], [95, 121, 90])
    assert pairs.ratios == pytest.approx([0.95, 1.1, 1.0])
    assert pairs.median == pytest.approx(1.0)
    assert pairs.spread_a == pytest.approx(0.2)
    assert pairs.spread_b == pytest.approx(31 / 95)


def test_paired_refuses_unequal_runs():
    with pytest.raises(ValueError):
        measure.paired([1, 2], [1])


def test_others_cores_is_what_the_run_did_not_spend():
    assert measure.others_cores(busy_s=8, server_s=3, own_s=1, elapsed_s=4) == pytest.approx(1.0)
    assert measure.others_cores(busy_s=3, server_s=3, own_s=1, elapsed_s=4) == 0  # clock ticks' rounding
    assert measure.others_cores(busy_s=1, server_s=0, own_s=0, elapsed_s=0) == 0
