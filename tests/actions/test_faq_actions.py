from __future__ import annotations

from pathlib import Path

import pytest
from rasa.shared.core.domain import Domain
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import ActionFaqMore, ActionSuggestTopics, last_topic, suggestions, topic_from_parse
from tests.actions.conftest import make_tracker

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def domain() -> dict:
    return Domain.load(str(ROOT / "domain")).as_dict()


def faq_parse(topic: str, conf: float = 0.9) -> dict:
    return {
        "intent": {"name": "faq", "confidence": conf},
        "response_selector": {
            "faq": {
                "response": {"intent_response_key": f"faq/{topic}", "confidence": conf},
                "ranking": [{"intent_response_key": f"faq/{topic}", "confidence": conf}],
            }
        },
    }


def test_topic_from_parse_reads_the_response_selector_key() -> None:
    assert topic_from_parse(faq_parse("should_i_rest")) == "should_i_rest"
    chosen = {"intent": {"name": "choose_faq"}, "entities": [{"entity": "faq_topic", "value": "imaging"}]}
    assert topic_from_parse(chosen) == "imaging"
    assert topic_from_parse({"intent": {"name": "greet"}}) is None


def test_last_topic_finds_the_most_recent_faq() -> None:
    events = [
        {"event": "user", "parse_data": faq_parse("imaging")},
        {"event": "bot", "text": "..."},
        {"event": "user", "parse_data": faq_parse("surgery")},
        {"event": "user", "parse_data": {"intent": {"name": "more_info"}}},
    ]
    assert last_topic(events) == "surgery"


async def test_tell_me_more_sends_the_longer_answer_of_the_last_topic(domain: dict) -> None:
    events = [{"event": "user", "parse_data": faq_parse("injection_duration")}]
    tracker = make_tracker("tell me more", "more_info", events=events)
    dispatcher = CollectingDispatcher()
    await ActionFaqMore().run(dispatcher, tracker, domain)
    expected = domain["responses"]["utter_faq/injection_duration"][0]["metadata"]["more"]
    assert dispatcher.messages[0]["text"] == expected


async def test_tell_me_more_without_a_topic_asks_which(domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    await ActionFaqMore().run(dispatcher, make_tracker("tell me more", "more_info"), domain)
    assert dispatcher.messages[0]["response"] == "utter_more_without_topic"


def test_suggestions_rank_topics_and_offer_clinic_intents(domain: dict) -> None:
    parse = {
        "intent_ranking": [{"name": "faq", "confidence": 0.7}, {"name": "clinic_booking", "confidence": 0.2}],
        "response_selector": {
            "faq": {
                "ranking": [
                    {"intent_response_key": "faq/injections_work", "confidence": 0.4},
                    {"intent_response_key": "faq/injection_duration", "confidence": 0.35},
                    {"intent_response_key": "faq/surgery", "confidence": 0.05},
                ]
            }
        },
    }
    buttons = suggestions(parse, domain)
    assert len(buttons) == 3
    assert buttons[0]["payload"] == '/choose_faq{"faq_topic":"injections_work"}'
    assert buttons[0]["title"] == domain["responses"]["utter_faq/injections_work"][0]["metadata"]["question"]
    assert {"title": "Booking an appointment", "payload": "/clinic_booking"} in buttons


async def test_fallback_says_it_is_unsure_and_always_offers_a_person(domain: dict) -> None:
    dispatcher = CollectingDispatcher()
    await ActionSuggestTopics().run(dispatcher, make_tracker("blargh", "nlu_fallback"), domain)
    msg = dispatcher.messages[0]
    assert msg["buttons"][-1] == {"title": "Talk to a person", "payload": "/request_human"}


async def test_the_tell_me_more_button_answers_its_own_topic(domain: dict) -> None:
    """A button under an earlier answer names that answer's topic, even after another question."""
    events = [{"event": "user", "parse_data": faq_parse("surgery")}, {"event": "user", "parse_data": faq_parse("imaging")}]
    button = [{"entity": "faq_topic", "value": "surgery"}]
    tracker = make_tracker('/more_info{"faq_topic":"surgery"}', "more_info", entities=button, events=events)
    dispatcher = CollectingDispatcher()
    events_out = await ActionFaqMore().run(dispatcher, tracker, domain)
    assert dispatcher.messages[0]["text"] == domain["responses"]["utter_faq/surgery"][0]["metadata"]["more"]
    assert {"event": "slot", "name": "last_faq_topic", "value": "surgery", "timestamp": None} in events_out


async def test_the_longer_text_is_filled_from_the_locale_and_offers_a_person(domain: dict) -> None:
    events = [{"event": "user", "parse_data": faq_parse("warning_signs")}]
    dispatcher = CollectingDispatcher()
    await ActionFaqMore().run(dispatcher, make_tracker("tell me more", "more_info", events=events), domain)
    msg = dispatcher.messages[0]
    assert "NHS 111" in msg["text"] and "Samaritans" in msg["text"] and "{" not in msg["text"]
    assert msg["buttons"] == [{"title": "Talk to a person", "payload": "/request_human"}]


async def test_the_longer_text_uses_the_conversations_own_slot_values(domain: dict) -> None:
    events = [{"event": "user", "parse_data": faq_parse("imaging")}]
    dispatcher = CollectingDispatcher()
    await ActionFaqMore().run(dispatcher, make_tracker("tell me more", "more_info", events=events, slots={"doctor": "family doctor"}), domain)
    assert "A physio or family doctor can judge" in dispatcher.messages[0]["text"]
