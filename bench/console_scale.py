"""The staff console at deployment scale: `.venv/bin/python bench/console_scale.py [--conversations N]`.

Creates a throwaway PostgreSQL database, fills Rasa's events table with N
conversations (default 100,000, about 20 events each; bench/console_scale_data.py),
builds the summary tables (timed), then runs the real console (`python -m console.app`)
against it and times each page over HTTP, signed in as an admin: p50/p95 of
--requests requests each after two warm-ups. The old full-scan path (no page uses it
now) is timed through its repository calls (console/repositories/full_scan.py) for
comparison. Writes reports/console_scale.md and drops the database.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Callable, Dict, List, Tuple
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")

import sqlalchemy as sa  # noqa: E402

from bench.console_scale_data import COMMON_WORD, RARE_WORD, Generator, copy_events  # noqa: E402
from clinic_bot.launcher import free_port, wait_http  # noqa: E402
from clinic_bot.services import ScaleOutServices  # noqa: E402

SECRET = "console-scale-bench-secret-0123456789abcdef"
PASSWORD = "correct horse battery staple"
TARGET_MS = 200.0
REPORT = ROOT / "reports" / "console_scale.md"


def percentile(values: List[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def timed(fn: Callable[[], object], n: int, warm: int = 2) -> List[float]:
    for _ in range(warm):
        fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def fill(url: str, conversations: int) -> Tuple[int, int, float]:
    from clinic_bot.tickets import tickets_table
    from console.repositories.events import create_events_table
    from console.tables import console_engine

    engine = console_engine(url)
    create_events_table(engine)
    gen = Generator()
    started = time.perf_counter()
    raw = engine.raw_connection()
    try:
        events = copy_events(raw.connection, gen.rows(conversations))
    finally:
        raw.close()
    with engine.begin() as conn:
        conn.execute(tickets_table.insert(), gen.tickets)
        conn.execute(sa.text("ANALYZE events"))
    return events, len(gen.tickets), time.perf_counter() - started


def build_summaries(url: str) -> Tuple[float, int]:
    from clinic_bot.settings import load_settings
    from console.repositories.events import tracker_engine
    from console.repositories.summaries import SummaryIndex
    from console.tables import console_engine

    engine = console_engine(url)
    index = SummaryIndex(tracker_engine(url), engine, SECRET, load_settings().console_low_confidence)
    started = time.perf_counter()
    index.catch_up(batch=20000)
    took = time.perf_counter() - started
    with engine.begin() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM summary_conversations")).scalar_one()
        for table in ("summary_conversations", "summary_messages", "summary_unanswered"):
            conn.execute(sa.text(f"ANALYZE {table}"))
    return took, n


def measure_http(env: Dict[str, str], tmp: Path, requests: int) -> List[Tuple[str, List[float]]]:
    from console.auth import UserStore
    from console.tables import console_engine
    from tests.console.conftest import Client, start_console

    UserStore(console_engine(env["CLINIC_DB_URL"])).create("bench-admin", "admin", PASSWORD)
    port = free_port()
    log = tmp / "console.log"
    proc = start_console(env, port, log)  # as the console tests start it
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 120, proc)
        client = Client(f"http://127.0.0.1:{port}")
        assert client.login("bench-admin").status == 303, "login failed"
        first = client.get("/conversations")
        ref = re.search(r'href="/conversations/([0-9a-f]{32})"', first.body).group(1)  # type: ignore[union-attr]
        week_ago = (date.today() - timedelta(days=7)).isoformat()
        pages = [
            ("list, page 1", "/conversations"),
            ("list, page 200", "/conversations?page=200"),
            ("filter: channel = whatsapp", "/conversations?channel=whatsapp"),
            ("filter: escalated = yes", "/conversations?escalated=yes"),
            ("filter: escalated = no", "/conversations?escalated=no"),
            ("filter: unanswered = yes", "/conversations?unanswered=yes"),
            ("filter: unanswered = no, page 50", "/conversations?unanswered=no&page=50"),
            ("filter: last 7 days", f"/conversations?from={week_ago}"),
            (f"search: '{RARE_WORD}' (1 message in 300)", f"/conversations?q={RARE_WORD}"),
            (f"search: '{COMMON_WORD}' (1 message in 5)", f"/conversations?q={COMMON_WORD}"),
            ("search: part of a phone number", "/conversations?q=44770001234"),
            ("one transcript", f"/conversations/{ref}"),
            ("unanswered report (30 days)", "/reports/unanswered"),
        ]
        results = []
        for name, path in pages:
            status = client.get(path).status
            assert status == 200, f"{path}: {status}"
            results.append((name, timed(lambda p=path: client.get(p), requests)))  # type: ignore[misc]
            print(f"  {name}: p50 {statistics.median(results[-1][1]):.0f} ms", flush=True)
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def measure_old(url: str, runs: int) -> List[Tuple[str, List[float]]]:
    """The pre-summary list page and unanswered report, through their repository calls."""
    from clinic_bot.tickets import TicketStore
    from console.repositories import full_scan
    from console.repositories.conversations import ConversationRepository
    from console.repositories.events import tracker_engine
    from console.repositories.filters import Filters
    from console.repositories.unanswered import scan_unanswered
    from console.tables import console_engine

    repo = ConversationRepository(tracker_engine(url), TicketStore(console_engine(url)), SECRET)
    utc = ZoneInfo("UTC")

    def old_page() -> None:  # what ConversationRepository.page did before
        items, _ = full_scan.filtered(repo, Filters(), utc)
        scan_unanswered(repo.engine, repo.low_confidence, senders=[s.sender_id for s in items[:25]])

    month = time.time() - 30 * 86400
    return [
        ("OLD list, page 1 (full scan)", timed(old_page, runs, warm=1)),
        ("OLD unanswered report (30 days, full scan)", timed(lambda: scan_unanswered(repo.engine, repo.low_confidence, month), runs, warm=1)),
    ]


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")), "?")
    mem = next((int(line.split()[1]) // 1024 // 1024 for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal")), 0)
    load = Path("/proc/loadavg").read_text().split()[:3]
    return f"{os.cpu_count()} cores ({cpu}), {mem} GB RAM; load average at the end {' '.join(load)}"


def report(args: argparse.Namespace, facts: Dict[str, str], rows: List[Tuple[str, List[float]]], old: List[Tuple[str, List[float]]]) -> str:
    lines = [
        "# Staff console at scale",
        "",
        f"Measured by `bench/console_scale.py --conversations {args.conversations}` on {time.strftime('%Y-%m-%d')}.",
        "",
        *[f"- {k}: {v}" for k, v in facts.items()],
        "",
        f"Pages through the real console over HTTP (`python -m console.app`, signed in as an admin), {args.requests} requests each "
        "after 2 warm-ups, one at a time; each request includes the console's catch-up check of the summaries (nothing new here).",
        "",
        "| page | p50 ms | p95 ms | target ms | met? |",
        "|---|---:|---:|---:|---|",
    ]
    for name, values in rows:
        p95 = percentile(values, 95)
        lines.append(f"| {name} | {statistics.median(values):.0f} | {p95:.0f} | {TARGET_MS:.0f} | {'yes' if p95 <= TARGET_MS else '**no**'} |")
    lines += [
        "",
        f"The old code path (every page aggregated the events table; now console/repositories/full_scan.py), through its repository "
        f"calls (no HTTP), {args.old_runs} runs after 1 warm-up, on the same data:",
        "",
        "| path | p50 ms | p95 ms |",
        "|---|---:|---:|",
        *[f"| {name} | {statistics.median(v):.0f} | {percentile(v, 95):.0f} |" for name, v in old],
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--old-runs", type=int, default=3)
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    services = ScaleOutServices.from_env()
    url = services.create_database("console_scale")
    tmp = Path(tempfile.mkdtemp(prefix="console_scale_"))
    env = {
        "CLINIC_VAR_DIR": str(tmp),
        "CLINIC_DB_URL": url,
        "CONSOLE_TRACKER_DB_URL": url,
        "CONSOLE_SECRET_KEY": SECRET,
        "CONSOLE_TIMEZONE": "UTC",
        "CONSOLE_RETENTION_EVERY_HOURS": "0",  # retention is not what is measured
        "RECONCILE_EVERY_S": "3600",  # nor the escalation reconciler (its own events query; see the report)
        "CONSOLE_LOCKOUT_IP_FAILURES": "1000",
    }
    os.environ.update(env)
    try:
        print(f"filling {url.rsplit('/', 1)[1]} with {args.conversations} conversations ...", flush=True)
        events, tickets, fill_s = fill(url, args.conversations)
        print(f"  {events} events, {tickets} tickets in {fill_s:.0f} s; building summaries ...", flush=True)
        build_s, built = build_summaries(url)
        print(f"  summaries for {built} conversations in {build_s:.0f} s; measuring pages ...", flush=True)
        from console.reconcile import find_lost_escalations
        from console.repositories.events import ensure_action_index, tracker_engine

        started = time.perf_counter()
        ensure_action_index(tracker_engine(url))  # once per console process; the pass below then uses it
        action_index_s = time.perf_counter() - started
        find_lost_escalations(tracker_engine(url))  # warm-up
        started = time.perf_counter()
        find_lost_escalations(tracker_engine(url))
        reconcile_ms = (time.perf_counter() - started) * 1000
        rows = measure_http(env, tmp, args.requests)
        old = measure_old(url, args.old_runs)
        facts = {
            "Data": f"{args.conversations:,} conversations, {events:,} events in Rasa's `events` table (90 days), {tickets:,} handoff tickets; PostgreSQL 15 on this machine",
            "Machine": machine() + " (a model was training on the same machine during some runs)",
            "Data generation (COPY)": f"{fill_s:.0f} s",
            "Initial summary build": f"{build_s:.0f} s for {built:,} conversations (`python -m console.cli summaries` does the same; the console's background pass too)",
            "Escalation reconciler, one pass (not a page; on the console's (action_name, timestamp) index of Rasa's events, "
            f"built CONCURRENTLY in {action_index_s:.1f} s at the console's first pass)": f"{reconcile_ms:.0f} ms",
        }
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(report(args, facts, rows, old), encoding="utf-8")
        print(args.report.read_text())
    finally:
        from clinic_bot.db import clear_engines

        clear_engines()
        services.drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
