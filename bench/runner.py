"""One benchmark run, step by step, into the results dict that reports/benchmark.md is
rendered from (and that .cache/bench/results.json keeps).

The order is part of the method: training (CPU heavy) before any latency is measured;
cold starts one stack at a time; then both stacks measured back to back at each load
level, alternating which goes first; the project alone for the ablation and the soak.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shlex
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Tuple

from bench import procstats
from bench.loadgen import parse_latencies, percentile
from bench.machine import conditions, machine_description
from bench.measure import measured_level, runtime_ablation, soak
from bench.model_files import model_info, newer_inputs
from bench.scenario import Phrasebook, load_phrasebook
from bench.served_stack import Bench
from bench.training import ensure_baseline, project_training
from bench.workspace import BASELINE_MODEL, log


def describe_run(args: argparse.Namespace) -> Dict[str, Any]:
    """What the report states about the run itself: mode, start, machine, settings, command."""
    started = datetime.now(timezone.utc)
    return {
        "mode": "quick" if args.quick else "full",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_description(),
        "settings": {
            "levels": args.levels_list,
            "level_seconds": args.level_seconds,
            "think_s": list(args.think_range),
            "timeout_s": args.timeout,
            "soak_minutes": args.soak_minutes,
            "parse_requests": args.parse_requests,
            "saturation_seconds": args.saturation_seconds,
            "seed": args.seed,
            "min_turns": args.min_turns,
        },
        "command": "bench/run_bench.py " + " ".join(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", ""))),
    }


def training_step(args: argparse.Namespace, project_model: Path, results: Dict[str, Any]) -> bool:
    """Training times and the models served, into `results`; True when there is a baseline to compare with."""
    results["baseline_training"] = None if args.no_baseline else ensure_baseline(args.retrain_baseline, args.baseline_epochs)
    results["baseline_epochs"] = args.baseline_epochs
    results["project_training"] = project_training(args.skip_train_timing)
    results["models"] = {"project": model_info(project_model)}
    # `make bench` retrains first; run directly, the model may be older than what it is trained from
    newer = newer_inputs(project_model)
    results["models"]["project"]["stale"] = bool(newer) if newer is not None else None
    results["models"]["project"]["newer_inputs"] = (newer or [])[:5]
    if not args.no_baseline and BASELINE_MODEL.exists():
        results["models"]["baseline"] = model_info(BASELINE_MODEL)
    results["model_mb"] = {k: v["mb"] for k, v in results["models"].items()}
    return not args.no_baseline and (results["baseline_training"] or {}).get("status") == "ok"


def nlu_latency(benches: List[Bench], book: Phrasebook, requests: int) -> Dict[str, Any]:
    """NLU only (/model/parse), alternating requests between the models."""
    texts = [t for _, t in book.faq]
    texts = (texts * (requests // len(texts) + 1))[:requests]
    parse = asyncio.run(parse_latencies({b.label: (b.stack.rasa_url, b.stack.token) for b in benches}, texts))
    out = {k: {"n": len(v), "p50_ms": percentile(v, 50), "p95_ms": percentile(v, 95), "p99_ms": percentile(v, 99)} for k, v in parse.items()}
    log("NLU parse: " + ", ".join(f"{k} p50 {v['p50_ms']} ms p95 {v['p95_ms']} ms" for k, v in out.items()))
    return out


def load_levels(benches: List[Bench], book: Phrasebook, args: argparse.Namespace) -> Dict[str, Dict[str, Any]]:
    """Every load level and the saturation level, the stacks back to back, alternating who goes first."""
    levels: Dict[str, Dict[str, Any]] = {b.label: {} for b in benches}
    plan: List[Tuple[str, int, Tuple[float, float], float]] = [(f"c{c}", c, args.think_range, args.level_seconds) for c in args.levels_list] + [
        ("saturation", 10, (0.0, 0.0), args.saturation_seconds)
    ]
    for i, (name, conc, think, secs) in enumerate(plan):
        order = benches if i % 2 == 0 else list(reversed(benches))
        for b in order:
            levels[b.label][name] = measured_level(
                b,
                book,
                name=name,
                concurrency=conc,
                duration_s=secs,
                think_s=think,
                timeout_s=args.timeout,
                seed=args.seed + i,
                min_turns=args.min_turns,
            )
    return levels


def run(args: argparse.Namespace) -> Dict[str, Any]:
    from tests.fakes import RecordingServer

    project_model = Path(args.model).resolve()
    if not project_model.exists():
        raise SystemExit(f"no trained model at {project_model}: run `make bench` (it trains the model first)")
    results = describe_run(args)
    results["conditions_start"] = conditions("start")

    # 1. training (CPU heavy: before any latency measurement)
    use_baseline = training_step(args, project_model, results)

    book = load_phrasebook()
    results["phrase_sources"] = book.sources
    sampler = procstats.MemorySampler(interval_s=1.0).start()
    recorder = RecordingServer().start()
    staff_hook = recorder.url + "/staff-hook"
    benches: List[Bench] = []
    try:
        # 2. cold starts, one stack at a time
        for label, model in [("project", project_model)] + ([("baseline", BASELINE_MODEL)] if use_baseline else []):
            b = Bench(label, model, staff_hook, sampler)
            benches.append(b)
            b.start()
        results["cold_start"] = {b.label: b.cold for b in benches}
        warm = [t for _, t in book.faq[:12]] + ["hello", "what time do you open?", "tell me more"]
        for b in benches:
            b.warm_up(warm)

        # 3. NLU only; 4. load levels
        results["parse"] = nlu_latency(benches, book, args.parse_requests)
        results["levels"] = load_levels(benches, book, args)

        # peak memory so far, per server (process tree), before anything stops
        results["peak_rss_mb"] = {b.label: {svc: round(sampler.peak(b.key(svc)), 1) for svc in b.service_names()} for b in benches}
        results["hwm_mb"] = {b.label: {svc: round(procstats.hwm_mb(b.pid(svc)), 1) for svc in b.service_names()} for b in benches}

        for b in benches[1:]:
            b.stop()
        project = benches[0]

        # 5. what clinic_bot.rasa_runtime and the warm-up are worth: the same model on plain `rasa run`
        if not args.no_ablation:
            results["ablation"] = runtime_ablation(project, project_model, staff_hook, sampler, book, warm, args)

        # 6. soak: the project alone
        results["soak"] = soak(project, book, sampler, args)
        for svc in project.service_names():
            results["peak_rss_mb"]["project"][svc] = round(max(results["peak_rss_mb"]["project"][svc], sampler.peak(project.key(svc))), 1)
            results["hwm_mb"]["project"][svc] = round(procstats.hwm_mb(project.pid(svc)), 1)
        results["staff_notifications"] = len(recorder.matching("/staff-hook"))
    finally:
        for b in benches:
            try:
                b.stop()
            except Exception as exc:  # keep stopping the others
                log(f"could not stop {b.label}: {exc}")
        recorder.stop()
        sampler.stop()
    results["conditions_end"] = conditions("end")
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return results
