"""Clinic information (hours, location, contact, booking) from the clinic profile."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from clinic_bot.profile import ClinicProfile, cached_profile


def _hours(p: ClinicProfile) -> str:
    lines = "\n".join(f"• {line}" for line in p.opening_hours_lines())
    return f"Our opening hours:\n{lines}"


def _location(p: ClinicProfile) -> str:
    text = f"You'll find us at {p.clinic['address']}."
    if p.clinic.get("directions"):
        text += f" {p.clinic['directions']}"
    return text


def _contact(p: ClinicProfile) -> str:
    return f"You can call us on {p.clinic['phone']} or email {p.clinic['email']}. " + p.clinic.get("staff_reply_hours", "")


def _booking(p: ClinicProfile) -> str:
    text = f"To book, change or cancel an appointment, call {p.clinic['phone']}"
    if p.clinic.get("booking_url"):
        text += f" or book online at {p.clinic['booking_url']}"
    text += "."
    if p.clinic.get("booking_note"):
        text += f" {p.clinic['booking_note']}"
    return text


ANSWERS: Dict[str, Callable[[ClinicProfile], str]] = {
    "clinic_hours": _hours,
    "clinic_location": _location,
    "clinic_contact": _contact,
    "clinic_booking": _booking,
}


class ActionClinicInfo(Action):
    def name(self) -> Text:
        return "action_clinic_info"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        answer = ANSWERS.get(intent or "", _contact)
        dispatcher.utter_message(text=answer(cached_profile()).strip())
        return []
