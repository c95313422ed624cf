"""The console's summary tables: per-conversation facts derived from Rasa's events.

Aggregating the whole events table on every page costs seconds at 100,000
conversations, so the indexer (console/repositories/summaries.py) keeps these
rows up to date and the pages read them (console/repositories/summary_reads.py).
They live in the project's database (CLINIC_DB_URL) next to the handoff
tickets they are joined with, on the shared metadata. Every table is named
`summary_*`: they hold nothing that cannot be rebuilt from the events table, so
the migration tool skips them, and every one but the state row carries the
`sender_id`, so erasure finds them (console/repositories/erasure.py).
"""

from __future__ import annotations

import logging
import threading
from typing import Set

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.db import metadata

logger = logging.getLogger(__name__)

conversations_table = sa.Table(
    "summary_conversations",
    metadata,
    sa.Column("sender_id", sa.String(255), primary_key=True),
    sa.Column("ref", sa.String(32), nullable=False, index=True),  # console/refs.py: resolves a URL without hashing every id
    sa.Column("first_at", sa.Float, nullable=False),
    sa.Column("last_at", sa.Float, nullable=False),
    sa.Column("user_messages", sa.Integer, nullable=False),
    sa.Column("channel", sa.String(64), nullable=False),  # the last user message's input channel
    sa.Column("escalated", sa.Boolean, nullable=False),  # handoff was ever on (tickets are joined on read)
    sa.Column("in_handoff", sa.Boolean, nullable=False),
    sa.Column("event_count", sa.Integer, nullable=False),  # with last_event_id: has this conversation changed since?
    sa.Column("last_event_id", sa.Integer, nullable=False),
    sa.Column("unanswered", sa.Integer, nullable=False),  # all of its unanswered messages: the filter without a date range
)
# The list's order (most recent first) and its channel filter.
sa.Index("ix_summary_conversations_recent", conversations_table.c.last_at.desc(), conversations_table.c.sender_id)
sa.Index("ix_summary_conversations_channel", conversations_table.c.channel, conversations_table.c.last_at.desc())

# One row per user or bot message with text, for the search box.
messages_table = sa.Table(
    "summary_messages",
    metadata,
    sa.Column("event_id", sa.Integer, primary_key=True),
    sa.Column("sender_id", sa.String(255), nullable=False, index=True),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("folded", sa.Text, nullable=False),  # str.casefold() of the text, as the search compares
)

# The unanswered-questions report's items (console/repositories/unanswered.py decides which).
unanswered_table = sa.Table(
    "summary_unanswered",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),  # in event order within a conversation
    sa.Column("sender_id", sa.String(255), nullable=False),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("info", sa.Text, nullable=False),  # the UserMessageInfo, as JSON
    sa.Column("normalised", sa.Text, nullable=False),  # unanswered.normalise(text): the report groups by it ("" = not shown)
    sa.Column("group_key", sa.String(40), nullable=False),  # its SHA-1: indexable whatever the text's length
    sa.Index("ix_summary_unanswered_sender", "sender_id", "at"),
    sa.Index("ix_summary_unanswered_group", "group_key", "at"),
)

# The indexer's progress; one row per source (the name), locked while a pass writes.
state_table = sa.Table(
    "summary_state",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("cursor", sa.BigInteger, nullable=False),  # highest event id processed
    sa.Column("window_sig", sa.String(64), nullable=False),  # "count:sum" of the ids above cursor - OVERLAP_IDS, last pass
    sa.Column("fingerprint", sa.String(128), nullable=False),  # the settings the rows were computed with
    sa.Column("updated_at", sa.Float, nullable=False),
)

DATA_TABLES = (conversations_table, messages_table, unanswered_table)
TRGM_INDEX = "ix_summary_messages_folded_trgm"
_ready: Set[str] = set()
_ready_lock = threading.Lock()


def create_summary_tables(engine: Engine) -> None:
    """Create the tables once per engine; on PostgreSQL also a trigram index for the search
    (`LIKE '%word%'` then uses it). Without the pg_trgm extension (no right to create it)
    the search still works, by scanning: logged, not fatal."""
    key = str(engine.url)
    with _ready_lock:
        if key in _ready:
            return
        _drop_outdated(engine)
        metadata.create_all(engine, tables=[*DATA_TABLES, state_table])
        if engine.dialect.name == "postgresql":
            _create_trigram_index(engine)
        _ready.add(key)


def _drop_outdated(engine: Engine) -> None:
    """Tables created by an older console lack columns added since: drop them all (nothing in
    them is lost, they are rebuilt from the events) and the state row with them, so the
    next pass rebuilds. create_all only ever adds missing tables."""
    inspector = sa.inspect(engine)
    outdated = [
        t.name for t in DATA_TABLES if inspector.has_table(t.name) and {c.name for c in t.c} - {c["name"] for c in inspector.get_columns(t.name)}
    ]
    if not outdated:
        return
    logger.warning("summary tables from an older console (%s): dropping them to rebuild", ", ".join(outdated))
    with engine.begin() as conn:
        for table in (*DATA_TABLES, state_table):
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table.name}"))


def _create_trigram_index(engine: Engine) -> None:
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON {messages_table.name} USING gin (folded gin_trgm_ops)"))
    except sa.exc.DBAPIError as exc:
        logger.warning("no trigram index for the conversation search (pg_trgm: %s); searches scan the messages", type(exc.orig).__name__)
