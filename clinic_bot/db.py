"""Database engine for the project's own tables (tickets, channel state, staff).

SQLite by default; set CLINIC_DB_URL to a PostgreSQL URL to move to a server.
Rasa's conversations live in Rasa's own tracker store (see endpoints.yml).
"""
from __future__ import annotations

import sqlite3
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.settings import load_settings

metadata = sa.MetaData()


def sqlite_wal_on_connect(dbapi_conn: Any, _record: Any) -> None:
    """SQLAlchemy `connect` hook: WAL journal (readers never block the writer) and a
    15 s busy timeout for SQLite files; other databases are left untouched. Used for
    the project's database here and for Rasa's tracker file (clinic_bot/rasa_runtime.py)."""
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA journal_mode=WAL")
    finally:
        cur.close()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, future=True, connect_args={"timeout": 15})
        sa.event.listen(engine, "connect", sqlite_wal_on_connect)
        return engine
    return sa.create_engine(url, future=True, pool_pre_ping=True)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process; creates the project's tables if missing."""
    engine = make_engine(url or load_settings().db_url)
    metadata.create_all(engine)
    return engine
