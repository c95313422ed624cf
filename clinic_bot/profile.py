"""The clinic profile: the only place clinic facts and locale numbers come from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from clinic_bot.opening_hours import HoursError, OpeningHours, parse_hours
from clinic_bot.settings import load_settings

REQUIRED_CLINIC_KEYS = ("name", "address", "phone", "email", "timezone", "opening_hours")
# the four safety numbers every safety message reads (set as slots at each session start)
REQUIRED_LOCALE_KEYS = ("emergency_number", "emergency_department", "urgent_advice", "crisis_line")
# what the answers and the crisis message also name: the family doctor, and every crisis contact
REQUIRED_LOCALE_EXTRAS = ("doctor", "crisis_contacts")


class ProfileError(ValueError):
    """The clinic profile is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class Locale:
    code: str
    emergency_number: str
    emergency_department: str
    urgent_advice: str
    crisis_line: str
    doctor: str = "GP"
    crisis_contacts: Tuple[str, ...] = ()


@dataclass(frozen=True)
class ClinicProfile:
    clinic: Dict[str, Any]
    locale: Locale
    hours: OpeningHours

    @property
    def name(self) -> str:
        return self.clinic["name"]

    def opening_hours_lines(self) -> List[str]:
        return self.hours.lines()

    def locale_slots(self) -> Dict[str, str]:
        """Values the dialogue interpolates into safety messages."""
        return {
            "emergency_number": self.locale.emergency_number,
            "emergency_department": self.locale.emergency_department,
            "urgent_advice": self.locale.urgent_advice,
            "crisis_line": self.locale.crisis_line,
        }


def parse_profile(raw: Any, source: str = "clinic profile") -> ClinicProfile:
    if not isinstance(raw, dict):
        raise ProfileError(f"{source}: expected a mapping at the top level")
    clinic = raw.get("clinic")
    if not isinstance(clinic, dict):
        raise ProfileError(f"{source}: missing 'clinic' section")
    missing = [k for k in REQUIRED_CLINIC_KEYS if not clinic.get(k)]
    if missing:
        raise ProfileError(f"{source}: clinic is missing {', '.join(missing)}")
    code = str(raw.get("locale", "uk"))
    locales = raw.get("locales") or {}
    if code not in locales:
        raise ProfileError(f"{source}: locale '{code}' has no entry under 'locales' (have: {', '.join(locales) or 'none'})")
    loc = locales[code]
    missing = [k for k in REQUIRED_LOCALE_KEYS + REQUIRED_LOCALE_EXTRAS if not loc.get(k)]
    if missing:
        raise ProfileError(f"{source}: locale '{code}' is missing {', '.join(missing)}")
    contacts = loc["crisis_contacts"]
    if not isinstance(contacts, list) or not all(isinstance(c, str) and c.strip() for c in contacts):
        raise ProfileError(f"{source}: locale '{code}' crisis_contacts must be a list of texts")
    try:
        hours = parse_hours(clinic)
    except HoursError as e:
        raise ProfileError(f"{source}: {e}") from None
    locale = Locale(
        code=code,
        doctor=str(loc["doctor"]),
        crisis_contacts=tuple(c.strip() for c in contacts),
        **{k: str(loc[k]) for k in REQUIRED_LOCALE_KEYS},
    )
    return ClinicProfile(clinic=clinic, locale=locale, hours=hours)


def load_profile(path: Optional[Path] = None) -> ClinicProfile:
    path = Path(path or load_settings().profile_path)
    if not path.is_file():
        raise ProfileError(f"clinic profile not found at {path} (set CLINIC_PROFILE)")
    with path.open(encoding="utf-8") as fh:
        return parse_profile(yaml.safe_load(fh), source=str(path))


@lru_cache(maxsize=1)
def cached_profile() -> ClinicProfile:
    """The profile for long-running processes (action server, console)."""
    return load_profile()
