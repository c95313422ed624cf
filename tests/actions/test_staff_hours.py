"""After a handoff the person is told the truth about when staff will reply:
open now (until when), or closed (when we open, and what to do meanwhile)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions import staff_hours
from actions.handoff import ActionEscalateRedFlag, ActionRequestHuman
from clinic_bot import escalation
from tests.actions.conftest import make_tracker
from tests.data.rendering import values_for
from tests.fakes import RecordingServer

ROOT = Path(__file__).resolve().parents[2]
LONDON = ZoneInfo("Europe/London")
WEDNESDAY_10 = datetime(2026, 12, 2, 10, 0, tzinfo=LONDON)
SATURDAY_15 = datetime(2026, 12, 5, 15, 0, tzinfo=LONDON)


@pytest.fixture
def hook(monkeypatch):
    server = RecordingServer().start()
    monkeypatch.setenv("STAFF_WEBHOOK_URL", server.url + "/hook")
    monkeypatch.setenv("STAFF_WEBHOOK_RETRIES", "1")
    yield server
    server.stop()


@pytest.fixture(autouse=True)
async def drain():
    yield
    loop = asyncio.get_running_loop()
    while pending := [t for t in escalation._background if t.get_loop() is loop and not t.done()]:
        await asyncio.gather(*pending)


def clock(monkeypatch, when: datetime) -> None:
    monkeypatch.setattr(staff_hours, "now", lambda: when)


async def test_in_hours_a_person_hears_staff_are_in_until_closing(db_url, hook, monkeypatch) -> None:
    clock(monkeypatch, WEDNESDAY_10)
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, make_tracker("can I talk to someone", "request_human"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_routine", "utter_staff_reply_open"]
    assert dispatcher.messages[1]["closes_at"] == "19:00"


async def test_out_of_hours_a_red_flag_hears_when_we_open(db_url, hook, monkeypatch) -> None:
    clock(monkeypatch, SATURDAY_15)
    dispatcher = CollectingDispatcher()
    ent = [{"entity": "red_flag", "value": "cauda_equina"}]
    await ActionEscalateRedFlag().run(dispatcher, make_tracker("I've wet myself", "report_red_flag", entities=ent), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_started", "utter_staff_reply_closed"]
    assert dispatcher.messages[1]["next_open"] == "on Monday at 8:00"


async def test_no_promise_of_a_reply_when_the_ticket_failed(monkeypatch) -> None:
    monkeypatch.setenv("CLINIC_DB_URL", "sqlite:////proc/cannot/write/here.db")
    from clinic_bot import db

    db.clear_engines()
    dispatcher = CollectingDispatcher()
    await ActionRequestHuman().run(dispatcher, make_tracker("a person please", "request_human"), {})
    assert [m["response"] for m in dispatcher.messages] == ["utter_handoff_failed"]


@pytest.mark.parametrize("locale,meanwhile", [("uk", ("NHS 111", "999")), ("us", ("urgent care", "911"))])
def test_the_messages_read_the_hours_and_the_locale(locale: str, meanwhile) -> None:
    nlg = TemplatedNaturalLanguageGenerator(Domain.load(str(ROOT / "domain")).responses)
    closed = nlg.generate_from_slots(staff_hours.CLOSED, values_for(locale), "rest", next_open="on Monday at 8:00")["text"]
    assert "closed now" in closed and "when we open, on Monday at 8:00" in closed
    assert all(m in closed for m in meanwhile), closed
    opened = nlg.generate_from_slots(staff_hours.OPEN, values_for(locale), "rest", closes_at="19:00")["text"]
    assert "open now, until 19:00" in opened and "member of staff will reply" in opened
