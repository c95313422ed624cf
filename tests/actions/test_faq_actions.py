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
        "response_selector": {"faq": {"response": {"intent_response_key": f"faq/{topic}", "confidence": conf},
                                      "ranking": [{"intent_response_key": f"faq/{topic}", "confidence": conf}]}},
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
        "response_selector": {"faq": {"ranking": [
            {"intent_response_key": "faq/injections_work", "confidence": 0.4},
            {"intent_response_key": "faq/injection_duration", "confidence": 0.35},
            {"intent_response_key": "faq/surgery", "confidence": 0.05},
        ]}},
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
