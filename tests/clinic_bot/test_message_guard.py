"""The guard every channel's message passes before NLU (clinic_bot/message_guard.py)."""

from __future__ import annotations

from rasa.shared.core.events import BotUttered, SessionStarted, UserUttered

from clinic_bot import message_guard as g
from clinic_bot.rate_limit import Rate, RateLimiter

LIMITS = g.Limits(max_chars=100, max_metadata_bytes=64)
OFFER = BotUttered(
    "Did you mean one of these?",
    data={
        "buttons": [
            {"title": "Should I rest?", "payload": '/choose_faq{"faq_topic":"should_i_rest"}'},
            {"title": "Talk to a person", "payload": "/request_human"},
        ]
    },
)


def test_short_message_and_small_metadata_pass_unchanged() -> None:
    assert g.capped("should I rest?", {"locale": "en"}, LIMITS) == ("should I rest?", {"locale": "en"})


def test_long_message_is_cut_at_a_word_and_marked() -> None:
    text = "word " * 1000
    kept, meta = g.capped(text, None, LIMITS)
    assert len(kept) <= 100 and not kept.endswith(" wor") and meta == {g.TRUNCATED_KEY: len(text)}


def test_large_metadata_is_not_kept() -> None:
    kept, meta = g.capped("hi", {"blob": "x" * 500_000}, LIMITS)
    assert kept == "hi" and set(meta) == {g.DROPPED_METADATA_KEY} and meta[g.DROPPED_METADATA_KEY] > 500_000


def test_forged_payload_with_markup_is_refused() -> None:
    forged = '/report_red_flag{"red_flag": "<img src=x>"}'
    events = [SessionStarted(), OFFER]
    assert not g.accepted_payload(forged, events)
    assert g.plain_words(forged) == 'report_red_flag{"red_flag": "<img src=x>"}'


def test_offered_payloads_are_accepted_whatever_the_json_spacing() -> None:
    events = [SessionStarted(), OFFER]
    assert g.accepted_payload('/choose_faq{"faq_topic": "should_i_rest"}', events)
    assert not g.accepted_payload('/choose_faq{"faq_topic": "surgery"}', events)  # a value not offered


def test_offers_end_with_the_session_and_greet_is_always_accepted() -> None:
    events = [SessionStarted(), OFFER, SessionStarted(), UserUttered("hi")]
    assert not g.accepted_payload('/choose_faq{"faq_topic":"should_i_rest"}', events)
    assert g.accepted_payload("/greet", []) and g.accepted_payload("/request_human", [])


def test_a_cut_message_with_a_red_flag_keeps_its_parse() -> None:
    escalate = {"intent": {"name": "report_red_flag"}, "entities": [{"entity": "red_flag"}], "safety_decision": {"action": "escalate"}}
    check = {"intent": {"name": "red_flag_check"}, "entities": [], "safety_decision": {"action": "check"}}
    faq = {"intent": {"name": "faq"}, "entities": [], "safety_decision": {"action": "continue"}}
    assert not g.safety_continues(escalate) and not g.safety_continues(check) and g.safety_continues(faq)
    assert g.too_long_parse(faq)["intent"]["name"] == "message_too_long"


def test_install_wraps_the_processor_once() -> None:
    from rasa.core.processor import MessageProcessor

    g.install()
    first = MessageProcessor._handle_message_with_tracker
    g.install()
    assert MessageProcessor._handle_message_with_tracker is first and first._clinic_guard


def test_rate_limiter_window_and_memory_bound() -> None:
    now = [0.0]
    limiter = RateLimiter(Rate.parse("3/10"), max_keys=2, clock=lambda: now[0])
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert 9.9 < limiter.retry_after("a") <= 10
    now[0] = 10.5
    assert limiter.allow("a")
    limiter.allow("b"), limiter.allow("c")
    assert len(limiter._hits) == 2


def test_rate_parse_rejects_nonsense() -> None:
    import pytest

    for bad in ("12", "0/60", "x/y", "5/0"):
        with pytest.raises(ValueError):
            Rate.parse(bad)
