"""Hand-made results dicts of bench/run_bench.py, so the report can be rendered without a run.

`quick_run()` rebuilds the quick-mode run behind reports/benchmark.md from its figures
(latency lists and memory series are synthetic); `troubled_run()` takes the paths a
good run never takes (failed trainings, a busy machine, a dead server, the ablation);
`bare_run()` has no baseline, soak or parse figures. The tests render all three, and the
split of bench/ was checked by rendering them before and after.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

SERVICES = ("action server", "rasa server")


def latencies(p50: float, p95: float, n: int = 40) -> List[float]:
    """A rising list of n latencies between p50/2 and p95 * 1.2 (ms)."""
    lo, hi = p50 / 2, p95 * 1.2
    return [round(lo + (hi - lo) * (i / (n - 1)) ** 2, 2) for i in range(n)]


def level(name: str, turns: int, conv: int, tps: float, p: Tuple[Optional[float], ...], cpu: Optional[float], **kw: Any) -> Dict[str, Any]:
    p50, p95, p99, mx = p
    summary = {
        "name": name,
        "turns": turns,
        "ok": turns,
        "conversations": conv,
        "throughput_tps": tps,
        "p50_ms": p50,
        "p95_ms": p95,
        "p99_ms": p99,
        "max_ms": mx,
        "errors": 0,
        "timeouts": 0,
        "empty_replies": 0,
        "empty_by_kind": {},
        "unexpected_escalations": 0,
        "unexpected_escalation_texts": [],
        "red_flags_sent": 2,
        "red_flags_escalated": 2,
        "server_cpu_ms_per_turn": cpu,
        "alive_after": {"rasa server": True, "action server": True},
    }
    summary.update(kw)
    return {"summary": summary, "latencies_ms": latencies(p50, p95) if p50 and p95 else []}


def safety(sent: int, escalated: int, others: int, texts: Tuple[str, ...] = ()) -> Dict[str, Any]:
    """A level's red flags sent and escalated, and the other turns escalated (with their texts)."""
    return {"red_flags_sent": sent, "red_flags_escalated": escalated, "unexpected_escalations": others, "unexpected_escalation_texts": list(texts)}


PROJECT_ESCALATED = (
    "my husband's injection has done absolutely nothing, what can we try next",
    "my wife can walk fine but coming down the hill from the shops she's in agony, why would that be",
)
BASELINE_ESCALATED = (
    "How might I keep this from troubling me again?",
    "Is better I stay lying and not move?",
    "Please, I want understand more about this",
    "Thank you ever so much, you've been very kind",
    "got any moves i can do on the living room floor",
    "keep it coming",
    "my husband's injection has done absolutely nothing, what can we try next",
    "roughly when will dad be comfortable again",
    "until what time can I come in on thursdays",
    "you've been a great help, I'm much obliged",
)


def memory(mb: float, growth: float = 0.0, minutes: float = 1.0) -> Dict[str, Any]:
    n = int(minutes * 60)
    series = [(float(t), round(mb * (1 + growth * t / max(1, n - 1)), 1)) for t in range(n)]
    last = round(mb * (1 + growth), 1)
    return {"first_window_mb": mb, "last_window_mb": last, "growth": growth, "max_mb": max(mb, last), "series": series}


