"""Opening hours from the profile, read in the clinic's time zone: what the
handoff message tells a person about when staff will reply."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml

from clinic_bot.profile import ProfileError, load_profile, parse_profile
from clinic_bot.settings import PROJECT_ROOT

LONDON = ZoneInfo("Europe/London")
RAW = yaml.safe_load((PROJECT_ROOT / "config" / "clinic_profile.yml").read_text(encoding="utf-8"))
HOURS = load_profile().hours


def at(text: str, zone=LONDON) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=zone)


@pytest.mark.parametrize(
    "when,open_now,closes_at,next_open",
    [
        ("2026-12-02T10:00", True, "19:00", None),  # Wednesday morning
        ("2026-12-02T07:59", False, None, "today at 8:00"),  # before opening
        ("2026-12-02T19:00", False, None, "tomorrow at 8:00"),  # closing time is closed
        ("2026-12-04T20:00", False, None, "tomorrow at 9:00"),  # Friday night: Saturday morning
        ("2026-12-05T12:59", True, "13:00", None),  # Saturday
        ("2026-12-05T13:30", False, None, "on Monday at 8:00"),  # Saturday afternoon
        ("2026-12-24T19:30", False, None, "on Saturday at 9:00"),  # Christmas Day (a Friday) is closed
        ("2026-12-26T13:30", False, None, "on Tuesday at 8:00"),  # Sunday, then the Boxing Day holiday (Monday 28th)
    ],
)
def test_open_now_or_when_we_next_open(when: str, open_now: bool, closes_at, next_open) -> None:
    status = HOURS.status(at(when))
    assert (status.open_now, status.closes_at, status.next_open) == (open_now, closes_at, next_open)


def test_the_clinics_clock_not_the_servers() -> None:
    # 07:30 UTC in July is 08:30 in London (summer time): open; in January it is 07:30: not yet
    assert HOURS.status(at("2026-07-01T07:30", timezone.utc)).open_now
    assert not HOURS.status(at("2026-01-07T07:30", timezone.utc)).open_now
    # 18:30 UTC in July is 19:30 in London: closed
    assert not HOURS.status(at("2026-07-01T18:30", timezone.utc)).open_now


def test_a_date_more_than_a_week_away_is_named() -> None:
    raw = copy.deepcopy(RAW)
    raw["clinic"]["closed_dates"] = [f"2027-01-{d:02d}" for d in range(1, 12)]
    status = parse_profile(raw).hours.status(at("2026-12-31T20:00"))
    assert status.next_open == "on Tuesday 12 January at 8:00"


def test_hours_list_is_written_from_the_same_data() -> None:
    assert load_profile().opening_hours_lines() == ["Monday to Friday: 8:00 to 19:00", "Saturday: 9:00 to 13:00", "Sunday and bank holidays: closed"]


@pytest.mark.parametrize(
    "change,message",
    [
        (lambda c: c.update(timezone="Mars/Olympus"), "not a known time zone"),
        (lambda c: c.update(opening_hours=[{"days": ["mon"], "opens": "19:00", "closes": "08:00"}]), "opens at 19:00 but closes at 8:00"),
        (lambda c: c.update(opening_hours=[{"days": ["funday"], "opens": "08:00", "closes": "19:00"}]), "unknown days"),
        (lambda c: c.update(opening_hours=[{"days": ["mon"], "opens": "8am", "closes": "19:00"}]), "expected a time like 08:00"),
        (lambda c: c.update(closed_dates=["next tuesday"]), "closed_dates"),
    ],
)
def test_bad_hours_say_what_to_fix(change, message: str) -> None:
    raw = copy.deepcopy(RAW)
    change(raw["clinic"])
    with pytest.raises(ProfileError, match=message):
        parse_profile(raw)


def test_a_locale_needs_its_doctor_and_crisis_contacts() -> None:
    raw = copy.deepcopy(RAW)
    del raw["locales"]["uk"]["crisis_contacts"]
    with pytest.raises(ProfileError, match="crisis_contacts"):
        parse_profile(raw)
