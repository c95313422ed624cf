"""One escalation, whichever path writes it (the action or the console's reconciler)."""

from __future__ import annotations

import sqlalchemy as sa

from clinic_bot.db import metadata
from clinic_bot.escalation import RED_FLAG, REQUEST_HUMAN, SAFETY_CHECK, Escalation, handoff_events, record, turn_marker
from clinic_bot.tickets import TicketStore


def store(tmp_path) -> TicketStore:
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'clinic.db'}")
    metadata.create_all(engine)
    return TicketStore(engine)


def test_the_turn_marker_is_the_message_id_else_the_timestamp() -> None:
    assert turn_marker({"message_id": "m1", "timestamp": 5.0}) == "m1"
    assert turn_marker({"timestamp": 1700000000.25}) == "1700000000.25"


def test_a_category_the_table_does_not_know_is_unspecified() -> None:
    forged = Escalation("c", RED_FLAG, "m", "rest", "hi", category="<img src=x>")
    assert forged.ticket_category == "unspecified" and forged.urgency == "urgent"
    assert Escalation("c", RED_FLAG, "m", "rest", "hi", category="cauda_equina").urgency == "emergency"
    assert (Escalation("c", REQUEST_HUMAN, "m", "rest", "hi").ticket_category, Escalation("c", SAFETY_CHECK, "m", "rest", "").urgency) == (
        "request_human",
        "routine",
    )


def test_the_action_and_the_reconciler_write_one_ticket_for_one_turn(tmp_path) -> None:
    s = store(tmp_path)
    user_event = {"event": "user", "message_id": "abc", "timestamp": 12.5, "text": "I've wet myself"}
    from_action = Escalation("c1", RED_FLAG, turn_marker(user_event), "socketio", "I've wet myself", "cauda_equina")
    from_reconciler = Escalation("c1", RED_FLAG, turn_marker(user_event), "socketio", "I've wet myself", "cauda_equina")
    first, tell = record(s, from_action)
    again, tell_again = record(s, from_reconciler)
    assert tell and not tell_again and first.id == again.id and len(s.list()) == 1


def test_handoff_events_pause_the_bot_and_name_the_ticket() -> None:
    esc = Escalation("c1", RED_FLAG, "m", "rest", "text", "cauda_equina")
    names = {e["name"]: e["value"] for e in handoff_events(esc, None)}
    assert names == {"handoff_active": True, "red_flag_category": "cauda_equina", "red_flag_urgency": "emergency"}
    assert handoff_events(Escalation("c1", REQUEST_HUMAN, "m", "rest", ""), None) == []