def quick_run() -> Dict[str, Any]:
    """The quick-mode run of reports/benchmark.md (2026-12-01, baseline trained 3 epochs)."""
    return {
        "mode": "quick",
        "started": "2026-12-01T12:03:16+00:00",
        "finished": "2026-12-01T12:12:48+00:00",
        "machine": {
            "cpu": "AMD EPYC",
            "cpus": 2,
            "cpus_usable": 2,
            "memory_gb": 23.5,
            "os": "Linux 6.18.44-fc-v669",
            "python": "3.10.13",
            "versions": {"rasa": "3.6.21", "rasa-sdk": "3.6.2", "tensorflow": "2.12.0", "spacy": "3.4.4", "sanic": "21.12.2", "aiohttp": "3.9.5"},
            "hostname_hash": "0a1b2c3d",
        },
        "settings": {
            "levels": [1, 10, 50],
            "level_seconds": 15.0,
            "think_s": [1.0, 3.0],
            "timeout_s": 10.0,
            "soak_minutes": 1.0,
            "parse_requests": 60,
            "saturation_seconds": 10.0,
            "seed": 7,
            "min_turns": 20,
        },
        "command": "bench/run_bench.py --quick --baseline-epochs 3 --skip-train-timing --no-ablation",
        "conditions_start": {"at": "2026-12-01T12:03:18+00:00", "loadavg": [0.2, 1.15, 1.66], "cpu_busy": 0.13},
        "conditions_end": {"at": "2026-12-01T12:12:48+00:00", "loadavg": [0.49, 0.78, 1.26], "cpu_busy": 0.0},
        "baseline_training": {"status": "ok", "seconds": 265.4, "at": "2026-12-01T12:07:33+00:00", "loadavg_at_start": 1.9, "reused": False},
        "baseline_epochs": 3,
        "project_training": {"status": "ok", "seconds": 958.0, "at": "2026-12-01T11:55:46+00:00", "reused": True},
        "models": {
            "project": {
                "path": "models/facet-assistant.tar.gz",
                "mb": 123.4,
                "trained_at": "2026-12-01T11:55:46.876192",
                "stale": True,
                "newer_inputs": ["domain/core.yml", "domain/safety.yml"],
            },
            "baseline": {"path": ".cache/bench/baseline.tar.gz", "mb": 175.1, "trained_at": "2026-12-01T12:07:33.173023"},
        },
        "model_mb": {"project": 123.4, "baseline": 175.1},
        "phrase_sources": {"questions": "tests/nlu/heldout.yml", "red flags": "tests/red_flags/dev_set.yml"},
        "cold_start": {
            "project": {"ready_s": 35.3, "first_turn_s": 35.4, "first_turn_latency_s": 0.09},
            "baseline": {"ready_s": 24.9, "first_turn_s": 25.0, "first_turn_latency_s": 0.08},
        },
        "parse": {
            "project": {"n": 60, "p50_ms": 29.9, "p95_ms": 41.5, "p99_ms": 45.0},
            "baseline": {"n": 60, "p50_ms": 16.3, "p95_ms": 20.1, "p99_ms": 22.0},
        },
        "levels": {
            "project": {
                "c1": level("c1", 20, 4, 0.459, (49.3, 74.2, 144.9, 162.6), 51.0),
                "c10": level("c10", 71, 13, 4.815, (53.0, 105.7, 138.6, 159.0), 52.0),
                "c50": level("c50", 324, 80, 21.36, (206.4, 1139.1, 1834.1, 2172.0), 45.6, **safety(22, 22, 3, PROJECT_ESCALATED)),
                "saturation": level("saturation", 278, 49, 27.362, (331.0, 755.2, 1104.5, 1262.6), 39.3, **safety(16, 16, 1)),
            },
            "baseline": {
                "c1": level("c1", 20, 4, 0.48, (42.0, 60.0, 64.9, 66.1), 42.5, **safety(2, 2, 2)),
                "c10": level("c10", 73, 19, 4.915, (38.9, 74.2, 115.0, 116.4), 37.1, **safety(2, 1, 6)),
                "c50": level("c50", 359, 93, 23.868, (49.4, 171.7, 318.7, 330.9), 29.4, **safety(22, 20, 15, BASELINE_ESCALATED)),
                "saturation": level("saturation", 416, 75, 40.973, (193.4, 516.5, 630.8, 741.2), 25.3, **safety(23, 18, 21)),
            },
        },
        "peak_rss_mb": {"project": {"rasa server": 1490.0, "action server": 120.2}, "baseline": {"rasa server": 1390.0, "action server": 120.6}},
        "hwm_mb": {"project": {"rasa server": 1665.0, "action server": 120.2}, "baseline": {"rasa server": 1390.0, "action server": 120.6}},
        "soak": {
            "summary": level("soak", 288, 51, 4.804, (48.6, 111.2, 140.5, 150.0), 50.0)["summary"],
            "latencies_ms": latencies(48.6, 111.2),
            "window_s": 15.0,
            "duration_s": 60.0,
            "memory": {"action server": memory(120.0), "rasa server": memory(1490.0)},
        },
        "staff_notifications": 40,
    }


