"""The per-level table (every stack and level, with the safety counts), the held-out
questions that were escalated, and the soak: the detail behind the summary tables."""

from __future__ import annotations

from typing import Any, Dict, List, Set

from bench.report.formatting import fmt, kinds


def levels_section(results: Dict[str, Any]) -> List[str]:
    """One row per stack and load level, and what its safety columns mean."""
    L = [
        "## Load levels in detail",
        "",
        "| stack | level | turns | conversations | turns/s | median | p95 | p99 | max | errors | timeouts | empty replies | red flags escalated | other turns escalated | server CPU/turn |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, levels in (results.get("levels") or {}).items():
        for name, data in levels.items():
            s = data["summary"]
            L.append(
                f"| {label} | {name} | {s['turns']} | {s['conversations']} | {s['throughput_tps']} | {fmt(s['p50_ms'], ' ms', 1)} | "
                f"{fmt(s['p95_ms'], ' ms', 1)} | {fmt(s['p99_ms'], ' ms', 1)} | {fmt(s['max_ms'], ' ms', 1)} | {s['errors']} | "
                f"{s['timeouts']} | {s['empty_replies']}{kinds(s.get('empty_by_kind'))} | {s['red_flags_escalated']}/{s['red_flags_sent']} | "
                f"{s.get('unexpected_escalations', '–')} | {fmt(s['server_cpu_ms_per_turn'], ' ms', 1)} |"
            )
    return L + [
        "",
        "*Empty replies*: turns other than red flags that got an HTTP 200 with no bot message (by kind of turn). "
        "*Other turns escalated*: FAQ, clinic or small-talk turns from the held-out set that got the red-flag safety "
        "message (a false escalation, or a held-out question that does describe a red flag); the simulated person "
        "then starts a new conversation, as after a red flag. *Red flags escalated*: "
        "red-flag turns whose reply carried the safety message (`metadata.urgency`); the red-flag texts are the "
        "hand-labelled positives of `tests/red_flags/dev_set.yml`, so this is also a rough recall figure under load "
        "(see `make redflag-report` for the real one).",
        "",
    ]


def escalated_questions_section(results: Dict[str, Any]) -> List[str]:
    """Held-out (non-red-flag) questions that got the safety message, per stack, so they can be read."""
    odd: Dict[str, Set[str]] = {}
    for label, levels in (results.get("levels") or {}).items():
        for data in levels.values():
            for t in data["summary"].get("unexpected_escalation_texts") or []:
                odd.setdefault(label, set()).add(t)
    if not odd:
        return []
    L = ["Held-out questions that got the red-flag safety message during the load levels:", ""]
    for label, items in odd.items():
        L += [f"- {label}: " + "; ".join(f'"{t}"' for t in sorted(items))]
    return L + [""]


def soak_section(results: Dict[str, Any], chart: str) -> List[str]:
    """The soak's latency and each server's memory at its start and end."""
    soak = results.get("soak")
    if not soak:
        return []
    s = soak["summary"]
    L = [
        "## Soak",
        "",
        f"Project stack alone, 10 concurrent conversations for {soak['duration_s'] / 60:g} min: {s['turns']} turns "
        f"in {s['conversations']} conversations, {s['throughput_tps']} turns/s, median {fmt(s['p50_ms'], ' ms', 1)}, "
        f"p95 {fmt(s['p95_ms'], ' ms', 1)}, p99 {fmt(s['p99_ms'], ' ms', 1)}, {s['errors']} errors, {s['timeouts']} timeouts.",
        "",
        f"| server | RSS, first {soak['window_s']:.0f} s (mean) | RSS, last {soak['window_s']:.0f} s (mean) | growth | max |",
        "|---|---|---|---|---|",
    ]
    for svc, m in soak["memory"].items():
        g = m.get("growth")
        L.append(
            f"| {svc} | {fmt(m['first_window_mb'], ' MB', 0)} | {fmt(m['last_window_mb'], ' MB', 0)} | "
            f"{'–' if g is None else f'{g * 100:+.1f}%'} | {fmt(m['max_mb'], ' MB', 0)} |"
        )
    return L + ["", f"![memory during the soak]({chart})", ""]
