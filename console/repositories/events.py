"""Rasa's SQL tracker-store schema, taken from Rasa itself.

The console reads the very `events` table Rasa's SQLTrackerStore writes
(sender_id, type_name, timestamp, intent_name, action_name, data JSON); it
keeps no copy of the conversations.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any, Dict, Optional

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import Engine

import console  # noqa: F401  (silences SQLAlchemy's 2.0 banner before Rasa's import)
from clinic_bot.db import make_engine

events_table: sa.Table = SQLTrackerStore.SQLEvent.__table__


@lru_cache(maxsize=8)
def tracker_engine(url: str) -> Engine:
    """An engine on Rasa's tracker database: it never changes the file's settings (no
    journal-mode pragma), only waits politely while Rasa writes; erasure runs through
    its connections, which delete securely (clinic_bot.db.make_engine)."""
    return make_engine(url, own_file=False)


def has_events_table(engine: Engine) -> bool:
    """False until Rasa has created its schema (the console may start first)."""
    return sa.inspect(engine).has_table(events_table.name)


def create_events_table(engine: Engine) -> None:
    """Create Rasa's schema exactly as Rasa would (tests and fresh installs)."""
    SQLTrackerStore.Base.metadata.create_all(engine)


def event_data(raw: Optional[str]) -> Dict[str, Any]:
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def in_time_range(q: Any, start: Optional[float], end: Optional[float]) -> Any:
    """Restrict a query on the events table to [start, end) (either may be open)."""
    if start is not None:
        q = q.where(events_table.c.timestamp >= start)
    if end is not None:
        q = q.where(events_table.c.timestamp < end)
    return q
