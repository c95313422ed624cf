"""The console's own tables, on the project's shared metadata (CLINIC_DB_URL).

Times are stored as UTC epoch seconds (floats), like Rasa's event timestamps,
so comparisons behave the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.db import create_schema, get_engine, metadata

users_table = sa.Table(
    "console_users",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("username", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("disabled_at", sa.Float, nullable=True),
    # What patients see on a staff reply (never the login name); None: from the username.
    sa.Column("display_name", sa.String(64), nullable=True),
)

# Server-side sessions: the cookie carries a random token (signed); only its
# SHA-256 is stored, so a copy of the database cannot be replayed as a login.
sessions_table = sa.Table(
    "console_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("user_id", sa.Integer, nullable=False, index=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("last_seen_at", sa.Float, nullable=False),
    sa.Column("flash", sa.Text, nullable=True),
)

# Failed-login counters, one row per key ("user:<name>" or "ip:<address>").
login_failures_table = sa.Table(
    "console_login_failures",
    metadata,
    sa.Column("key", sa.String(128), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False, default=0),
    sa.Column("last_failure_at", sa.Float, nullable=False),
    sa.Column("locked_until", sa.Float, nullable=False, default=0.0),
)

audit_table = sa.Table(
    "console_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("actor", sa.String(64), nullable=False),
    sa.Column("action", sa.String(32), nullable=False, index=True),
    # The conversation (sender id) acted on; replaced by a keyed pseudonym when
    # the conversation is erased, so the log keeps no phone number.
    sa.Column("subject", sa.String(255), nullable=True, index=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("ip", sa.String(64), nullable=True),
)


def console_engine(url: str) -> Engine:
    """The project's database with the console's tables in place (explicitly, not by import order)."""
    engine = get_engine(url)
    create_schema(engine)
    return engine
