"""The summary tables behind the conversation list (console/repositories/summaries.py), on SQLite:
they must say what the old full scan said, follow new events (including ones committed out of id
order), forget erased conversations, and come out the same when two indexers run at once."""

from __future__ import annotations

import time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from clinic_bot.db import get_engine, make_engine
from clinic_bot.tickets import TicketStore
from console.reconcile import find_lost_escalations
from console.repositories import conversations, full_scan, summary_reads, summary_tables
from console.repositories.conversations import ConversationRepository
from console.repositories.erasure import Eraser
from console.repositories.events import ACTION_INDEX, create_events_table, tracker_engine
from console.repositories.filters import Filters
from console.repositories.summaries import OVERLAP_IDS, SummaryIndex
from console.repositories.summary_reads import ListQuery
from console.repositories.summary_tables import conversations_table, create_summary_tables
from tests.console.conftest import SECRET
from tests.console.summary_checks import DAY, assert_matches_full_scan, catch_up_at_once, save, seed_varied, table_rows

UTC = ZoneInfo("UTC")


@pytest.fixture
def urls(console_env):
    return f"sqlite:///{console_env / 'tracker.db'}", f"sqlite:///{console_env / 'clinic.db'}"


@pytest.fixture
def repo(urls):
    tracker = tracker_engine(urls[0])
    create_events_table(tracker)
    return ConversationRepository(tracker, TicketStore(get_engine(urls[1])), SECRET)


def listed(repo):
    return [s.sender_id for s in repo.page(Filters(), UTC, page_size=1000).items]


def test_summary_list_equals_the_full_scan(repo, writer):
    seed_varied(writer, repo.engine, repo.tickets)
    assert_matches_full_scan(repo, UTC)
    assert len(listed(repo)) > 20


def test_new_events_show_up_after_the_first_catch_up(repo, writer):
    seed_varied(writer, repo.engine, repo.tickets, n=8)
    before = listed(repo)
    assert not repo.index.pending()
    writer.at(time.time() - 60)
    writer.save("late-arrival", writer.session() + [writer.user("is there parking", "faq", 0.3, channel="whatsapp"), writer.action("action_listen")])
    assert repo.index.pending()
    assert listed(repo) == ["late-arrival", *before]  # the newest first
    assert repo.summaries()["late-arrival"].channel == "whatsapp" and [i.sender_id for i in repo.unanswered()][-1] == "late-arrival"
    writer.save("late-arrival", [writer.user("hello", "greet", 0.99, channel="rest")])
    assert repo.summaries()["late-arrival"].user_messages == 2 and repo.summaries()["late-arrival"].channel == "rest"
    assert_matches_full_scan(repo, UTC)


def test_events_committed_out_of_id_order_are_picked_up(repo, writer):
    """PostgreSQL can make id 50 visible after id 105: re-reading the overlap window finds it."""
    w = writer
    save(repo.engine, "first", w.session() + [w.user("knee pain", "ask", 0.9)], ids=range(100, 105))
    assert listed(repo) == ["first"]
    save(repo.engine, "late", w.session() + [w.user("swim", "ask", 0.9)], ids=range(50, 55))  # below the cursor
    save(repo.engine, "first", [w.user("still sore", "ask", 0.3)], ids=[60])  # an older id for a known conversation
    assert sorted(listed(repo)) == ["first", "late"]
    assert repo.summaries()["first"].user_messages == 2
    assert_matches_full_scan(repo, UTC)
    assert OVERLAP_IDS > 100  # (the ids above sit inside the window)


