"""Shared by tests/console/test_summaries.py (SQLite) and
tests/cluster/test_console_summaries_postgres.py: a varied set of conversations,
written into Rasa's events table row for row as SQLTrackerStore.save writes them
(any database), and the check that the summary-backed pages say what the old
full scan of the events table said."""

from __future__ import annotations

import json
import random
import threading
import time
from datetime import date
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from rasa.shared.core.events import Event
from sqlalchemy.engine import Engine

from clinic_bot.tickets import TicketStore
from console.repositories import full_scan
from console.repositories.conversations import ConversationRepository
from console.repositories.events import events_table
from console.repositories.filters import Filters
from console.repositories.summary_tables import DATA_TABLES, unanswered_table
from console.repositories.unanswered import group_unanswered, scan_unanswered
from tests.console.factory import ConversationWriter

DAY = 86400.0
WORDS = "appointment injection knee shoulder physio pain swim parking invoice referral scan results cancel reschedule".split()


def event_row(sender_id: str, event: Event, event_id: Optional[int] = None) -> Dict[str, Any]:
    """The events-table row SQLTrackerStore.save writes for `event`."""
    data = event.as_dict()
    row = {
        "sender_id": sender_id,
        "type_name": event.type_name,
        "timestamp": data.get("timestamp"),
        "intent_name": (data.get("parse_data") or {}).get("intent", {}).get("name"),
        "action_name": data.get("name"),
        "data": json.dumps(data),
    }
    if event_id is not None:
        row["id"] = event_id
    return row


def save(engine: Engine, sender_id: str, events: Sequence[Event], ids: Optional[Sequence[int]] = None) -> None:
    with engine.begin() as conn:
        conn.execute(events_table.insert(), [event_row(sender_id, e, ids[i] if ids else None) for i, e in enumerate(events)])


def _turn(w: ConversationWriter, rng: random.Random, channel: str) -> List[Event]:
    text = " ".join(rng.sample(WORDS, 3)) + rng.choice(["", "?", "!", " Épaule"])
    kind = rng.choice(["ok", "ok", "low", "faq_low", "nlu", "gate", "core", "payload", "handoff", "restart"])
    if kind == "ok":
        return [
            w.user(text, "ask_hours", 0.93, channel=channel),
            w.action("utter_hours"),
            w.bot(f"We are open; {rng.choice(WORDS)}."),
            w.action("action_listen"),
        ]
    if kind == "low":
        return [w.user(text, "ask_price", 0.41, channel=channel), w.action("utter_price"), w.action("action_listen")]
    if kind == "faq_low":
        return [w.user(text, "faq", 0.9, channel=channel, topic="injection_pain", topic_conf=0.3), w.action("utter_faq"), w.action("action_listen")]
    if kind == "nlu":
        ranking = [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "greet", "confidence": 0.3}]
        return [w.user(text, "nlu_fallback", 0.3, channel=channel, ranking=ranking), w.action("action_suggest_topics"), w.action("action_listen")]
    if kind == "gate":
        ranking = [{"name": "faq", "confidence": 0.9}]
        return [w.user(text, "nlu_fallback", 0.45, channel=channel, topic="exercise", topic_conf=0.2, ranking=ranking), w.action("action_listen")]
    if kind == "core":
        return [w.user(text, "out_of_scope", 0.9, channel=channel), w.action("action_default_fallback"), w.action("action_listen")]
    if kind == "payload":
        return [w.user('/choose_faq{"faq_topic":"exercise"}', "choose_faq", 1.0, channel=channel), w.action("action_listen")]
    if kind == "handoff":
        back = [w.slot("handoff_active", False)] if rng.random() < 0.5 else []
        return [
            w.user(text, "report_red_flag", 0.97, channel=channel),
            w.slot("handoff_active", True),
            w.bot(f"Staff here about {text}", {"staff_reply": True, "staff": "sam"}),
            *back,
        ]
    return [w.slot("handoff_active", True), w.restart()]


