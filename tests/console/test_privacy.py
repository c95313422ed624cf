"""Erasure on request, retention, audit pseudonymisation (no servers)."""

from __future__ import annotations

import asyncio
import time

import pytest
import sqlalchemy as sa

from clinic_bot.db import get_engine, metadata
from clinic_bot.tickets import STATUSES, TicketStore
from console.refs import erased_pseudonym
from console.repositories.audit import AuditLog
from console.repositories.erasure import Eraser
from console.repositories.events import events_table, tracker_engine
from console.tables import audit_table
from tests.console.conftest import SECRET, seed_red_flag_conversation

DAY = 86400.0


@pytest.fixture
def engines(console_env):
    clinic = get_engine(f"sqlite:///{console_env / 'clinic.db'}")
    tracker = tracker_engine(f"sqlite:///{console_env / 'tracker.db'}")
    return clinic, tracker


def count_events(tracker, sender):
    with tracker.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).where(events_table.c.sender_id == sender)).scalar_one()


def test_erase_one_conversation_everywhere(console_env, writer, engines):
    clinic, tracker = engines
    url = f"sqlite:///{console_env / 'clinic.db'}"
    seed_red_flag_conversation(writer, "447700900123", url)
    seed_red_flag_conversation(writer, "447700900999", url)
    # Another project table keyed by the sender id (e.g. channel state added later by another module).
    other = sa.Table("whatsapp_channel_state", sa.MetaData(), sa.Column("sender_id", sa.String(64)), sa.Column("v", sa.Text))
    other.create(clinic)
    with clinic.begin() as conn:
        conn.execute(other.insert(), [{"sender_id": "447700900123", "v": "x"}, {"sender_id": "447700900999", "v": "y"}])
    audit = AuditLog(clinic)
    audit.record("sam", "view", "447700900123")
    audit.record("sam", "view", "447700900999")

    result = Eraser(tracker, clinic, SECRET).erase("447700900123", actor="admin1")

    assert result.deleted["tracker events"] > 5 and result.deleted["tickets"] == 1
    assert result.deleted["whatsapp_channel_state"] == 1
    assert count_events(tracker, "447700900123") == 0
    assert count_events(tracker, "447700900999") > 0  # nobody else's data
    tickets = TicketStore(clinic)
    assert tickets.list(statuses=STATUSES, conversation_id="447700900123") == []
    assert len(tickets.list(statuses=STATUSES, conversation_id="447700900999")) == 1
    with clinic.connect() as conn:
        assert [r.sender_id for r in conn.execute(sa.select(other))] == ["447700900999"]
        rows = conn.execute(sa.select(audit_table).order_by(audit_table.c.id)).all()
    pseudonym = erased_pseudonym(SECRET, "447700900123")
    assert result.sender_pseudonym == pseudonym
    assert [(r.actor, r.action, r.subject) for r in rows] == [
        ("sam", "view", pseudonym),
        ("sam", "view", "447700900999"),
        ("admin1", "delete", pseudonym),
    ]
    assert not any("447700900123" in (r.subject or "") + (r.detail or "") for r in rows)
    # Rasa sees a fresh conversation for that sender.
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(console_env / "tracker.db"))
    assert asyncio.run(store.retrieve("447700900123")) is None


def test_pseudonyms_are_keyed_and_stable():
    assert erased_pseudonym(SECRET, "447700900123") == erased_pseudonym(SECRET, "447700900123")
    assert erased_pseudonym(SECRET, "447700900123") != erased_pseudonym("other-key-0123456789abcdef0123456789", "447700900123")
    assert erased_pseudonym("", "x") != erased_pseudonym("", "x")  # no key: random, unlinkable


def test_retention(console_env, writer, engines):
    clinic, tracker = engines
    now = time.time()
    w = writer
    # Old conversation, nothing since: erased completely.
    w.at(now - 400 * DAY)
    w.save("old-person", w.session() + [w.user("hello", "greet", 0.9), w.action("utter_greet"), w.bot("Hi")])
    tickets = TicketStore(clinic)
    old_ticket, _ = tickets.create(
        dedupe_key="o1", conversation_id="old-person", channel="rest", category="request_human", urgency="routine", trigger_message="hello"
    )
    # Returning person: an old session plus a current one. Only the old session goes.
    w.at(now - 500 * DAY)
    w.save("returning", w.session() + [w.user("first visit", "greet", 0.9), w.action("utter_greet"), w.bot("Hi")])
    w.at(now - 2 * DAY)
    w.save("returning", w.session() + [w.user("back again", "greet", 0.9), w.action("utter_greet"), w.bot("Hi again")])
    # Recent conversation: untouched.
    w.at(now - 5 * DAY)
    w.save("recent", w.session() + [w.user("hi", "greet", 0.9)])
    closed_old, _ = tickets.create(
        dedupe_key="c1", conversation_id="recent", channel="rest", category="request_human", urgency="routine", trigger_message="hi"
    )
    tickets.set_status(closed_old.id, "closed", by="t", note="done")
    with clinic.begin() as conn:  # make that closed ticket 2 years old
        from datetime import datetime, timezone

        from clinic_bot.tickets import tickets_table

        conn.execute(
            tickets_table.update().where(tickets_table.c.id == closed_old.id).values(created_at=datetime.fromtimestamp(now - 730 * DAY, timezone.utc))
        )

    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.domain import Domain

    from console.repositories.events import events_table as ev

    store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(console_env / "tracker.db"))
    before = [e.as_dict() for e in asyncio.run(store.retrieve("returning")).events]

    result = Eraser(tracker, clinic, SECRET).apply_retention(365, now=now)

    assert result.conversations_erased == 1 and result.old_session_events_deleted > 0 and result.closed_tickets_deleted == 1
    assert count_events(tracker, "old-person") == 0
    assert tickets.list(statuses=STATUSES, conversation_id="old-person") == []
    with tracker.connect() as conn:
        oldest = conn.execute(sa.select(sa.func.min(ev.c.timestamp)).where(ev.c.sender_id == "returning")).scalar_one()
        texts = [r[0] for r in conn.execute(sa.select(ev.c.data).where(ev.c.sender_id == "returning"))]
    assert oldest > now - 365 * DAY
    assert not any("first visit" in t for t in texts) and any("back again" in t for t in texts)
    # The session Rasa works with is exactly as before, and Rasa can keep appending to it.
    after = [e.as_dict() for e in asyncio.run(store.retrieve("returning")).events]
    assert after == before
    assert count_events(tracker, "recent") > 0
    with pytest.raises(ValueError):
        Eraser(tracker, clinic, SECRET).apply_retention(0)
    audit, _ = AuditLog(clinic).entries(action="retention")
    assert len(audit) == 2 and old_ticket.conversation_id not in [a.subject for a in audit]


def test_console_tables_are_on_the_shared_metadata():
    import console.tables  # noqa: F401

    assert {"console_users", "console_sessions", "console_login_failures", "console_audit"} <= set(metadata.tables)
