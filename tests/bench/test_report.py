"""bench/report.py and bench/loadgen.py: the verdicts and figures the benchmark report states.

The benchmark itself is `make bench` (too long for `make test`); these tests pin the
arithmetic and the target rules it reports with, on hand-made results."""

from __future__ import annotations

from typing import Any, Dict

from bench.loadgen import LevelResult, TurnResult, percentile
from bench.report import ablation_section, verdicts


def summary(**kw: Any) -> Dict[str, Any]:
    base = {
        "turns": 100,
        "errors": 0,
        "timeouts": 0,
        "p50_ms": 50.0,
        "p95_ms": 100.0,
        "p99_ms": 140.0,
        "server_cpu_ms_per_turn": 40.0,
        "alive_after": {"rasa server": True, "action server": True},
    }
    return {**base, **kw}


def results(c10: Dict[str, Any], c50: Dict[str, Any], growth: float = 0.01, soak_minutes: float = 10) -> Dict[str, Any]:
    return {
        "settings": {"timeout_s": 10},
        "levels": {"project": {"c10": {"summary": c10}, "c50": {"summary": c50}}},
        "soak": {
            "duration_s": soak_minutes * 60,
            "summary": {"errors": 0},
            "memory": {"rasa server": {"growth": growth}, "action server": {"growth": 0.0}},
        },
    }


def test_all_targets_met() -> None:
    vs = verdicts(results(summary(p95_ms=149.9), summary()))
    assert [v["met"] for v in vs] == [True, True, True]


def test_p95_at_the_limit_is_missed() -> None:
    assert verdicts(results(summary(p95_ms=150.0), summary()))[0]["met"] is False


def test_a_timeout_or_a_dead_server_at_50_misses_no_errors() -> None:
    assert verdicts(results(summary(), summary(timeouts=1)))[1]["met"] is False
    dead = summary(alive_after={"rasa server": False, "action server": True})
    v = verdicts(results(summary(), dead))[1]
    assert v["met"] is False and "a server died" in v["measured"]


def test_memory_growth_over_ten_percent_is_missed_and_short_soaks_are_not_judged() -> None:
    assert verdicts(results(summary(), summary(), growth=0.11))[2]["met"] is False
    short = verdicts(results(summary(), summary(), growth=0.0, soak_minutes=1))[2]
    assert short["met"] is False and short["not_judged"] is True


def test_ablation_section_shows_ratios() -> None:
    res = {
        "cold_start": {"project": {"first_turn_latency_s": 0.1}},
        "ablation": {
            "cold_start": {"first_turn_latency_s": 0.5},
            "levels": {"project": {"summary": summary(p95_ms=80.0)}, "project-stock-rasa": {"summary": summary(p95_ms=160.0)}},
        },
    }
    text = "\n".join(ablation_section(res))
    assert "| turn latency p95 | 80.0 ms | 160.0 ms | 0.50× |" in text
    assert "| the first turn after start | 0.1 s | 0.5 s | 0.20× |" in text
    assert ablation_section({}) == []


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
