"""FAQ follow-ups and the 'not sure' path.

The answers themselves are domain responses `utter_faq/<topic>` (domain/faq.yml),
each with its source articles and a longer 'more' text in its metadata: one
place per topic. These actions only read them.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, Iterable, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from clinic_bot import names
from clinic_bot.content import answer_slots, fill
from clinic_bot.profile import cached_profile

FAQ_INTENT = names.INTENT_FAQ
MORE_INTENT = "more_info"
SUGGESTION_COUNT = 3
HUMAN_BUTTON = {"title": "Talk to a person", "payload": f"/{names.INTENT_REQUEST_HUMAN}"}
OTHER_INTENT_TITLES = {
    "clinic_hours": "Opening hours",
    "clinic_location": "Where the clinic is",
    "clinic_contact": "Contact details",
    "clinic_booking": "Booking an appointment",
}


def faq_response(domain: Dict[Text, Any], topic: str) -> Optional[Dict[Text, Any]]:
    variants = (domain.get("responses") or {}).get(f"utter_faq/{topic}") or []
    return variants[0] if variants else None


def topic_title(domain: Dict[Text, Any], topic: str) -> str:
    response = faq_response(domain, topic) or {}
    question = (response.get("metadata") or {}).get("question")
    return question or topic.replace("_", " ").capitalize()


def topic_from_parse(parse_data: Dict[Text, Any]) -> Optional[str]:
    """The FAQ topic a parsed user message was answered with, if any."""
    intent = (parse_data.get("intent") or {}).get("name")
    if intent == FAQ_INTENT:
        key = (((parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("response") or {}).get("intent_response_key")
        if key and "/" in key:
            return key.split("/", 1)[1]
    if intent in ("choose_faq", MORE_INTENT):  # a suggestion button, or "Tell me more" under an answer
        for entity in parse_data.get("entities") or []:
            if entity.get("entity") == "faq_topic":
                return entity.get("value")
    return None


def last_topic(events: Iterable[Dict[Text, Any]]) -> Optional[str]:
    for event in reversed(list(events)):
        if event.get("event") == "user":
            topic = topic_from_parse(event.get("parse_data") or {})
            if topic:
                return topic
    return None


class ActionAnswerChosenFaq(Action):
    """Answers the topic a person picked from suggestion buttons."""

    def name(self) -> Text:
        return "action_answer_chosen_faq"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        topic = topic_from_parse(tracker.latest_message)
        if topic and faq_response(domain, topic):
            dispatcher.utter_message(response=f"utter_faq/{topic}")
            return [SlotSet(names.SLOT_LAST_TOPIC, topic)]
        dispatcher.utter_message(response="utter_ask_rephrase")
        return []


class ActionFaqMore(Action):
    """'Tell me more': the longer answer for the topic discussed last."""

    def name(self) -> Text:
        return "action_faq_more"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        # the button names its topic; typed "tell me more" means the topic discussed last
        topic = topic_from_parse(tracker.latest_message) or last_topic(tracker.events) or tracker.get_slot(names.SLOT_LAST_TOPIC)
        response = faq_response(domain, topic) if topic else None
        more = ((response or {}).get("metadata") or {}).get("more")
        if not more:
            dispatcher.utter_message(response="utter_more_without_topic")
            return []
        text = fill(more, fill_values(tracker))
        dispatcher.utter_message(
            text=text, buttons=[HUMAN_BUTTON], metadata={"topic": topic, "sources": ((response or {}).get("metadata") or {}).get("sources", [])}
        )
        return [SlotSet(names.SLOT_LAST_TOPIC, topic)]


@lru_cache(maxsize=1)
def profile_values() -> Dict[str, str]:
    return answer_slots(cached_profile())


def fill_values(tracker: Tracker) -> Dict[str, Any]:
    """The values Rasa fills answers with (the tracker's slots), the profile's where a slot is missing."""
    values: Dict[str, Any] = dict(profile_values())
    values.update({k: v for k, v in (tracker.slots or {}).items() if isinstance(v, str) and v})
    return values


def suggestions(parse_data: Dict[Text, Any], domain: Dict[Text, Any], limit: int = SUGGESTION_COUNT) -> List[Dict[str, str]]:
    """The most likely FAQ topics (and clinic-info intents) as buttons."""
    buttons: List[Dict[str, str]] = []
    ranking = ((parse_data.get("response_selector") or {}).get(FAQ_INTENT) or {}).get("ranking") or []
    faq_scores = {}
    for item in ranking:
        key = item.get("intent_response_key") or ""
        if "/" in key:
            faq_scores[key.split("/", 1)[1]] = float(item.get("confidence") or 0.0)
    faq_weight = 0.0
    candidates: List[tuple] = []
    for item in parse_data.get("intent_ranking") or []:
        name, conf = item.get("name"), float(item.get("confidence") or 0.0)
        if name == FAQ_INTENT:
            faq_weight = conf
        elif name in OTHER_INTENT_TITLES:
            candidates.append((conf, OTHER_INTENT_TITLES[name], f"/{name}"))
    for topic, conf in faq_scores.items():
        if faq_response(domain, topic):
            # joint probability: P(intent is faq) x P(this topic | faq)
            candidates.append((conf * faq_weight, topic_title(domain, topic), f'/choose_faq{{"faq_topic":"{topic}"}}'))
    for _, title, payload in sorted(candidates, key=lambda c: -c[0])[:limit]:
        buttons.append({"title": title, "payload": payload})
    return buttons


class ActionSuggestTopics(Action):
    """When the intent or the FAQ topic is uncertain: say so, offer likely topics and a person."""

    def name(self) -> Text:
        return "action_suggest_topics"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        buttons = suggestions(tracker.latest_message, domain)
        buttons.append(HUMAN_BUTTON)
        template = "utter_suggest_topics" if len(buttons) > 1 else "utter_ask_rephrase"
        dispatcher.utter_message(response=template, buttons=buttons)
        return []
