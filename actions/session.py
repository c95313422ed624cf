"""Session start: a short disclaimer, and the locale's safety numbers as slots."""

from __future__ import annotations

from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from clinic_bot import names
from clinic_bot.profile import cached_profile

CARRIED_OVER_SLOTS = (names.SLOT_HANDOFF, names.SLOT_CATEGORY, names.SLOT_URGENCY)


class ActionSessionStart(Action):
    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        profile = cached_profile()
        events: List[Dict[Text, Any]] = [SessionStarted()]
        # A person still waiting for staff stays in handoff across a new session.
        for name in CARRIED_OVER_SLOTS:
            value = tracker.get_slot(name)
            if value is not None:
                events.append(SlotSet(name, value))
        events += [SlotSet(k, v) for k, v in profile.locale_slots().items()]
        dispatcher.utter_message(
            response="utter_disclaimer",
            clinic_name=profile.clinic.get("short_name", profile.name),
            emergency_number=profile.locale.emergency_number,
        )
        events.append(ActionExecuted("action_listen"))
        return events
