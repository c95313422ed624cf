"""SQLite connections delete securely and keep database files owner-only (issue 11, item 8 and low).

Probe: secure deletion was on only because this SQLite build compiles it in;
databases were created world-readable (0644).
"""

from __future__ import annotations

import os
import sqlite3
import stat

import sqlalchemy as sa

from clinic_bot.db import make_engine, sqlite_wal_on_connect


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _secure_delete(conn) -> int:
    return conn.execute("PRAGMA secure_delete").fetchone()[0]


def _turn_off(dbapi_conn, _record) -> None:  # a build whose default is off
    dbapi_conn.execute("PRAGMA secure_delete=OFF")


def test_the_connect_hook_sets_secure_delete_itself(tmp_path):
    conn = sqlite3.connect(tmp_path / "x.db")
    conn.execute("PRAGMA secure_delete=OFF")
    sqlite_wal_on_connect(conn, None)
    assert _secure_delete(conn) == 1


def test_project_engine_connections_delete_securely(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'clinic.db'}")
    sa.event.listen(engine, "connect", _turn_off, insert=True)
    raw = engine.raw_connection()
    try:
        assert _secure_delete(raw.driver_connection if hasattr(raw, "driver_connection") else raw.connection) == 1
    finally:
        raw.close()


def test_console_tracker_connections_delete_securely(tmp_path):
    from console.repositories.events import tracker_engine

    engine = tracker_engine(f"sqlite:///{tmp_path / 'tracker.db'}")
    sa.event.listen(engine, "connect", _turn_off, insert=True)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA secure_delete").scalar() == 1


def test_database_files_and_folders_are_owner_only(tmp_path):
    old = os.umask(0o022)
    try:
        engine = make_engine(f"sqlite:///{tmp_path / 'new' / 'clinic.db'}")
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x)")
        assert _mode(tmp_path / "new") == 0o700
        for name in ("clinic.db", "clinic.db-wal", "clinic.db-shm"):
            if (tmp_path / "new" / name).exists():
                assert _mode(tmp_path / "new" / name) == 0o600, name
        # a database left world-readable by an earlier version is tightened on connect
        loose = tmp_path / "loose.db"
        sqlite3.connect(loose).execute("CREATE TABLE t (x)")
        os.chmod(loose, 0o644)
        with make_engine(f"sqlite:///{loose}").connect():
            pass
        assert _mode(loose) == 0o600
    finally:
        os.umask(old)
