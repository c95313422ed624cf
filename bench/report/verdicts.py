"""The targets the benchmark is judged by, and whether a run met them: the report's
first table, and the lines `make bench` ends with."""

from __future__ import annotations

from typing import Any, Dict, List

from bench.report.formatting import fmt, level, lv

P95_TARGET_MS = 150.0
MEMORY_GROWTH_LIMIT = 0.10


def verdicts(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    out = []
    p95 = lv(results, "project", "c10", "p95_ms")
    out.append(
        {
            "target": f"p95 turn latency < {P95_TARGET_MS:.0f} ms at 10 concurrent conversations",
            "measured": f"{fmt(p95, ' ms', 1)}" if p95 is not None else "not measured",
            "met": p95 is not None and p95 < P95_TARGET_MS,
        }
    )
    c50 = level(results, "project", "c50")
    if c50:
        bad = c50["errors"] + c50["timeouts"]
        alive = all((results["levels"]["project"]["c50"]["summary"].get("alive_after") or {}).values())
        out.append(
            {
                "target": "no errors at 50 concurrent conversations",
                "measured": f"{c50['errors']} errors, {c50['timeouts']} timeouts (> {results['settings']['timeout_s']:g} s) "
                f"in {c50['turns']} turns" + ("" if alive else "; a server died"),
                "met": bad == 0 and alive,
            }
        )
    else:
        out.append({"target": "no errors at 50 concurrent conversations", "measured": "not measured", "met": False})
    soak = results.get("soak")
    if soak:
        growths = {svc: m.get("growth") for svc, m in soak["memory"].items()}
        worst = max((g for g in growths.values() if g is not None), default=None)
        minutes = soak["duration_s"] / 60
        short = "" if minutes >= 10 else f" (only a {minutes:g}-minute soak: quick mode; the target asks for 10)"
        out.append(
            {
                "target": f"memory flat over the soak (≤ {MEMORY_GROWTH_LIMIT * 100:.0f}% RSS growth, first vs last minute)",
                "measured": ", ".join(f"{svc} {g * 100:+.1f}%" for svc, g in growths.items() if g is not None) + short,
                "met": worst is not None and worst <= MEMORY_GROWTH_LIMIT and soak["summary"]["errors"] == 0 and not short,
                "not_judged": bool(short) and worst is not None and worst <= MEMORY_GROWTH_LIMIT,
            }
        )
    return out


def targets_section(vs: List[Dict[str, Any]]) -> List[str]:
    """The targets table, one row per verdict."""
    L = ["## Targets", "", "| target | measured (this project) | verdict |", "|---|---|---|"]
    for v in vs:
        verdict = (
            "⚪ not measured"
            if v["measured"] == "not measured"
            else "⚪ flat, but too short to judge"
            if v.get("not_judged")
            else ("✅ met" if v["met"] else "❌ missed")
        )
        L.append(f"| {v['target']} | {v['measured']} | {verdict} |")
    return L + [""]
