"""bench/run_bench.py: the options `make bench` takes, and the defaults quick and full mode fill in.

BENCH_ARGS is how flags reach the benchmark through make, so it is appended to the command line."""

from __future__ import annotations

import pytest

from bench.run_bench import parse_args


@pytest.fixture(autouse=True)
def no_bench_args(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BENCH_ARGS", raising=False)


def test_full_mode_defaults() -> None:
    a = parse_args([])
    assert (a.quick, a.level_seconds, a.soak_minutes, a.parse_requests, a.min_turns) == (False, 60.0, 10.0, 200, 60)
    assert (a.levels_list, a.think_range, a.saturation_seconds, a.timeout, a.seed) == ([1, 10, 50], (1.0, 3.0), 30.0, 10.0, 7)


def test_quick_mode_shortens_what_was_not_set() -> None:
    a = parse_args(["--quick", "--soak-minutes", "3"])
    assert (a.level_seconds, a.soak_minutes, a.parse_requests, a.min_turns, a.saturation_seconds) == (15.0, 3.0, 60, 20, 10.0)


def test_bench_args_are_appended(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BENCH_ARGS", "--quick --levels 1,5 --think 0,0")
    a = parse_args(["--no-ablation"])
    assert a.quick and a.no_ablation
    assert (a.levels_list, a.think_range) == ([1, 5], (0.0, 0.0))