def troubled_run() -> Dict[str, Any]:
    """A full-mode run where things went wrong: trainings failed, the machine was busy,
    a server died at 50 conversations, memory grew; with the runtime ablation."""
    r = quick_run()
    r["mode"] = "full"
    r.pop("baseline_epochs")
    r["settings"].update(level_seconds=60.0, soak_minutes=10.0, parse_requests=200, saturation_seconds=30.0, min_turns=60)
    r["command"] = "bench/run_bench.py --soak-minutes 10"
    r["conditions_start"] = {"at": "2026-12-02T08:00:00+00:00", "loadavg": [3.5, 2.0, 1.0], "cpu_busy": 0.61}
    r["project_training"] = {
        "status": "failed",
        "exit_code": 1,
        "log": ".cache/bench/logs/train-project-timing.log",
        "error_tail": "Traceback\nValueError: boom",
    }
    r["baseline_training"] = {
        "status": "timeout",
        "log": ".cache/bench/logs/train-baseline.log",
        "reused": True,
        "at": "2026-11-30T10:00:00+00:00",
        "loadavg_at_start": 0.4,
    }
    r["models"]["project"].update(stale=False, newer_inputs=[])
    c50 = r["levels"]["project"]["c50"]["summary"]
    c50.update(errors=2, timeouts=3, alive_after={"rasa server": False, "action server": True})
    r["levels"]["project"]["c10"]["summary"].update(empty_replies=3, empty_by_kind={"faq": 2, "more": 1})
    r["soak"].update(window_s=60.0, duration_s=600.0, memory={"action server": memory(120.0, 0.02, 10), "rasa server": memory(1490.0, 0.15, 10)})
    r["soak"]["summary"]["errors"] = 1
    r["ablation"] = {
        "cold_start": {"ready_s": 30.0, "first_turn_s": 33.0, "first_turn_latency_s": 2.95},
        "levels": {
            "project-stock-rasa": level("c10-ablation", 70, 14, 4.7, (80.0, 160.0, 210.0, 250.0), 75.2),
            "project": level("c10-ablation", 72, 13, 4.8, (52.0, 104.0, 137.0, 150.0), 51.8),
        },
    }
    return r


def bare_run() -> Dict[str, Any]:
    """Project only (`--no-baseline`, no soak, no NLU figures), after a busy `make bench` set-up;
    one level had no answered turn."""
    r = quick_run()
    for key in ("soak", "parse", "baseline_epochs", "finished"):
        r.pop(key)
    r["baseline_training"] = None
    r["models"].pop("baseline")
    r["model_mb"].pop("baseline")
    r["cold_start"].pop("baseline")
    r["levels"].pop("baseline")
    r["project_training"] = {"status": "ok", "seconds": 900.0, "loadavg_at_start": 1.2, "loadavg_at_end": 1.8}
    r["conditions_start"] = {"at": "2026-12-03T08:00:00+00:00", "loadavg": [1.9, 1.0, 0.5], "cpu_busy": 0.05}
    r["levels"]["project"]["c1"] = level("c1", 3, 1, 0.0, (None, None, None, None), None, errors=3)
    r["peak_rss_mb"].pop("baseline")
    r["hwm_mb"].pop("baseline")
    return r


SAMPLES = {"quick": quick_run, "troubled": troubled_run, "bare": bare_run}
