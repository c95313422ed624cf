"""Measurements taken on served models: one load level with the servers' CPU time,
the runtime-fixes ablation (the same model on plain `rasa run`), and the soak with its
memory trend. Each returns the JSON-ready figures the report reads."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

from bench import procstats
from bench.loadgen import LevelResult, run_level
from bench.scenario import Phrasebook
from bench.served_stack import Bench
from bench.workspace import log


def measured_level(bench: Bench, book: Phrasebook, **kw: Any) -> Dict[str, Any]:
    """One closed-loop load level (run_level's keywords) on `bench`, with the server CPU it cost."""
    cpu0 = bench.cpu()
    level: LevelResult = asyncio.run(run_level(bench.stack.rasa_url, book, sender_prefix=bench.label, **kw))
    cpu1 = bench.cpu()
    level.cpu_s = {k: max(0.0, cpu1.get(k, 0.0) - cpu0.get(k, 0.0)) for k in cpu0}
    s = level.summary()
    s["alive_after"] = bench.alive()
    log(
        f"{bench.label} {s['name']}: {s['turns']} turns, {s['throughput_tps']}/s, p50 {s['p50_ms']} ms, "
        f"p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, errors {s['errors']}, timeouts {s['timeouts']}, "
        f"server CPU {s['server_cpu_ms_per_turn']} ms/turn"
    )
    return {"summary": s, "latencies_ms": [round(x, 2) for x in level.latencies_ms()]}


def runtime_ablation(
    project: Bench, model: Path, staff_hook: str, sampler: procstats.MemorySampler, book: Phrasebook, warm: List[str], args: argparse.Namespace
) -> Dict[str, Any]:
    """The project model on plain `rasa run` (no runtime fixes, no warm-up) against the
    project stack as run, at 10 conversations, back to back."""
    stock = Bench("project-stock-rasa", model, staff_hook, sampler, runtime_fixes=False)
    try:
        stock.start()
        stock.warm_up(warm)
        out: Dict[str, Any] = {"cold_start": stock.cold, "levels": {}}
        for b in (stock, project):
            out["levels"][b.label] = measured_level(
                b,
                book,
                name="c10-ablation",
                concurrency=10,
                duration_s=args.level_seconds,
                think_s=args.think_range,
                timeout_s=args.timeout,
                seed=args.seed + 50,
                min_turns=args.min_turns,
            )
        return out
    finally:
        stock.stop()


def memory_trend(svc: str, series: List[Tuple[float, float]], t_soak: float, t_end: float, window: float) -> Dict[str, Any]:
    """Mean RSS of a server in the first and the last `window` seconds of the soak, and the growth between them."""
    first = [v for t, v in series if t <= t_soak + window]
    last = [v for t, v in series if t >= t_end - window]
    f, l = procstats.mean(first), procstats.mean(last)
    log(f"soak {svc}: {f:.0f} MB (first {window:.0f} s) -> {l:.0f} MB (last {window:.0f} s), " f"{(l / f - 1) * 100 if f else 0:+.1f}%")
    return {
        "first_window_mb": round(f, 1),
        "last_window_mb": round(l, 1),
        "growth": round(l / f - 1, 4) if f else None,
        "max_mb": round(max((v for _, v in series), default=0), 1),
        "series": [(round(t - t_soak, 1), round(v, 1)) for t, v in series],
    }


def soak(project: Bench, book: Phrasebook, sampler: procstats.MemorySampler, args: argparse.Namespace) -> Dict[str, Any]:
    """The project alone at 10 conversations for the soak minutes: latency, and whether memory grows."""
    soak_s = args.soak_minutes * 60
    log(f"soak: project at 10 concurrent conversations for {args.soak_minutes:g} min")
    t_soak = time.monotonic() - sampler.t0
    level = measured_level(
        project, book, name="soak", concurrency=10, duration_s=soak_s, think_s=args.think_range, timeout_s=args.timeout, seed=args.seed + 99
    )
    t_end = time.monotonic() - sampler.t0
    window = min(60.0, soak_s / 4)
    mem = {svc: memory_trend(svc, sampler.series(project.key(svc), t_soak, t_end), t_soak, t_end, window) for svc in project.service_names()}
    return {"summary": level["summary"], "latencies_ms": level["latencies_ms"], "window_s": window, "duration_s": soak_s, "memory": mem}
