"""The safety check's actions: its log entry for staff, and the answer after a "no"."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import trigger_text
from actions.safety_check import ActionAnswerAfterCheck, ActionLogSafetyCheck
from clinic_bot.db import get_engine
from clinic_bot.tickets import TicketStore
from tests.actions.conftest import make_tracker

ROOT = Path(__file__).resolve().parents[2]
CHECKED_TEXT = "my leg feels funny and is it ok to rest?"


@pytest.fixture(scope="module")
def domain() -> dict:
    return Domain.load(str(ROOT / "domain")).as_dict()


def checked_event(original_intent: str, topic: str = "should_i_rest") -> dict:
    """A user turn the safety decision answered with the check, as Rasa stores it."""
    return {
        "event": "user",
        "text": CHECKED_TEXT,
        "parse_data": {
            "text": CHECKED_TEXT,
            "intent": {"name": "red_flag_check", "confidence": 1.0},
            "red_flag_override": {"original_intent": {"name": original_intent, "confidence": 0.6}, "check": True},
            "intent_ranking": [{"name": "red_flag_check", "confidence": 1.0}, {"name": "faq", "confidence": 0.5}],
            "response_selector": {
                "faq": {
                    "response": {"intent_response_key": f"faq/{topic}", "confidence": 0.9},
                    "ranking": [{"intent_response_key": f"faq/{topic}", "confidence": 0.9}],
                }
            },
        },
    }


async def test_the_check_is_logged_for_staff_without_an_alert(db_url) -> None:
    tracker = make_tracker(CHECKED_TEXT, "red_flag_check")
    assert await ActionLogSafetyCheck().run(CollectingDispatcher(), tracker, {}) == []
    (ticket,) = TicketStore(get_engine(db_url)).list(conversation_id="patient-1")
    assert (ticket.category, ticket.urgency, ticket.trigger_message) == ("safety_check", "routine", CHECKED_TEXT)
    assert ticket.notification_status == "pending"


async def test_no_answers_the_question_first_asked(domain) -> None:
    tracker = make_tracker("/red_flag_denied", "red_flag_denied", events=[checked_event("faq")])
    dispatcher = CollectingDispatcher()
    events = await ActionAnswerAfterCheck().run(dispatcher, tracker, domain)
    assert [m["response"] for m in dispatcher.messages] == ["utter_check_thanks", "utter_faq/should_i_rest"]
    assert events == [{"event": "slot", "timestamp": None, "name": "last_faq_topic", "value": "should_i_rest"}]


async def test_no_after_a_message_without_a_clear_question_offers_topics_and_a_person(domain) -> None:
    tracker = make_tracker("no", "deny", events=[checked_event("report_red_flag")])
    dispatcher = CollectingDispatcher()
    assert await ActionAnswerAfterCheck().run(dispatcher, tracker, domain) == []
    (message,) = dispatcher.messages
    assert message["response"] == "utter_check_carry_on"
    assert message["buttons"][-1]["payload"] == "/request_human" and len(message["buttons"]) >= 2


def test_a_yes_records_the_checked_words_on_the_ticket() -> None:
    tracker = make_tracker("/red_flag_confirmed", "red_flag_confirmed", events=[checked_event("faq")])
    assert trigger_text(tracker) == CHECKED_TEXT
    assert trigger_text(make_tracker("I can't pee", "report_red_flag")) == "I can't pee"
