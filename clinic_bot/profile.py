"""The clinic profile: the only place clinic facts and locale numbers come from."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from clinic_bot.settings import load_settings

REQUIRED_CLINIC_KEYS = ("name", "address", "phone", "email", "opening_hours")
REQUIRED_LOCALE_KEYS = ("emergency_number", "emergency_department", "urgent_advice", "crisis_line")


class ProfileError(ValueError):
    """The clinic profile is missing or malformed; the message says what to fix."""


@dataclass(frozen=True)
class Locale:
    code: str
    emergency_number: str
    emergency_department: str
    urgent_advice: str
    crisis_line: str


@dataclass(frozen=True)
class ClinicProfile:
    clinic: Dict[str, Any]
    locale: Locale

    @property
    def name(self) -> str:
        return self.clinic["name"]

    def opening_hours_lines(self) -> List[str]:
        return [f"{row['days']}: {row['hours']}" for row in self.clinic["opening_hours"]]

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
    missing = [k for k in REQUIRED_LOCALE_KEYS if not loc.get(k)]
    if missing:
        raise ProfileError(f"{source}: locale '{code}' is missing {', '.join(missing)}")
    return ClinicProfile(clinic=clinic, locale=Locale(code=code, **{k: str(loc[k]) for k in REQUIRED_LOCALE_KEYS}))


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
