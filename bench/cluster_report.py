"""reports/cluster_benchmark.md from bench/cluster_bench.py's results: the scaling table,
where the CPU goes, and the sizing on paper for a clinic with 10,000 conversations a day."""

from __future__ import annotations

import math
from typing import Any, Dict, List

# sizing assumptions (stated in the report)
DAILY_CONVERSATIONS = 10_000
PEAK_HOUR_SHARE = 0.15  # of a day's conversations in its busiest hour
PEAK_MINUTE_FACTOR = 2.0  # the busiest minute against that hour's average
TARGET_UTILISATION = 0.5  # cores busy at the peak minute, leaving room for restarts and bursts


def _row(run: Dict[str, Any], base: Dict[str, Any]) -> str:
    sat, c50 = run["saturation"], run["c50"]
    ratio = sat["throughput_tps"] / base["saturation"]["throughput_tps"] if base["saturation"]["throughput_tps"] else float("nan")
    return (
        f"| {run['label']} | {run['rasa_servers']} | {run['storage']} | **{sat['throughput_tps']:.1f}** | {ratio:.2f}x | "
        f"{sat['p95_ms']:.0f} | {c50['throughput_tps']:.1f} | **{c50['p95_ms']:.0f}** | {c50['p50_ms']:.0f} | "
        f"{sat['errors'] + c50['errors']} / {sat['timeouts'] + c50['timeouts']} |"
    )


def _scaling_lines(runs: List[Dict[str, Any]]) -> List[str]:
    """2 servers against 1, both on the scale-out services: the ideal on 2 cores is about 2x."""
    by_label = {r["label"]: r for r in runs}
    one, two = by_label.get("cluster-1"), by_label.get("cluster-2")
    if not (one and two):
        return []
    ceiling = two["saturation"]["throughput_tps"] / one["saturation"]["throughput_tps"]
    return [
        f"**2 servers vs 1** (both behind nginx on PostgreSQL/Redis/RabbitMQ): ceiling **{ceiling:.2f}x** "
        f"({one['saturation']['throughput_tps']:.1f} -> {two['saturation']['throughput_tps']:.1f} turns/s); p95 at 50 conversations "
        f"{one['c50']['p95_ms']:.0f} -> {two['c50']['p95_ms']:.0f} ms. One Rasa server keeps about one core busy (its NLU runs "
        "in one Python process); the second server puts the machine's second core to work.",
        "",
    ]


def _cpu_table(runs: List[Dict[str, Any]]) -> List[str]:
    names = sorted({k for r in runs for k in r["saturation"]["cpu_ms_per_turn"]})
    lines = ["| process | " + " | ".join(r["label"] for r in runs) + " |", "|---|" + "---:|" * len(runs)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(f"{r['saturation']['cpu_ms_per_turn'].get(name, 0):.1f}" for r in runs) + " |")
    lines.append("| **all** | " + " | ".join(f"**{sum(r['saturation']['cpu_ms_per_turn'].values()):.1f}**" for r in runs) + " |")
    return lines


def sizing(runs: List[Dict[str, Any]], cores: int) -> List[str]:
    cluster = next((r for r in reversed(runs) if r["storage"] != "sqlite"), runs[-1])
    c50 = cluster["c50"]
    turns_per_conversation = c50["turns"] / max(1, c50["conversations"])
    cpu_ms = sum(cluster["saturation"]["cpu_ms_per_turn"].values())
    rasa_cpu_ms = sum(v for k, v in cluster["saturation"]["cpu_ms_per_turn"].items() if k.startswith("rasa server"))
    peak_tps = DAILY_CONVERSATIONS * turns_per_conversation * PEAK_HOUR_SHARE / 3600 * PEAK_MINUTE_FACTOR
    cores_needed = peak_tps * cpu_ms / 1000 / TARGET_UTILISATION
    rasa_servers = max(2, math.ceil(peak_tps * rasa_cpu_ms / 1000 / TARGET_UTILISATION))  # one core each; two for failover
    db = cluster.get("database") or {}
    per_conv = db.get("events_bytes_per_conversation") or 0
    year_gb = per_conv * DAILY_CONVERSATIONS * 365 / 1e9
    rss = cluster.get("rss_mb") or {}
    rasa_rss = max((v for k, v in rss.items() if k.startswith("rasa server")), default=0.0)
    return [
        "## On paper: a clinic with 10,000 conversations a day",
        "",
        f"Assumptions: {turns_per_conversation:.1f} turns per conversation (this benchmark's scripted conversations), "
        f"{PEAK_HOUR_SHARE:.0%} of a day's conversations in the busiest hour, the busiest minute {PEAK_MINUTE_FACTOR:.0f}x that hour's "
        f"average, cores at most {TARGET_UTILISATION:.0%} busy at that minute.",
        "",
        f"- **Peak load:** {peak_tps:.1f} turns/s (the day's average is {DAILY_CONVERSATIONS * turns_per_conversation / 86400:.2f} turns/s).",
        f"- **CPU per turn** (all processes, measured at saturation on `{cluster['label']}`): {cpu_ms:.0f} ms, of which the Rasa "
        f"servers {rasa_cpu_ms:.0f} ms.",
        f"- **Cores:** {cores_needed:.1f} at the peak minute; **Rasa servers: {rasa_servers}** (a Rasa server uses one core for NLU; "
        "never fewer than two, so one can fail or restart), plus one action server, nginx, and PostgreSQL/Redis/RabbitMQ, "
        f"which this benchmark ran on the same {cores} cores.",
        f"- **Memory:** about {rasa_rss:.0f} MB per Rasa server (resident, after the load), so {rasa_servers} servers need "
        f"{rasa_servers * rasa_rss / 1024:.1f} GB plus the database's cache.",
        f"- **Database growth:** {per_conv / 1024:.1f} kB of Rasa events per conversation (table and indexes, measured) = "
        f"**{year_gb:.1f} GB a year** of conversations before retention (CONSOLE_RETENTION_DAYS, 365 by default, deletes "
        "older ones: the database then stays near one year's size).",
        "- These are estimates from a 2-core machine where the load generator, the servers and the databases share the cores; "
        "check them on the clinic's own hardware with `make bench-cluster`.",
    ]


def render(results: Dict[str, Any]) -> str:
    runs = results["runs"]
    base = runs[0]
    machine = results.get("machine") or {}
    cores = machine.get("cpus") or machine.get("cpu_count") or 2
    args = results.get("args") or {}
    lines = [
        "# Cluster benchmark: one server on SQLite vs 1 and 2 Rasa servers behind nginx",
        "",
        f"`make bench-cluster` (bench/cluster_bench.py), one run, deployments one after another on this machine "
        f"({cores} cores; the load generator, every server, PostgreSQL, Redis and RabbitMQ share them). "
        f"Levels of {args.get('seconds', 60):.0f} s; the ceiling is closed-loop with {args.get('saturation', 16)} conversations "
        "and no think time; c50 is 50 conversations with 1-3 s think time. REST channel, the same scripted conversations "
        "(bench/scenario.py: FAQ questions, red flags, small talk).",
        "",
        "| deployment | Rasa servers | storage | ceiling turns/s | vs SQLite | p95 at ceiling ms | c50 turns/s | c50 p95 ms | c50 p50 ms | errors / timeouts |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---|",
        *[_row(r, base) for r in runs],
        "",
        *_scaling_lines(runs),
        "## Where the time goes: CPU ms per answered turn, at the ceiling",
        "",
        *_cpu_table(runs),
        "",
        *sizing(runs, cores),
        "",
    ]
    return "\n".join(lines)
