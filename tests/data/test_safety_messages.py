"""Safety messages per category (issue 14): every red-flag category of the one
table meets exactly one message, with the table's urgency; stroke and chest
pain say call and don't drive, cauda equina says go now and don't wait for an
appointment, and the crisis message gives every crisis contact of the locale."""

from __future__ import annotations

import pytest
from rasa.core.nlg.generator import ResponseVariationFilter
from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain

from clinic_bot import names
from clinic_bot.safety import UNSPECIFIED, load_table
from tests.data.rendering import LOCALES, ROOT, profile_for, values_for

TABLE = load_table()
DOMAIN = Domain.load(str(ROOT / "domain"))
SAFETY = DOMAIN.responses[names.UTTER_SAFETY]


def slots_for(category: str, about: str) -> dict:
    """The slots the NLU sets on an escalation (components/red_flags: category, urgency, about)."""
    urgency = UNSPECIFIED if category == UNSPECIFIED else TABLE.urgency_of(category)
    return {names.SLOT_CATEGORY: category, names.SLOT_URGENCY: urgency, names.SLOT_ABOUT: about}


def matching(category: str, about: str) -> list:
    filled = slots_for(category, about)
    return [v for v in SAFETY if v.get("condition") and ResponseVariationFilter._matches_filled_slots(filled, v)]


def message(category: str, about: str, locale: str) -> dict:
    nlg = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    return nlg.generate_from_slots(names.UTTER_SAFETY, {**values_for(locale), **slots_for(category, about)}, "rest")


@pytest.mark.parametrize("about", ["self", "other"])
@pytest.mark.parametrize("category", [c for c in TABLE.category_urgency if c != UNSPECIFIED])
def test_every_category_meets_exactly_one_message_with_its_urgency(category: str, about: str) -> None:
    (variant,) = matching(category, about)
    assert variant["metadata"]["urgency"] == TABLE.urgency_of(category)


def test_no_category_gets_the_broad_message() -> None:
    assert not matching(UNSPECIFIED, "self")
    (default,) = [v for v in SAFETY if not v.get("condition")]
    assert "{crisis_line}" in default["text"] and "{emergency_number}" in default["text"]


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("category", ["chest_or_breathing", "vascular_neck"])
def test_stroke_or_chest_pain_says_call_now_and_dont_drive(category: str, locale: str) -> None:
    number = profile_for(locale).locale.emergency_number
    mine, theirs = message(category, "self", locale)["text"], message(category, "other", locale)["text"]
    assert f"call {number} now" in mine and "Don't drive yourself" in mine
    assert f"call {number} for them now" in theirs and "Don't let them drive" in theirs


@pytest.mark.parametrize("locale", LOCALES)
def test_cauda_equina_says_go_now_and_dont_wait_for_an_appointment(locale: str) -> None:
    loc = profile_for(locale).locale
    mine, theirs = message("cauda_equina", "self", locale)["text"], message("cauda_equina", "other", locale)["text"]
    assert f"go to {loc.emergency_department} now" in mine and loc.emergency_number in mine
    assert f"get them to {loc.emergency_department} now" in theirs and f"call {loc.emergency_number} for them" in theirs
    assert "Don't wait for an appointment" in mine and "Don't wait for an appointment" in theirs


CRISIS = {"uk": ("116 123", "111", "option 2", "text SHOUT to 85258", "999"), "us": ("988", "911")}


@pytest.mark.parametrize("locale", LOCALES)
def test_crisis_message_gives_every_crisis_contact_of_the_locale(locale: str) -> None:
    for about in ("self", "other"):
        text = message("self_harm", about, locale)["text"]
        for needle in CRISIS[locale]:
            assert needle in text, (about, needle)
        for needle in {n for other in CRISIS if other != locale for n in CRISIS[other]} - set(CRISIS[locale]):
            assert needle not in text, (about, needle)
    mine = message("self_harm", "self", locale)["text"]
    assert f"If you have already hurt yourself, or you might act on these thoughts, call {profile_for(locale).locale.emergency_number} now" in mine


def test_a_category_the_table_moves_out_of_emergency_gets_its_new_urgencys_message() -> None:
    """The category only words a message within its urgency; the urgency itself comes from the table."""
    filled = {names.SLOT_CATEGORY: "cauda_equina", names.SLOT_URGENCY: "urgent", names.SLOT_ABOUT: "self"}
    (variant,) = [v for v in SAFETY if v.get("condition") and ResponseVariationFilter._matches_filled_slots(filled, v)]
    assert variant["metadata"]["urgency"] == "urgent" and "today" in variant["text"]
