"""Escalation: ticket first, notification in the background with retries, never blocking."""

from __future__ import annotations

import asyncio

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import ActionEscalateRedFlag, ActionRequestHuman
from clinic_bot import escalation
from clinic_bot.db import get_engine
from clinic_bot.notify import post_staff_webhook
from clinic_bot.signatures import sign
from clinic_bot.tickets import TicketError, TicketStore
from tests.actions.conftest import make_tracker
from tests.fakes import RecordingServer


@pytest.fixture
def hook(monkeypatch):
    server = RecordingServer().start()
    monkeypatch.setenv("STAFF_WEBHOOK_URL", server.url + "/hook")
    monkeypatch.setenv("STAFF_WEBHOOK_TIMEOUT", "0.5")
    monkeypatch.setenv("STAFF_WEBHOOK_RETRIES", "3")
    yield server
    server.stop()


async def _drain() -> None:
    """Wait for this test's background notifications (tasks of the running loop)."""
    loop = asyncio.get_running_loop()
    while pending := [t for t in escalation._background if t.get_loop() is loop and not t.done()]:
        await asyncio.gather(*pending)


@pytest.fixture(autouse=True)
async def drain_notifications():
    yield
    await _drain()


def red_flag_tracker(category: str = "cauda_equina", text: str = "I've wet myself and my back is killing me"):
    ent = [{"entity": "red_flag", "value": category, "start": 0, "end": 5}]
    return make_tracker(text, "report_red_flag", entities=ent)


async def test_red_flag_records_ticket_notifies_and_enters_handoff(db_url, hook) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionEscalateRedFlag().run(dispatcher, red_flag_tracker(), {})
    assert {"event": "slot", "name": "handoff_active", "value": True, "timestamp": None} in events
    assert any(e.get("name") == "red_flag_urgency" and e.get("value") == "emergency" for e in events)
    assert dispatcher.messages[0]["response"] == "utter_handoff_started"
    await _drain()
    (ticket,) = TicketStore(get_engine(db_url)).list()
    assert (ticket.category, ticket.urgency, ticket.channel, ticket.status) == ("cauda_equina", "emergency", "socketio", "open")
    assert ticket.trigger_message.startswith("I've wet myself")
    assert ticket.notification_status == "sent" and ticket.notification_attempts == 1
    body = hook.matching("/hook")[0].json()
    assert body["ticket"]["category"] == "cauda_equina"


async def test_most_urgent_category_wins_when_several_fire(db_url, hook) -> None:
    ent = [{"entity": "red_flag", "value": "severe_worsening_pain"}, {"entity": "red_flag", "value": "self_harm"}]
    events = await ActionEscalateRedFlag().run(CollectingDispatcher(), make_tracker("x", "report_red_flag", entities=ent), {})
    assert any(e.get("name") == "red_flag_category" and e.get("value") == "self_harm" for e in events)


async def test_ml_only_red_flag_is_escalated_as_unspecified_urgent(db_url, hook) -> None:
    events = await ActionEscalateRedFlag().run(CollectingDispatcher(), make_tracker("something bad", "report_red_flag"), {})
    assert any(e.get("name") == "red_flag_urgency" and e.get("value") == "urgent" for e in events)
    await _drain()
    assert TicketStore(get_engine(db_url)).list()[0].category == "unspecified"


async def test_webhook_failure_is_retried_then_marked_on_the_ticket(db_url, hook) -> None:
    hook.script("/hook", default=(500, {"error": "down"}, 0.0))
    await ActionEscalateRedFlag().run(CollectingDispatcher(), red_flag_tracker(), {})
    await _drain()
    ticket = TicketStore(get_engine(db_url)).list()[0]
    assert ticket.notification_status == "failed"
    assert ticket.notification_attempts == 3 and "500" in ticket.notification_error
    assert len(hook.matching("/hook")) == 3


async def test_webhook_recovers_after_transient_errors(db_url, hook) -> None:
    hook.script("/hook", (503, {}, 0.0), (500, {}, 0.0))
    await ActionEscalateRedFlag().run(CollectingDispatcher(), red_flag_tracker(), {})
    await _drain()
    ticket = TicketStore(get_engine(db_url)).list()[0]
    assert (ticket.notification_status, ticket.notification_attempts) == ("sent", 3)


async def test_slow_webhook_never_delays_the_reply(db_url, hook) -> None:
    hook.script("/hook", default=(200, {}, 2.0))  # slower than the 0.5 s timeout
    loop = asyncio.get_running_loop()
    start = loop.time()
    dispatcher = CollectingDispatcher()
    await ActionEscalateRedFlag().run(dispatcher, red_flag_tracker(), {})
    assert loop.time() - start < 0.5, "the action waited for the webhook"
    assert dispatcher.messages
    await _drain()
    assert TicketStore(get_engine(db_url)).list()[0].notification_error.startswith("TimeoutError")


async def test_retried_escalation_does_not_duplicate_the_ticket(db_url, hook) -> None:
    tracker = red_flag_tracker()
    await ActionEscalateRedFlag().run(CollectingDispatcher(), tracker, {})
    await ActionEscalateRedFlag().run(CollectingDispatcher(), tracker, {})
    await _drain()
    assert len(TicketStore(get_engine(db_url)).list()) == 1
    assert len(hook.matching("/hook")) == 1


async def test_storage_failure_still_tells_the_person_what_to_do(monkeypatch, hook) -> None:
    monkeypatch.setenv("CLINIC_DB_URL", "sqlite:////proc/cannot/write/here.db")
    from clinic_bot import db

    db.clear_engines()
    dispatcher = CollectingDispatcher()
    await ActionEscalateRedFlag().run(dispatcher, red_flag_tracker(), {})
    assert dispatcher.messages[0]["response"] == "utter_handoff_failed"


async def test_request_human_opens_a_routine_ticket(db_url, hook) -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionRequestHuman().run(dispatcher, make_tracker("can I talk to a person", "request_human"), {})
    await _drain()
    (ticket,) = TicketStore(get_engine(db_url)).list()
    assert (ticket.category, ticket.urgency) == ("request_human", "routine")
    assert any(e.get("name") == "handoff_active" and e.get("value") is True for e in events)


def test_queue_orders_by_urgency_then_age_and_closed_tickets_stay_closed(db_url) -> None:
    store = TicketStore(get_engine(db_url))
    common = dict(channel="rest", trigger_message="t")
    store.create(dedupe_key="a", conversation_id="a", category="request_human", urgency="routine", **common)
    store.create(dedupe_key="b", conversation_id="b", category="severe_worsening_pain", urgency="urgent", **common)
    c, created = store.create(dedupe_key="c", conversation_id="c", category="cauda_equina", urgency="emergency", **common)
    assert created and [t.conversation_id for t in store.list()] == ["c", "b", "a"]
    store.set_status(c.id, "closed", by="nurse", note="called patient")
    assert [t.conversation_id for t in store.list()] == ["b", "a"]
    with pytest.raises(TicketError):
        store.set_status(c.id, "open", by="nurse")


async def test_notification_body_is_signed_when_a_secret_is_set(hook) -> None:
    result = await post_staff_webhook(hook.url + "/signed", {"a": 1}, secret="s3cret", retries=1)
    assert result.ok
    req = hook.matching("/signed")[0]
    assert req.headers["X-Clinic-Signature-256"] == sign(req.body, "s3cret")


async def test_client_errors_are_not_retried(hook) -> None:
    hook.script("/bad", default=(400, {}, 0.0))
    result = await post_staff_webhook(hook.url + "/bad", {}, retries=3, backoff_s=0)
    assert not result.ok and result.attempts == 1
