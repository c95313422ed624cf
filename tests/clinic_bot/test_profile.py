"""The clinic profile (clinic_bot/profile.py): the shipped file is valid, a broken
one is refused with a message that says what to fix, and the locale decides every
safety number the dialogue gives."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

from clinic_bot.profile import REQUIRED_CLINIC_KEYS, REQUIRED_LOCALE_KEYS, ProfileError, load_profile, parse_profile

SHIPPED = Path(__file__).resolve().parents[2] / "config" / "clinic_profile.yml"


@pytest.fixture
def raw() -> Dict[str, Any]:
    return yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))


def test_the_shipped_profile_loads_with_the_uk_numbers() -> None:
    profile = load_profile(SHIPPED)
    assert profile.name == "Riverside Spine & Physio (example clinic)"
    assert profile.locale.code == "uk"
    assert profile.locale_slots() == {
        "emergency_number": "999",
        "emergency_department": "A&E",
        "urgent_advice": "NHS 111 (call 111 or use 111 online) or your GP",
        "crisis_line": "Samaritans on 116 123 (free, 24 hours)",
    }


def test_opening_hours_are_one_line_per_row(raw) -> None:
    assert parse_profile(raw).opening_hours_lines() == [
        "Monday to Friday: 8:00 to 19:00",
        "Saturday: 9:00 to 13:00",
        "Sunday and bank holidays: closed",
    ]


def test_switching_the_locale_changes_every_safety_number(raw) -> None:
    uk = parse_profile(raw).locale_slots()
    raw["locale"] = "us"
    us = parse_profile(raw).locale_slots()
    assert us["emergency_number"] == "911" and "988" in us["crisis_line"]
    assert set(us) == set(uk) == set(REQUIRED_LOCALE_KEYS)
    assert all(us[k] != uk[k] for k in REQUIRED_LOCALE_KEYS)


def test_the_locale_defaults_to_uk(raw) -> None:
    del raw["locale"]
    assert parse_profile(raw).locale.code == "uk"


def test_numbers_written_as_yaml_numbers_become_text(raw) -> None:
    raw["locales"]["uk"]["emergency_number"] = 999
    assert parse_profile(raw).locale.emergency_number == "999"


@pytest.mark.parametrize("key", REQUIRED_CLINIC_KEYS)
def test_each_missing_clinic_fact_is_named(raw, key) -> None:
    broken = copy.deepcopy(raw)
    broken["clinic"][key] = ""
    with pytest.raises(ProfileError, match=f"clinic is missing {key}"):
        parse_profile(broken, source="test.yml")


@pytest.mark.parametrize("key", REQUIRED_LOCALE_KEYS)
def test_each_missing_locale_number_is_named(raw, key) -> None:
    del raw["locales"]["uk"][key]
    with pytest.raises(ProfileError, match=f"locale 'uk' is missing {key}"):
        parse_profile(raw)


def test_an_unknown_locale_lists_the_known_ones(raw) -> None:
    raw["locale"] = "fr"
    with pytest.raises(ProfileError, match=r"locale 'fr' has no entry under 'locales' \(have: uk, us\)"):
        parse_profile(raw)


@pytest.mark.parametrize("bad", [None, [], "clinic: x"])
def test_a_profile_that_is_not_a_mapping_is_refused(bad) -> None:
    with pytest.raises(ProfileError, match="test.yml: expected a mapping"):
        parse_profile(bad, source="test.yml")


def test_a_missing_file_says_which_setting_points_to_it(tmp_path) -> None:
    with pytest.raises(ProfileError, match="not found at .*nowhere.yml.*CLINIC_PROFILE"):
        load_profile(tmp_path / "nowhere.yml")


def test_the_profile_path_comes_from_clinic_profile(tmp_path, monkeypatch, raw) -> None:
    raw["clinic"]["name"] = "Another Clinic"
    path = tmp_path / "profile.yml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setenv("CLINIC_PROFILE", str(path))
    assert load_profile().name == "Another Clinic"
