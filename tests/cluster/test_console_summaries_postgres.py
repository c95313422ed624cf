"""The console's summary tables on PostgreSQL (tests/console/test_summaries.py runs the same on
SQLite): equal to the old full scan, a late commit below the cursor picked up, erasure, and two
indexers at once. Also that the search has its trigram index."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from clinic_bot.db import create_schema, make_engine
from clinic_bot.tickets import TicketStore
from console.reconcile import find_lost_escalations
from console.repositories import summary_reads
from console.repositories.conversations import ConversationRepository
from console.repositories.erasure import Eraser
from console.repositories.events import ACTION_INDEX, create_events_table, events_table
from console.repositories.filters import Filters
from console.repositories.summaries import SummaryIndex
from console.repositories.summary_tables import TRGM_INDEX, create_summary_tables
from tests.console.conftest import SECRET
from tests.console.factory import ConversationWriter
from tests.console.summary_checks import assert_matches_full_scan, catch_up_at_once, event_row, save, seed_varied, table_rows

UTC = ZoneInfo("UTC")


def _setup(pg_url: str, tmp_path: Path):
    engine = make_engine(pg_url)
    create_schema(engine)
    create_events_table(engine)
    repo = ConversationRepository(make_engine(pg_url, own_file=False), TicketStore(engine), SECRET)
    return repo, ConversationWriter(str(tmp_path / "factory.db"))  # only builds Rasa events


def test_summaries_on_postgres(pg_url: str, tmp_path: Path) -> None:
    repo, w = _setup(pg_url, tmp_path)
    seed_varied(w, repo.engine, repo.tickets, n=40)
    assert_matches_full_scan(repo, UTC)
    with repo.tickets.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT 1 FROM pg_indexes WHERE indexname = :n"), {"n": TRGM_INDEX}).first()
    common = summary_reads.COMMON_MESSAGES
    summary_reads.COMMON_MESSAGES = 0  # every search walks the list (a common word's plan)
    try:
        assert_matches_full_scan(repo, UTC)
    finally:
        summary_reads.COMMON_MESSAGES = common
    find_lost_escalations(repo.engine)  # adds its index to Rasa's table, CONCURRENTLY
    with repo.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:n)"), {"n": ACTION_INDEX}).scalar()

    # A transaction that took its id first but commits last: its event is below the cursor.
    late = repo.engine.connect()
    tx = late.begin()
    late.execute(events_table.insert(), [event_row("late-commit", e) for e in w.session() + [w.user("physio parking", "ask", 0.3)]])
    save(repo.engine, "early-commit", w.session() + [w.user("knee", "ask", 0.9)])
    listed = lambda: [s.sender_id for s in repo.page(Filters(), UTC, page_size=1000).items]  # noqa: E731
    assert "early-commit" in listed() and "late-commit" not in listed()
    tx.commit()
    late.close()
    assert "late-commit" in listed()
    assert_matches_full_scan(repo, UTC)

    gone = listed()[0]
    result = Eraser(repo.engine, repo.tickets.engine, SECRET).erase(gone, actor="admin1")
    assert result.deleted["summary_conversations"] == 1 and gone not in listed()
    assert not any(gone in row for rows in table_rows(repo.tickets.engine).values() for row in rows)
    repo.engine.dispose()
    repo.tickets.engine.dispose()


def test_two_indexers_at_once_on_postgres(pg_url: str, tmp_path: Path) -> None:
    repo, w = _setup(pg_url, tmp_path)
    seed_varied(w, repo.engine, repo.tickets, n=60)
    create_summary_tables(repo.tickets.engine)
    engines = [make_engine(pg_url) for _ in range(4)]
    indexers = [SummaryIndex(engines[0], engines[1], SECRET), SummaryIndex(engines[2], engines[3], SECRET)]
    catch_up_at_once(indexers, batch=41)  # many small steps, so the two interleave
    concurrent = table_rows(repo.tickets.engine)
    SummaryIndex(repo.engine, repo.tickets.engine, SECRET).rebuild()
    assert table_rows(repo.tickets.engine) == concurrent and len(concurrent["summary_conversations"]) == 60
    for engine in (*engines, repo.engine, repo.tickets.engine):
        engine.dispose()
