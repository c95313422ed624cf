"""The conversation list's filters, as they travel in a page's query string."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from datetime import time as dtime
from typing import Any, Mapping, Optional, Tuple
from urllib.parse import urlencode
from zoneinfo import ZoneInfo


@dataclass
class Filters:
    channel: str = ""
    date_from: Optional[date] = None
    date_to: Optional[date] = None
    escalated: str = ""  # "" any | "yes" | "no"
    unanswered: str = ""  # "" any | "yes" | "no"
    q: str = ""
    page: int = 1

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> "Filters":
        def one(name: str) -> str:
            value = args.get(name)
            if isinstance(value, list):
                value = value[0] if value else ""
            return str(value or "").strip()

        def day(name: str) -> Optional[date]:
            try:
                return date.fromisoformat(one(name)) if one(name) else None
            except ValueError:
                return None

        try:
            page = max(1, int(one("page") or 1))
        except ValueError:
            page = 1
        tri = lambda v: v if v in ("yes", "no") else ""  # noqa: E731
        return cls(
            channel=one("channel")[:64],
            date_from=day("from"),
            date_to=day("to"),
            escalated=tri(one("escalated")),
            unanswered=tri(one("unanswered")),
            q=one("q")[:200],
            page=page,
        )

    def query(self, **override: Any) -> str:
        values = {
            "channel": self.channel,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "escalated": self.escalated,
            "unanswered": self.unanswered,
            "q": self.q,
            "page": self.page if self.page > 1 else "",
        }
        values.update(override)
        return urlencode({k: v for k, v in values.items() if v not in ("", None)})

    def time_range(self, tz: ZoneInfo) -> Tuple[Optional[float], Optional[float]]:
        """[start, end) in epoch seconds; dates are the clinic's local days, `to` inclusive."""
        start = datetime.combine(self.date_from, dtime.min, tz).timestamp() if self.date_from else None
        end = datetime.combine(self.date_to + timedelta(days=1), dtime.min, tz).timestamp() if self.date_to else None
        return start, end

    @property
    def active(self) -> bool:
        return bool(self.channel or self.date_from or self.date_to or self.escalated or self.unanswered or self.q)
