"""Escalation to a human: red flags (with urgency) and plain requests for a person.

Order matters for safety. The rule for `report_red_flag` sends the safety
message (a domain response, so it still goes out if this server is down) before
this action runs. The action then records the ticket, starts the staff
notification in the background (it never delays the reply) and puts the
conversation into handoff, which pauses FAQ answers until staff resume it.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Set, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.staff_hours import tell_when_staff_reply
from clinic_bot import names
from clinic_bot.db import get_engine
from clinic_bot.notify import notify_ticket
from clinic_bot.safety import UNSPECIFIED, load_table
from clinic_bot.settings import load_settings
from clinic_bot.tickets import Ticket, TicketStore

logger = logging.getLogger(__name__)
_background: Set[asyncio.Task] = set()


def _dedupe_key(tracker: Tracker, kind: str) -> str:
    msg = tracker.latest_message or {}
    marker = msg.get("message_id")
    if not marker:
        users = [e for e in tracker.events if e.get("event") == "user"]
        marker = str(users[-1].get("timestamp")) if users else "none"
    return f"{tracker.sender_id}:{kind}:{marker}"


def _red_flag_categories(tracker: Tracker) -> List[str]:
    return [e.get("value") for e in (tracker.latest_message.get("entities") or []) if e.get("entity") == names.ENTITY_RED_FLAG and e.get("value")]


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


def open_ticket(tracker: Tracker, *, kind: str, category: str, urgency: str, notify: bool = True) -> Optional[Ticket]:
    """Write the ticket and (unless told not to) start notifying staff; None if storage failed."""
    try:
        store = TicketStore(get_engine(load_settings().db_url))
        ticket, created = store.create(
            dedupe_key=_dedupe_key(tracker, kind),
            conversation_id=tracker.sender_id,
            channel=tracker.get_latest_input_channel() or "unknown",
            category=category,
            urgency=urgency,
            trigger_message=trigger_text(tracker),
        )
    except Exception:
        logger.exception("could not record handoff ticket for %s", tracker.sender_id)
        return None
    if created and notify:  # a retried escalation must not notify staff twice
        task = asyncio.get_running_loop().create_task(notify_ticket(store, ticket))
        _background.add(task)
        task.add_done_callback(_background.discard)
    return ticket


class ActionEscalateRedFlag(Action):
    def name(self) -> Text:
        return "action_escalate_red_flag"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        table = load_table()
        category = table.most_urgent(_red_flag_categories(tracker)) or tracker.get_slot(names.SLOT_CATEGORY) or UNSPECIFIED
        urgency = table.urgency_of(category)
        ticket = open_ticket(tracker, kind="red_flag", category=category, urgency=urgency)
        dispatcher.utter_message(response="utter_handoff_started" if ticket else "utter_handoff_failed")
        if ticket:
            tell_when_staff_reply(dispatcher)
        return [
            SlotSet(names.SLOT_CATEGORY, category),
            SlotSet(names.SLOT_URGENCY, urgency),
            SlotSet(names.SLOT_HANDOFF, True),
        ]


class ActionRequestHuman(Action):
    def name(self) -> Text:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        ticket = open_ticket(tracker, kind="request_human", category="request_human", urgency="routine")
        dispatcher.utter_message(response="utter_handoff_routine" if ticket else "utter_handoff_failed")
        if ticket:
            tell_when_staff_reply(dispatcher)
        return [SlotSet(names.SLOT_HANDOFF, True)] if ticket else []
