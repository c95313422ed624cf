"""When staff will answer: the message after a handoff, true to the opening hours.

A person handed to staff must know whether someone is there now or, out of
hours, when we open and what to do meanwhile. The hours and time zone come
from the clinic profile; the wording is domain responses (domain/core.yml).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from rasa_sdk.executor import CollectingDispatcher

from clinic_bot.profile import ClinicProfile, cached_profile

OPEN = "utter_staff_reply_open"
CLOSED = "utter_staff_reply_closed"


def now() -> datetime:
    """The current time (a function, so tests can set the clock)."""
    return datetime.now(timezone.utc)


def tell_when_staff_reply(dispatcher: CollectingDispatcher, profile: Optional[ClinicProfile] = None, at: Optional[datetime] = None) -> str:
    """Say whether staff are in now (until when) or when we next open; returns the response used."""
    status = (profile or cached_profile()).hours.status(at or now())
    if status.open_now:
        dispatcher.utter_message(response=OPEN, closes_at=status.closes_at)
        return OPEN
    dispatcher.utter_message(response=CLOSED, next_open=status.next_open or "as soon as we can")
    return CLOSED
