"""When the clinic is open, in the clinic's own time zone.

The handoff message must tell the truth about when staff will answer, so the
hours are data (config/clinic_profile.yml), read here, and checked against the
clock in the clinic's zone rather than the server's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Dict, FrozenSet, List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class HoursError(ValueError):
    """The opening hours in the profile cannot be read; the message says what to fix."""


@dataclass(frozen=True)
class Session:
    days: Tuple[int, ...]  # 0 = Monday
    opens: time
    closes: time


@dataclass(frozen=True)
class HoursStatus:
    open_now: bool
    closes_at: Optional[str] = None  # "19:00" when open now
    next_open: Optional[str] = None  # "tomorrow at 8:00" when closed now


def _clock(value: Any, where: str) -> time:
    try:
        hours, minutes = str(value).split(":")
        return time(int(hours), int(minutes))
    except (ValueError, TypeError):
        raise HoursError(f"{where}: expected a time like 08:00, got {value!r}") from None


def show(t: time) -> str:
    return f"{t.hour}:{t.minute:02d}"


@dataclass(frozen=True)
class OpeningHours:
    zone: ZoneInfo
    sessions: Tuple[Session, ...]
    closed_dates: FrozenSet[date]
    closed_label: str  # how the days it is closed are named, e.g. "Sunday and bank holidays"

    def lines(self) -> List[str]:
        """'Monday to Friday: 8:00 to 19:00' lines, closed days last."""
        out = [f"{_day_range(s.days)}: {show(s.opens)} to {show(s.closes)}" for s in self.sessions]
        if self.closed_label:
            out.append(f"{self.closed_label}: closed")
        return out

    def _sessions_on(self, day: date) -> List[Session]:
        if day in self.closed_dates:
            return []
        return sorted((s for s in self.sessions if day.weekday() in s.days), key=lambda s: s.opens)

    def status(self, now: Optional[datetime] = None) -> HoursStatus:
        """Open now (and until when), or when it next opens, in the clinic's zone."""
        local = (now or datetime.now(tz=self.zone)).astimezone(self.zone)
        for s in self._sessions_on(local.date()):
            if s.opens <= local.time() < s.closes:
                return HoursStatus(True, closes_at=show(s.closes))
        for ahead in range(0, 370):
            day = local.date() + timedelta(days=ahead)
            for s in self._sessions_on(day):
                if ahead > 0 or local.time() < s.opens:
                    return HoursStatus(False, next_open=f"{_when(ahead, day)} at {show(s.opens)}")
        return HoursStatus(False)


def _when(ahead: int, day: date) -> str:
    if ahead == 0:
        return "today"
    if ahead == 1:
        return "tomorrow"
    name = DAY_NAMES[day.weekday()]
    return f"on {name}" if ahead < 7 else f"on {name} {day.day} {day.strftime('%B')}"


def _day_range(days: Sequence[int]) -> str:
    days = sorted(days)
    if len(days) > 2 and days == list(range(days[0], days[-1] + 1)):
        return f"{DAY_NAMES[days[0]]} to {DAY_NAMES[days[-1]]}"
    names = [DAY_NAMES[d] for d in days]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def parse_hours(clinic: Dict[str, Any]) -> OpeningHours:
    """Read `timezone`, `opening_hours`, `closed` and `closed_dates` from the profile's clinic block."""
    try:
        zone = ZoneInfo(str(clinic.get("timezone") or ""))
    except (ZoneInfoNotFoundError, ValueError):
        raise HoursError(f"timezone {clinic.get('timezone')!r} is not a known time zone (e.g. Europe/London)") from None
    sessions = []
    for i, row in enumerate(clinic.get("opening_hours") or []):
        where = f"opening_hours[{i}]"
        if not isinstance(row, dict) or not row.get("days"):
            raise HoursError(f"{where}: needs days, opens and closes")
        unknown = [d for d in row["days"] if str(d).lower()[:3] not in DAYS]
        if unknown:
            raise HoursError(f"{where}: unknown days {unknown} (use {', '.join(DAYS)})")
        opens, closes = _clock(row.get("opens"), where), _clock(row.get("closes"), where)
        if opens >= closes:
            raise HoursError(f"{where}: opens at {show(opens)} but closes at {show(closes)}")
        sessions.append(Session(tuple(DAYS.index(str(d).lower()[:3]) for d in row["days"]), opens, closes))
    if not sessions:
        raise HoursError("opening_hours: list at least one day with opens and closes")
    try:
        closed_dates = frozenset(d if isinstance(d, date) else date.fromisoformat(str(d)) for d in clinic.get("closed_dates") or [])
    except ValueError as e:
        raise HoursError(f"closed_dates: {e}") from None
    return OpeningHours(zone, tuple(sessions), closed_dates, str(clinic.get("closed") or ""))
