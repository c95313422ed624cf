"""Repeated red flags in one conversation join its open ticket (issue 11.6)."""

from __future__ import annotations

import sqlalchemy as sa

from clinic_bot.db import metadata
from clinic_bot.tickets import TicketStore


def store(tmp_path) -> TicketStore:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'clinic.db'}")
    metadata.create_all(engine)
    return TicketStore(engine)


def flag(s: TicketStore, marker: str, category: str = "cauda_equina", urgency: str = "emergency", conv: str = "c1"):
    return s.create(
        dedupe_key=f"{conv}:red_flag:{marker}",
        conversation_id=conv,
        channel="rest",
        category=category,
        urgency=urgency,
        trigger_message=f"message {marker}",
        join_open_kind="red_flag",
    )


def test_identical_red_flags_open_one_ticket(tmp_path) -> None:
    s = store(tmp_path)
    first, created = flag(s, "m1")
    assert created
    for marker in ("m2", "m3", "m4"):
        ticket, notify = flag(s, marker)
        assert ticket.id == first.id and not notify
    assert len(s.list()) == 1 and s.repeats(first.id) == 3


def test_a_retried_repeat_joins_once(tmp_path) -> None:
    s = store(tmp_path)
    flag(s, "m1")
    flag(s, "m2")
    ticket, notify = flag(s, "m2")
    assert not notify and s.repeats(ticket.id) == 1


def test_a_more_urgent_repeat_raises_the_ticket_and_tells_staff(tmp_path) -> None:
    s = store(tmp_path)
    first, _ = flag(s, "m1", category="unspecified", urgency="urgent")
    ticket, notify = flag(s, "m2")
    assert notify and ticket.id == first.id and (ticket.urgency, ticket.category) == ("emergency", "cauda_equina")


def test_closed_ticket_or_other_conversation_opens_a_new_one(tmp_path) -> None:
    s = store(tmp_path)
    first, _ = flag(s, "m1")
    s.set_status(first.id, "closed", by="staff")
    again, created = flag(s, "m2")
    assert created and again.id != first.id
    other, created = flag(s, "m3", conv="c1%")  # LIKE wildcards in an id match nothing else
    assert created and other.id not in (first.id, again.id)


def test_erasure_removes_repeats(tmp_path) -> None:
    s = store(tmp_path)
    first, _ = flag(s, "m1")
    flag(s, "m2")
    assert s.delete_conversation("c1") == 1 and s.repeats(first.id) == 0