def test_erasure_and_retention_update_the_summaries(repo, writer, urls):
    seed_varied(writer, repo.engine, repo.tickets, n=10)
    gone = listed(repo)[0]
    result = Eraser(repo.engine, repo.tickets.engine, SECRET).erase(gone, actor="admin1")
    assert result.deleted["summary_conversations"] == 1 and result.deleted["summary_messages"] >= 1
    rows = table_rows(repo.tickets.engine)
    assert not any(gone in row for table in rows.values() for row in table)
    assert gone not in listed(repo) and repo.resolve(repo.ref(gone)) is None
    # Retention of a conversation's old sessions only: its summary is recomputed.
    w = writer
    w.at(time.time() - 400 * DAY)
    writer.save("old-and-new", w.session() + [w.user("knee", "ask", 0.3, channel="rest")])
    w.at(time.time() - 60)
    writer.save("old-and-new", w.session() + [w.user("swim", "ask", 0.95, channel="socketio")])
    assert repo.summaries()["old-and-new"].user_messages == 2
    Eraser(repo.engine, repo.tickets.engine, SECRET).apply_retention(365)
    assert repo.summaries()["old-and-new"].user_messages == 1 and repo.summaries()["old-and-new"].channel == "socketio"
    assert_matches_full_scan(repo, UTC)


def test_two_indexers_at_once_write_the_same_rows(repo, writer, urls):
    seed_varied(writer, repo.engine, repo.tickets, n=40)
    project_a, project_b = make_engine(urls[1]), make_engine(urls[1])  # two processes' own engines
    indexers = [SummaryIndex(make_engine(urls[0], own_file=False), p, SECRET) for p in (project_a, project_b)]
    create_summary_tables(project_a)
    catch_up_at_once(indexers, batch=37)  # many small steps, so the two interleave
    concurrent = table_rows(project_a)
    SummaryIndex(repo.engine, project_a, SECRET).rebuild()
    assert table_rows(project_a) == concurrent
    with project_a.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(conversations_table)).scalar_one() == 40
    assert_matches_full_scan(repo, UTC)


def test_changed_settings_rebuild_the_rows(repo, writer):
    seed_varied(writer, repo.engine, repo.tickets, n=12)
    usual = len(repo.unanswered())
    stricter = ConversationRepository(repo.engine, repo.tickets, SECRET, low_confidence=0.95)
    assert stricter.index.pending()  # rows computed with 0.6 are rebuilt for 0.95
    assert len(stricter.unanswered()) > usual
    assert len(repo.unanswered()) == usual


def test_a_common_word_walks_the_list_and_finds_the_same(repo, writer, monkeypatch):
    """A search for a text in many messages probes conversations in list order instead of building the set."""
    seed_varied(writer, repo.engine, repo.tickets)
    monkeypatch.setattr(summary_reads, "COMMON_MESSAGES", 0)  # every search text counts as common
    repo.fresh()
    assert repo.reader.is_common(ListQuery(q="knee"))
    assert_matches_full_scan(repo, UTC)


def test_a_common_search_word_counts_up_to_the_cap(repo, writer, monkeypatch):
    """The count of a search stops at SEARCH_COUNT_CAP (shown as "N+"); the rows are still the full scan's first ones."""
    seed_varied(writer, repo.engine, repo.tickets)
    monkeypatch.setattr(conversations, "SEARCH_COUNT_CAP", 3)
    old, _ = full_scan.filtered(repo, Filters(q="knee"), UTC)
    assert len(old) > 3
    page = repo.page(Filters(q="knee"), UTC, page_size=2)
    assert (page.total, page.more, page.pages) == (3, True, 2) and [s.sender_id for s in page.items] == [s.sender_id for s in old[:2]]
    exact = repo.page(Filters(q="conv-013"), UTC, page_size=2)
    assert (exact.total, exact.more) == (1, False)


def test_tables_from_an_older_console_are_rebuilt(repo, writer):
    """create_all never adds a column: tables lacking one are dropped and rebuilt from the events."""
    seed_varied(writer, repo.engine, repo.tickets, n=8)
    listed(repo)
    engine = repo.tickets.engine
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE summary_conversations DROP COLUMN unanswered"))
    summary_tables._ready.clear()
    assert repo.index.pending()
    assert_matches_full_scan(repo, UTC)


def test_the_reconciler_indexes_rasas_events_by_action(repo):
    """find_lost_escalations reads one action of the last day: the console adds the index it needs, once."""
    find_lost_escalations(repo.engine)
    find_lost_escalations(repo.engine)
    indexes = {ix["name"]: ix["column_names"] for ix in sa.inspect(repo.engine).get_indexes("events")}
    assert indexes[ACTION_INDEX] == ["action_name", "timestamp"]
