"""bench/loadgen.py: the arithmetic of the figures a load level reports."""

from __future__ import annotations

from bench.loadgen import LevelResult, TurnResult, percentile


def test_percentile_interpolates_like_numpy() -> None:
    assert percentile([10, 20, 30, 40], 50) == 25.0
    assert percentile([10, 20, 30, 40], 95) == 38.5
    assert percentile([], 95) is None


def test_level_summary_counts_errors_timeouts_and_escalations() -> None:
    lvl = LevelResult("c10", 10, 60, (1, 3), wall_s=10.0)
    lvl.turns = [
        TurnResult(0, 0.05, "faq", "ok"),
        TurnResult(0, 0.07, "red_flag", "ok", escalated=True),
        TurnResult(0, 10.0, "faq", "timeout"),
        TurnResult(0, 0.01, "faq", "http_error", 500),
        TurnResult(0, 0.06, "faq", "ok", empty=True),
    ]
    s = lvl.summary()
    assert (s["ok"], s["errors"], s["timeouts"], s["empty_replies"]) == (3, 1, 1, 1)
    assert (s["red_flags_sent"], s["red_flags_escalated"]) == (1, 1)
    assert s["throughput_tps"] == 0.3
