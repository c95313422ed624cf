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

from clinic_bot.files import PRIVATE_DIR, create_private, make_private
from clinic_bot.settings import load_settings
from clinic_bot.tables import metadata  # also imported from here by table modules and tests


def sqlite_secure_on_connect(dbapi_conn: Any, _record: Any) -> None:
    """SQLAlchemy `connect` hook for every SQLite connection the project opens.

    * `secure_delete=ON`: deleted rows (an erased conversation) are overwritten with
      zeros instead of lingering in free pages. A per-connection setting, set here
      rather than trusting the SQLite build's compile-time default, which differs
      between builds;
    * the database file is made owner-only (0600) if it is looser; SQLite gives its
      -wal/-shm files the same permissions.
    It changes nothing stored in the file, so it also suits the console's reads of
    Rasa's tracker database. Other databases are left untouched."""
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA secure_delete=ON")
        for _seq, name, file in cur.execute("PRAGMA database_list").fetchall():
            if name == "main" and file:
                for suffix in ("", "-wal", "-shm"):
                    make_private(Path(file + suffix))
    finally:
        cur.close()


def sqlite_wal_on_connect(dbapi_conn: Any, _record: Any) -> None:
    """SQLAlchemy `connect` hook: `sqlite_secure_on_connect`, plus WAL journal (readers
    never block the writer) and a 15 s busy timeout for SQLite files; other databases
    are left untouched. Used for the project's database here and for Rasa's tracker
    file (clinic_bot/rasa_runtime.py)."""
    if not isinstance(dbapi_conn, sqlite3.Connection):
        return
    sqlite_secure_on_connect(dbapi_conn, _record)
    cur = dbapi_conn.cursor()
    try:
        cur.execute("PRAGMA busy_timeout=15000")
        cur.execute("PRAGMA journal_mode=WAL")
    finally:
        cur.close()


def make_engine(url: str, *, own_file: bool = True) -> Engine:
    """An engine on one of the project's databases, the one place engines are built.

    `hide_parameters`: a database error names the statement but not its values (a
    patient's message, a phone number) in logs. For SQLite, `own_file` (the project's
    database) also switches the file to WAL; an engine on a file another program owns
    (the console on Rasa's tracker) only deletes securely and waits while it writes,
    from any thread."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        path.parent.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR)
        if own_file and not path.exists():  # created owner-only, before SQLite creates it with the umask's mode
            create_private(path)
        engine = sa.create_engine(
            url, future=True, hide_parameters=True, connect_args={"timeout": 15, **({} if own_file else {"check_same_thread": False})}
        )
        sa.event.listen(engine, "connect", sqlite_wal_on_connect if own_file else sqlite_secure_on_connect)
        return engine
    return sa.create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)


def add_missing_columns(engine: Engine) -> None:
    """Add columns declared on the metadata but missing from existing tables.

    `create_all` creates missing tables but never alters existing ones, so a
    nullable column added to a table in a later version (e.g. a staff display
    name) would be missing from a database made by an earlier one. Only
    nullable columns without server-side logic are added; anything else needs a
    real migration and is left alone."""
    inspector = sa.inspect(engine)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        have = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in have or not column.nullable or column.primary_key:
                continue
            ddl = sa.schema.CreateColumn(column).compile(dialect=engine.dialect)
            with engine.begin() as conn:
                conn.execute(sa.text(f"ALTER TABLE {engine.dialect.identifier_preparer.quote(table.name)} ADD COLUMN {ddl}"))


def create_schema(engine: Engine) -> None:
    """Create the project's tables (and new nullable columns) that are missing.

    Explicit, so no table depends on which module happened to be imported first:
    the shared core's tables are imported here; a process with tables of its own
    (the console, the WhatsApp channel) imports them and calls this again."""
    import clinic_bot.deliveries  # noqa: F401  (their tables join `metadata`; imported here, not at the top,
    import clinic_bot.tickets  # noqa: F401   so that importing the engine does not load the ticket logic)

    metadata.create_all(engine)
    add_missing_columns(engine)


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process, with the shared core's schema in place.

    With no URL, the configured one: resolved on each call, so the cache is keyed by the
    URL actually used (keyed by None, a process whose CLINIC_DB_URL changes, as the test
    session's does, kept the first database's engine)."""
    return _engine_for(url or load_settings().db_url)


@lru_cache(maxsize=8)
def _engine_for(url: str) -> Engine:
    engine = make_engine(url)
    create_schema(engine)
    return engine


def clear_engines() -> None:
    """Forget every cached engine (tests that delete or swap database files)."""
    _engine_for.cache_clear()
