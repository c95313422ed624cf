"""Escalation to a human: red flags (with urgency) and plain requests for a person.

Order matters for safety. The rule for `report_red_flag` sends the safety
message (a domain response, so it still goes out if this server is down) before
this action runs. The action then records the ticket, starts the staff
notification in the background (it never delays the reply) and puts the
conversation into handoff, which pauses FAQ answers until staff resume it.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.staff_hours import tell_when_staff_reply
from clinic_bot import names
from clinic_bot.db import get_engine
from clinic_bot.escalation import RED_FLAG, REQUEST_HUMAN, Escalation, alert_staff_in_background, handoff_events, record, turn_marker
from clinic_bot.safety import UNSPECIFIED, load_table
from clinic_bot.settings import load_settings
from clinic_bot.tickets import Ticket, TicketStore

logger = logging.getLogger(__name__)


def _marker(tracker: Tracker) -> str:
    msg = tracker.latest_message or {}
    if msg.get("message_id"):
        return str(msg["message_id"])
    users = [e for e in tracker.events if e.get("event") == "user"]
    return turn_marker(users[-1]) if users else "none"


def _red_flag_categories(tracker: Tracker) -> List[str]:
    """The categories of this turn's red-flag entities that the safety table knows (never free text)."""
    known = load_table().category_urgency
    found = [e.get("value") for e in (tracker.latest_message.get("entities") or []) if e.get("entity") == names.ENTITY_RED_FLAG]
    return [c for c in found if isinstance(c, str) and c in known]


def trigger_text(tracker: Tracker) -> str:
    """The patient's words behind this turn: after a "yes" to the safety check, the checked message."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if intent in (names.INTENT_CHECK_YES, names.INTENT_AFFIRM):
        checked = checked_message(tracker.events)
        if checked is not None:
            return checked.get("text") or ""
    return tracker.latest_message.get("text") or ""


def checked_message(events: List[Dict[Text, Any]]) -> Optional[Dict[Text, Any]]:
    """The latest user event the safety decision answered with a check."""
    for event in reversed(events):
        if event.get("event") == "user" and ((event.get("parse_data") or {}).get("intent") or {}).get("name") == names.INTENT_RED_FLAG_CHECK:
            return event
    return None


def escalation_of(tracker: Tracker, kind: str, category: str = UNSPECIFIED) -> Escalation:
    return Escalation(
        conversation_id=tracker.sender_id,
        kind=kind,
        marker=_marker(tracker),
        channel=tracker.get_latest_input_channel() or "unknown",
        trigger_message=trigger_text(tracker),
        category=category,
    )


def open_ticket(escalation: Escalation, *, notify: bool = True) -> Optional[Ticket]:
    """Write the ticket and (unless told not to) start notifying staff; None if storage failed."""
    try:
        store = TicketStore(get_engine(load_settings().db_url))
        ticket, tell_staff = record(store, escalation)
    except Exception:
        logger.exception("could not record handoff ticket for %s", escalation.conversation_id)
        return None
    if tell_staff and notify:  # a retried or repeated escalation must not notify staff twice
        alert_staff_in_background(store, ticket)
    return ticket


class ActionEscalateRedFlag(Action):
    def name(self) -> Text:
        return "action_escalate_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        category = load_table().most_urgent(_red_flag_categories(tracker)) or tracker.get_slot(names.SLOT_CATEGORY) or UNSPECIFIED
        escalation = escalation_of(tracker, RED_FLAG, category)
        ticket = open_ticket(escalation)
        dispatcher.utter_message(response="utter_handoff_started" if ticket else "utter_handoff_failed")
        if ticket:
            tell_when_staff_reply(dispatcher)
        return handoff_events(escalation, ticket)


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        escalation = escalation_of(tracker, REQUEST_HUMAN)
        ticket = open_ticket(escalation)
        dispatcher.utter_message(response="utter_handoff_routine" if ticket else "utter_handoff_failed")
        if ticket:
            tell_when_staff_reply(dispatcher)
        return handoff_events(escalation, ticket)
