"""Database engine for the project's own tables (tickets, channel state, staff).

SQLite by default; set CLINIC_DB_URL to a PostgreSQL URL to move to a server.
Rasa's conversations live in Rasa's own tracker store (see endpoints.yml).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.settings import load_settings

metadata = sa.MetaData()


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, future=True, connect_args={"timeout": 15})

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=15000")
            cur.close()

        return engine
    return sa.create_engine(url, future=True, pool_pre_ping=True)


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process; creates the project's tables if missing."""
    engine = make_engine(url or load_settings().db_url)
    metadata.create_all(engine)
    return engine
