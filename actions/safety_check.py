"""The safety check's two actions: log it for staff, and answer after a "no".

The check itself (a domain response with quick replies) is asked by
RedFlagPolicy when the safety decision (clinic_bot/safety.py) found only weak
evidence. A "yes" goes down the normal escalation path (actions/handoff.py).
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.faq import HUMAN_BUTTON, faq_response, suggestions, topic_from_parse
from actions.handoff import checked_message, escalation_of, open_ticket
from clinic_bot import names
from clinic_bot.escalation import SAFETY_CHECK


class ActionLogSafetyCheck(Action):
    """A routine, un-notified ticket, so staff can review every check the bot asked."""

    def name(self) -> Text:
        return names.ACTION_LOG_CHECK

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        open_ticket(escalation_of(tracker, SAFETY_CHECK), notify=False)
        return []


def original_parse(event: Dict[Text, Any]) -> Dict[Text, Any]:
    """The checked message's parse as it was before the safety decision replaced its intent."""
    parse = dict(event.get("parse_data") or {})
    original = ((parse.get(names.PARSE_OVERRIDE) or {}).get("original_intent")) or {}
    parse["intent"] = original
    return parse


class ActionAnswerAfterCheck(Action):
    """After "no": carry on with the answer to the question the person asked."""

    def name(self) -> Text:
        return names.ACTION_ANSWER_AFTER_CHECK

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        event = checked_message(tracker.events)
        parse = original_parse(event) if event else {}
        topic = topic_from_parse(parse)
        if topic and faq_response(domain, topic):
            dispatcher.utter_message(response="utter_check_thanks")
            dispatcher.utter_message(response=f"utter_faq/{topic}")
            return [SlotSet(names.SLOT_LAST_TOPIC, topic)]
        buttons = (suggestions(parse, domain) if parse else []) + [HUMAN_BUTTON]
        dispatcher.utter_message(response="utter_check_carry_on", buttons=buttons)
        return []
