"""Cluster mode of the benchmark: the same load on three deployments, one after another.

* `sqlite-1`: `make run`'s stack (one Rasa server, SQLite, in-process locks);
* `cluster-1`: `make cluster` with one Rasa server behind nginx (PostgreSQL, Redis, RabbitMQ);
* `cluster-2`: `make cluster` with two.

For each: the throughput ceiling (closed loop, no think time, `--saturation` conversations)
and p95 at 50 conversations with think time, the CPU every process spent per turn (where
the time goes: Rasa servers, action server, nginx, PostgreSQL, Redis, RabbitMQ), and the
database size per conversation. Writes reports/cluster_benchmark.md (bench/cluster_report.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Optional

import sqlalchemy as sa

from bench import procstats
from bench.loadgen import LevelResult, run_level
from bench.machine import conditions, machine_description
from bench.scenario import Phrasebook, load_phrasebook
from bench.workspace import BASE_ENV, CACHE, PROJECT_MODEL, ROOT, log

REST_TOKEN = "bench-rest-token"
RESULTS = CACHE / "cluster_results.json"
# system services whose CPU counts toward a turn (by process name)
SERVICE_PROCESSES = {"postgresql": ("postgres",), "redis": ("redis-server",), "rabbitmq": ("beam.smp", "erl_child_setup")}


def system_cpu() -> Dict[str, float]:
    """CPU seconds so far of PostgreSQL, Redis and RabbitMQ (all their processes)."""
    out = {name: 0.0 for name in SERVICE_PROCESSES}
    for pid_dir in Path("/proc").iterdir():
        if not pid_dir.name.isdigit():
            continue
        try:
            comm = (pid_dir / "comm").read_text().strip()
        except OSError:
            continue
        for name, comms in SERVICE_PROCESSES.items():
            if comm in comms:
                out[name] += procstats.own_cpu_seconds(int(pid_dir.name))  # each process on its own: they are one tree
    return out


def make_stack(label: str, servers: int, var_dir: Path, database: str) -> Any:
    """`make run`'s stack (servers=0) or `make cluster`'s with `servers` Rasa servers."""
    from clinic_bot.cluster import ClusterStack
    from clinic_bot.launcher import Stack

    env = {**BASE_ENV, "REST_CHANNEL": "token", "REST_CHANNEL_TOKEN": REST_TOKEN}
    if servers == 0:
        env["CLINIC_DB_URL"] = f"sqlite:///{var_dir / 'clinic.db'}"
        return Stack(
            var_dir=var_dir, rasa_port=0, action_port=0, console_port=0, widget_port=0, with_console=False, with_widget=False,
            log_dir=CACHE / "logs" / label, extra_env=env,
        )  # fmt: skip
    return ClusterStack(
        var_dir=var_dir, rasa_port=0, action_port=0, console_port=0, widget_port=0, with_console=False, with_widget=False,
        log_dir=CACHE / "logs" / label, extra_env=env, servers=servers, public_port=0, database=database,
    )  # fmt: skip


def measure(stack: Any, book: Phrasebook, **kw: Any) -> Dict[str, Any]:
    """One load level with the CPU every process spent on it."""
    ours0 = {s.name: procstats.cpu_seconds(s.proc.pid) for s in stack.services if s.proc}
    sys0 = system_cpu()
    level: LevelResult = asyncio.run(run_level(stack.rasa_url, book, headers={"Authorization": f"Bearer {REST_TOKEN}"}, **kw))
    ours1 = {s.name: procstats.cpu_seconds(s.proc.pid) for s in stack.services if s.proc}
    sys1 = system_cpu()
    summary = level.summary()
    ok = max(1, summary["ok"])
    cpu = {k: ours1[k] - ours0.get(k, 0.0) for k in ours1}
    cpu.update({k: sys1[k] - sys0[k] for k in sys1})
    summary["cpu_ms_per_turn"] = {k: round(v * 1000 / ok, 1) for k, v in sorted(cpu.items())}
    log(
        f"{kw['name']}: {summary['ok']} turns, {summary['throughput_tps']}/s, p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, "
        f"errors {summary['errors']}, timeouts {summary['timeouts']}"
    )
    return summary


def database_size(stack: Any) -> Dict[str, Any]:
    """Bytes in PostgreSQL per conversation and per event, after the load (cluster only)."""
    if not hasattr(stack, "db_url"):
        return {}
    engine = sa.create_engine(stack.db_url, future=True)
    try:
        with engine.connect() as conn:
            total = conn.execute(sa.text("SELECT pg_database_size(current_database())")).scalar_one()
            events = conn.execute(sa.text("SELECT pg_total_relation_size('events')")).scalar_one()
            conversations, n_events = conn.execute(sa.text("SELECT count(DISTINCT sender_id), count(*) FROM events")).one()
    finally:
        engine.dispose()
    return {
        "database_bytes": total,
        "events_bytes": events,
        "conversations": conversations,
        "events": n_events,
        "events_bytes_per_conversation": round(events / max(1, conversations)),
    }


def run_one(label: str, servers: int, book: Phrasebook, args: argparse.Namespace) -> Dict[str, Any]:
    from clinic_bot.services import ScaleOutServices

    var_dir = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
    database = f"bench_{label.replace('-', '_')}_{int(time.time())}"
    stack = make_stack(label, servers, var_dir, database)
    out: Dict[str, Any] = {"label": label, "rasa_servers": max(1, servers), "storage": "sqlite" if servers == 0 else "postgresql+redis+rabbitmq"}
    try:
        t0 = time.perf_counter()
        stack.start()
        out["ready_s"] = round(time.perf_counter() - t0, 1)
        log(f"{label}: up in {out['ready_s']} s")
        asyncio.run(
            run_level(
                stack.rasa_url, book, name="warm", concurrency=4, duration_s=5, think_s=(0, 0), headers={"Authorization": f"Bearer {REST_TOKEN}"}
            )
        )
        out["saturation"] = measure(
            stack, book, name=f"{label}-saturation", concurrency=args.saturation, duration_s=args.seconds, think_s=(0.0, 0.0), timeout_s=30
        )
        out["c50"] = measure(stack, book, name=f"{label}-c50", concurrency=50, duration_s=args.seconds, think_s=(1.0, 3.0), timeout_s=30)
        out["database"] = database_size(stack)
        out["rss_mb"] = {s.name: round(procstats.rss_mb(s.proc.pid), 1) for s in stack.services if s.proc}
        out["alive_after"] = {s.name: bool(s.proc and s.proc.poll() is None) for s in stack.services}
    finally:
        stack.stop()
        shutil.rmtree(var_dir, ignore_errors=True)
        if servers:
            ScaleOutServices.from_env().drop_database(stack.db_url)
    return out


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="make bench-cluster: SQLite single server vs 1 and 2 Rasa servers behind nginx")
    p.add_argument("--seconds", type=float, default=60.0, help="length of each load level (default 60)")
    p.add_argument("--saturation", type=int, default=16, help="conversations with no think time for the ceiling (default 16)")
    p.add_argument("--only", default="sqlite-1,cluster-1,cluster-2", help="which deployments, in order")
    p.add_argument("--report-only", action="store_true", help="re-render the report from the last results")
    p.add_argument("--out", default=str(ROOT / "reports" / "cluster_benchmark.md"))
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    from bench.cluster_report import render

    args = parse_args(argv)
    results: Dict[str, Any]
    if args.report_only:
        results = json.loads(RESULTS.read_text())
    else:
        if not PROJECT_MODEL.exists():
            raise SystemExit(f"no trained model at {PROJECT_MODEL}: run `make model` first")
        # the benchmark's load all comes from one address: lift nginx's per-address REST limit
        os.environ["RATE_PER_CLIENT"] = "1000000/60"
        os.environ["RATE_PER_SENDER"] = "1000000/60"
        book = load_phrasebook()
        servers = {"sqlite-1": 0, "cluster-1": 1, "cluster-2": 2}
        results = {"machine": machine_description(), "conditions_start": conditions("start"), "args": vars(args), "runs": []}
        for label in args.only.split(","):
            results["runs"].append(run_one(label, servers[label], book, args))
        results["conditions_end"] = conditions("end")
        CACHE.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=2))
    Path(args.out).write_text(render(results))
    log(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
