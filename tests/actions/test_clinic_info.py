from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.clinic_info import ActionClinicInfo
from clinic_bot.profile import ProfileError, cached_profile, parse_profile
from tests.actions.conftest import make_tracker


@pytest.mark.parametrize(
    "intent,needle",
    [
        ("clinic_hours", "Monday to Friday"),
        ("clinic_location", "Example Street"),
        ("clinic_contact", "01632 960 123"),
        ("clinic_booking", "book"),
    ],
)
async def test_clinic_answers_come_from_the_profile(intent: str, needle: str) -> None:
    dispatcher = CollectingDispatcher()
    await ActionClinicInfo().run(dispatcher, make_tracker("q", intent), {})
    assert needle in dispatcher.messages[0]["text"]


def test_profile_errors_say_what_to_fix() -> None:
    with pytest.raises(ProfileError, match="missing 'clinic'"):
        parse_profile({})
    good = {"clinic": dict(cached_profile().clinic), "locale": "fr", "locales": {"uk": {}}}
    with pytest.raises(ProfileError, match="locale 'fr'"):
        parse_profile(good)


def test_us_locale_switches_every_safety_number() -> None:
    raw = {
        "clinic": dict(cached_profile().clinic),
        "locale": "us",
        "locales": {
            "us": {
                "emergency_number": "911",
                "emergency_department": "the ER",
                "urgent_advice": "urgent care",
                "crisis_line": "988",
                "doctor": "doctor",
                "crisis_contacts": ["call or text 988"],
            }
        },
    }
    profile = parse_profile(raw)
    assert profile.locale_slots()["emergency_number"] == "911"
    assert (profile.locale.doctor, profile.locale.crisis_contacts) == ("doctor", ("call or text 988",))
