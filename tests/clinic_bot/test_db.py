"""The project's database engine (clinic_bot/db.py): SQLite files in WAL mode with a
busy timeout, so the staff console reading never blocks a patient's turn writing."""

from __future__ import annotations

import sqlalchemy as sa

from clinic_bot.db import get_engine, make_engine, sqlite_wal_on_connect


def pragma(engine: sa.engine.Engine, name: str):
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_a_sqlite_file_is_created_with_its_folder_in_wal_mode(tmp_path) -> None:
    path = tmp_path / "not" / "yet" / "there" / "clinic.db"
    engine = make_engine(f"sqlite:///{path}")
    assert pragma(engine, "journal_mode") == "wal"
    assert pragma(engine, "busy_timeout") == 15000
    assert path.is_file()


def test_a_reader_in_a_transaction_does_not_block_a_writer(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'clinic.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        conn.exec_driver_sql("INSERT INTO t VALUES (1)")
    reader = engine.connect()
    try:
        reader.exec_driver_sql("BEGIN")
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1
        # the reader still holds its snapshot; in the default journal mode this write
        # would wait for it (and fail after the busy timeout)
        with engine.begin() as writer:
            writer.exec_driver_sql("INSERT INTO t VALUES (2)")
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 1  # its snapshot
        reader.exec_driver_sql("COMMIT")
        assert reader.exec_driver_sql("SELECT count(*) FROM t").scalar() == 2
    finally:
        reader.close()


def test_the_connect_hook_leaves_other_databases_alone() -> None:
    class NotSqlite:
        def cursor(self):  # pragma: no cover - must not be called
            raise AssertionError("the hook ran PRAGMAs on a non-SQLite connection")

    sqlite_wal_on_connect(NotSqlite(), None)


def test_one_engine_per_url(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'one.db'}"
    assert get_engine(url) is get_engine(url)
    assert get_engine(url) is not get_engine(f"sqlite:///{tmp_path / 'two.db'}")
