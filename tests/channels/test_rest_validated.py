"""The REST channel's replies keep a safety message's urgency (channels/rest_validated.py).

The wiring through the running server is checked by tests/e2e/test_red_flags_rest.py,
which reads every category's urgency from the REST reply."""

from __future__ import annotations

import asyncio
import copy

from rasa.core.channels.channel import CollectingOutputChannel

from channels.rest_validated import UrgencyCollectingOutputChannel
from clinic_bot.safety import message_urgency

# BotUttered.message() of a safety response and of an FAQ answer (domain/safety.yml, domain/faq.yml)
SAFETY = {
    "text": "Please call 999 now or go to A&E.",
    "metadata": {"urgency": "emergency"},
    "utter_action": "utter_red_flag_safety",
    "custom": None,
    "buttons": None,
    "image": None,
    "attachment": None,
}
ANSWER = {
    "text": "Complete rest usually isn't helpful.\n\nGentle movement helps.",
    "metadata": {"topic": "should_i_rest", "more": "..."},
    "custom": None,
    "buttons": None,
}


def collect(channel: CollectingOutputChannel) -> list:
    for message in (SAFETY, ANSWER):
        asyncio.run(channel.send_response("p1", copy.deepcopy(message)))
    return channel.messages


def test_rasas_collector_drops_the_urgency() -> None:
    """Why the REST channel has its own collector: Rasa 3.6 keeps only text, buttons, image, attachment, custom."""
    assert collect(CollectingOutputChannel())[0] == {"recipient_id": "p1", "text": SAFETY["text"]}


def test_safety_message_keeps_its_urgency_and_nothing_else_changes() -> None:
    replies: list = []
    assert collect(UrgencyCollectingOutputChannel(replies)) is replies  # the list the stock handler returns
    assert replies == [
        {"recipient_id": "p1", "text": SAFETY["text"], "metadata": {"urgency": "emergency"}},
        {"recipient_id": "p1", "text": "Complete rest usually isn't helpful."},
        {"recipient_id": "p1", "text": "Gentle movement helps."},
    ]
    assert [message_urgency(m) for m in replies] == ["emergency", None, None]
