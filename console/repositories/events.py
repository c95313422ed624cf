"""Rasa's SQL tracker-store schema, taken from Rasa itself.

The console reads the very `events` table Rasa's SQLTrackerStore writes
(sender_id, type_name, timestamp, intent_name, action_name, data JSON); it
keeps no copy of the conversations.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import lru_cache
from typing import Any, Dict, Optional, Set

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import Engine

import console  # noqa: F401  (silences SQLAlchemy's 2.0 banner before Rasa's import)
from clinic_bot.db import make_engine

logger = logging.getLogger(__name__)
events_table: sa.Table = SQLTrackerStore.SQLEvent.__table__
# The escalation reconciler's query (console/reconcile.py: one action in the last day); Rasa
# indexes only sender_id, so without it every pass read the whole table (203 ms at 2M events).
ACTION_INDEX = "ix_events_console_action_timestamp"
_indexed: Set[str] = set()
_indexed_lock = threading.Lock()


@lru_cache(maxsize=8)
def tracker_engine(url: str) -> Engine:
    """An engine on Rasa's tracker database: it never changes the file's settings (no
    journal-mode pragma), only waits politely while Rasa writes; erasure runs through
    its connections, which delete securely (clinic_bot.db.make_engine)."""
    return make_engine(url, own_file=False)


def has_events_table(engine: Engine) -> bool:
    """False until Rasa has created its schema (the console may start first)."""
    return sa.inspect(engine).has_table(events_table.name)


def ensure_action_index(engine: Engine) -> None:
    """Add ACTION_INDEX to Rasa's table once per engine (IF NOT EXISTS: every console process
    asks). On PostgreSQL it is built CONCURRENTLY, so Rasa's inserts do not wait for a build
    over millions of rows; a build that failed half way leaves an invalid index, dropped and
    built again. Without the right to index Rasa's table the query still works, by scanning:
    logged, not fatal."""
    key = str(engine.url)
    with _indexed_lock:
        if key in _indexed:
            return
        _indexed.add(key)  # tried once per process, whatever the outcome
    create = f"CREATE INDEX IF NOT EXISTS {ACTION_INDEX} ON {events_table.name} (action_name, timestamp)"
    try:
        if engine.dialect.name != "postgresql":
            with engine.begin() as conn:
                conn.execute(sa.text(create))
            return
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            valid = conn.execute(sa.text("SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(:name)"), {"name": ACTION_INDEX}).scalar()
            if valid is False:
                conn.execute(sa.text(f"DROP INDEX CONCURRENTLY IF EXISTS {ACTION_INDEX}"))
            conn.execute(sa.text(create.replace("CREATE INDEX", "CREATE INDEX CONCURRENTLY")))
    except sa.exc.DBAPIError as exc:
        logger.warning("could not index Rasa's events by action (%s); the escalation reconciler scans them", type(exc.orig).__name__)


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
