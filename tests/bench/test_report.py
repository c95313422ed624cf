"""bench/report/: the verdicts and figures the benchmark report states, and the page.

The benchmark itself is `make bench` (too long for `make test`); these tests pin the
target rules it reports with, and render the page from hand-made results."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

import bench.report.charts as charts_module
from bench.report import write_report
from bench.report.comparison import ablation_section
from bench.report.verdicts import verdicts
from tests.bench.sample_results import SAMPLES, quick_run


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


@pytest.fixture
def chart_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Charts drawn into a temporary folder, not over reports/bench/."""
    monkeypatch.setattr(charts_module, "CHART_DIR", tmp_path / "charts")
    return tmp_path / "charts"


@pytest.mark.parametrize("sample", sorted(SAMPLES))
def test_the_page_renders_every_section_the_results_allow(sample: str, chart_dir: Path, tmp_path: Path) -> None:
    results = SAMPLES[sample]()
    out = tmp_path / "benchmark.md"
    vs = write_report(results, out)
    text = out.read_text()
    assert len(vs) == (3 if "soak" in results else 2)
    for v in vs:
        assert f"| {v['target']} | {v['measured']} |" in text
    for heading in ("## Targets", "## This project vs Rasa's default pipeline", "## Load levels in detail", "## Machine and conditions", "## Method"):
        assert heading in text
    assert ("## Soak" in text) == ("soak" in results)
    assert ("## What the runtime fixes are worth" in text) == ("ablation" in results)
    drawn = {"latency_levels.png", "throughput.png", "latency_cdf_c10.png", "startup_training.png"} | (
        {"soak_memory.png"} if "soak" in results else set()
    )
    assert {p.name for p in chart_dir.iterdir()} == drawn


def test_the_quick_run_renders_the_figures_of_the_committed_report(chart_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "benchmark.md"
    write_report(quick_run(), out)
    text = out.read_text()
    assert "| turn latency p95, 10 conv. | 105.7 ms | 74.2 ms | 1.42× |" in text
    assert "| training time (`rasa train`, empty cache) | 16.0 min | 4.4 min | 3.61× |" in text
    assert "| peak RSS, rasa server (process tree, sampled every 1 s) | 1,490 MB | 1,390 MB | 1.07× |" in text
    assert "| action server | 120 MB | 120 MB | +0.0% | 120 MB |" in text