def seed_varied(w: ConversationWriter, tracker: Engine, tickets: TicketStore, n: int = 36, seed: int = 7) -> List[str]:
    """n conversations over the last 20 days (each inside one day), some without a user
    message, a few with tickets; returns the sender ids."""
    rng = random.Random(seed)
    today = time.time() // DAY * DAY
    senders = []
    for i in range(n):
        sender = f"4477009{i:05d}" if i % 4 == 0 else f"conv-{i:03d}"
        w.at(today - rng.randrange(1, 20) * DAY + 9 * 3600 + rng.randrange(6 * 3600))
        channel = rng.choice(["rest", "socketio", "whatsapp"])
        events = w.session()
        for _ in range(rng.choice([0, 1, 2, 3, 5])):
            events += _turn(w, rng, channel if rng.random() < 0.8 else rng.choice(["rest", "socketio"]))
        save(tracker, sender, events)
        senders.append(sender)
        if i % 7 == 3:
            ticket, _ = tickets.create(
                dedupe_key=f"{sender}:red_flag:{i}",
                conversation_id=sender,
                channel=channel,
                category="cauda_equina",
                urgency="emergency",
                trigger_message="x",
            )
            if i % 14 == 3:
                tickets.set_status(ticket.id, "closed", by="sam", note="done")
    return senders


def _day(days_ago: int) -> date:
    return date.fromordinal(date.today().toordinal() - days_ago)


FILTERS = [
    Filters(),
    Filters(channel="whatsapp"),
    Filters(channel="rest", escalated="no"),
    Filters(escalated="yes"),
    Filters(unanswered="yes"),
    Filters(unanswered="no"),
    Filters(q="knee"),
    Filters(q="PAIN swim"),
    Filters(q="épaule"),
    Filters(q="4477009"),
    Filters(q="conv-01"),
    Filters(q="100%_"),
    Filters(date_from=_day(10)),
    Filters(date_to=_day(6), unanswered="yes"),
    Filters(date_from=_day(15), date_to=_day(5), channel="socketio", q="scan"),
]


def assert_matches_full_scan(repo: ConversationRepository, tz: Any) -> None:
    """Every page the console shows, from the summaries, equals the old full scan's."""
    assert repo.summaries() == full_scan.summaries(repo)
    for filters in FILTERS:
        items, channels = repo.filtered(filters, tz)
        old_items, old_channels = full_scan.filtered(repo, filters, tz)
        assert (items, channels) == (old_items, old_channels), filters
        for number in (1, 2, 3):
            page = repo.page(Filters(**{**filters.__dict__, "page": number}), tz, page_size=5)
            assert page.total == len(old_items) and [s.sender_id for s in page.items] == [s.sender_id for s in old_items[(page.page - 1) * 5 :][:5]]
    key = lambda i: (i.sender_id, i.at, i.text, i.kind, i.info)  # noqa: E731
    assert [key(i) for i in repo.unanswered()] == [key(i) for i in scan_unanswered(repo.engine, repo.low_confidence)]
    start = time.time() // DAY * DAY - 8 * DAY
    assert [key(i) for i in repo.unanswered(start)] == [key(i) for i in scan_unanswered(repo.engine, repo.low_confidence, start)]
    for since in (None, start):  # the report's pages, grouped in SQL, are the old grouping of every item, cut in pages
        old = scan_unanswered(repo.engine, repo.low_confidence, since)
        first = repo.unanswered_report(since, None, 1, 4)
        pages = [repo.unanswered_report(since, None, n, 4) for n in range(1, first.pages + 1)]
        assert (first.items, first.distinct) == (len(old), len(group_unanswered(old)))
        assert [g for p in pages for g in p.groups] == group_unanswered(old)


def table_rows(engine: Engine) -> Dict[str, List[tuple]]:
    """Every summary row (the unanswered table without its surrogate id), sorted."""
    out = {}
    with engine.connect() as conn:
        for table in DATA_TABLES:
            cols = [c for c in table.c if not (table is unanswered_table and c.name == "id")]
            out[table.name] = sorted(tuple(r) for r in conn.execute(sa.select(*cols)))
    return out


def catch_up_at_once(indexers: Sequence[Any], batch: int) -> None:
    """Run every indexer's catch-up at the same moment, in small batches so they interleave
    (two console processes); fails with whatever one of them raised."""
    barrier, errors = threading.Barrier(len(indexers)), []

    def run(index: Any) -> None:
        try:
            barrier.wait()
            index.catch_up(batch=batch)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in indexers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
