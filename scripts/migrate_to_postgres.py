#!/usr/bin/env python
"""Move a clinic from the embedded SQLite default (`make run`) to PostgreSQL, losing nothing.

The SQLite deployment keeps two files in the data folder: the project's database
(CLINIC_DB_URL, default var/clinic.db: tickets, deliveries, WhatsApp claims, staff,
audit) and Rasa's tracker (RASA_TRACKER_DB, default var/tracker.db: the `events` table).
The cluster keeps both in one PostgreSQL database, so both are copied into one:
`ScaleOutServices.postgres_url(POSTGRES_DB)` (created if missing) or `--to URL`.

Why it is built this way:
* the schema comes from the project's own code (`create_schema` with every table
  module imported) and from Rasa's (`create_events_table`), so the target is exactly
  what the running services would create, never a hand-written copy;
* rows keep their primary keys (tickets are referred to by id, events are replayed in
  id order), are inserted in dependency order with ON CONFLICT DO NOTHING, so a second
  run copies nothing twice and a later run copies only what SQLite gained since; the
  sequences are then moved past the largest id, or the next ticket would collide;
* SQLite stores values loosely (a timestamp is whatever text was written, a boolean
  may be 1 or 'true'), so every value is read raw and converted by the column's
  declared type; naive timestamps are UTC (how the project writes them), made explicit
  so a server in another time zone does not shift them;
* after copying, every source row is looked up in the target by primary key and
  compared column by column: a missing or different row is a failure (exit 1),
  never a silent loss. The source is opened read-only and never changed;
* `summary_*` tables are derived (the console rebuilds them from events): skipped, said so.

Exit codes: 0 copied and verified; 1 a row missing or different, or a copy error;
2 refused before writing anything (source missing, target unreachable or not PostgreSQL).
Stop the SQLite services first: rows written during the copy would show as missing.
"""

from __future__ import annotations

import argparse
import importlib
import sqlite3
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence
from urllib.parse import quote

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

import console  # noqa: F401  (silences SQLAlchemy's 2.0 banner before Rasa's import)
from clinic_bot.db import create_schema
from clinic_bot.services import ScaleOutServices
from clinic_bot.settings import env, load_settings
from clinic_bot.tables import metadata

EXIT_MISMATCH, EXIT_REFUSED = 1, 2
DERIVED_PREFIX = "summary_"
# Every module that puts a table on `metadata`; a source table none of them defines stops the run.
TABLE_MODULES = ("clinic_bot.tickets", "clinic_bot.deliveries", "console.tables", "channels.whatsapp.processed_messages")
TRUE, FALSE = {"1", "true", "t", "yes", "y", "on"}, {"0", "false", "f", "no", "n", "off", ""}


class Refused(Exception):
    """Nothing was written: the inputs are wrong (exit 2)."""


class CopyFailed(Exception):
    """A value could not be converted or inserted (exit 1; what was copied stays, a rerun resumes)."""


@dataclass
class Plan:
    """One table to copy: its target schema and the source file holding it."""

    table: sa.Table
    source: str  # "clinic" or "tracker"
    columns: List[str]  # the source's columns (all are on the target: checked first)
    present: bool  # False: the source never created it (e.g. WhatsApp never used)

    @property
    def pk(self) -> sa.Column:
        return list(self.table.primary_key.columns)[0]


@dataclass
class Result:
    name: str
    source: int
    before: Optional[int]
    copied: int = 0
    after: Optional[int] = None
    missing: int = 0
    differ: int = 0

    @property
    def ok(self) -> bool:
        if self.after is None:  # dry run
            return True
        return not (self.missing or self.differ) and self.after >= self.source and (self.before != 0 or self.after == self.source)


def parse_args(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--to", help="target PostgreSQL URL (default: POSTGRES_* settings, database POSTGRES_DB; created if missing)")
    p.add_argument("--from-db", type=Path, help="the project's SQLite file (default: from CLINIC_DB_URL / CLINIC_VAR_DIR)")
    p.add_argument("--from-tracker", type=Path, help="Rasa's SQLite tracker file (default: RASA_TRACKER_DB / CLINIC_VAR_DIR)")
    p.add_argument("--batch-size", type=int, default=500, help="rows per read and insert (default 500)")
    p.add_argument("--dry-run", action="store_true", help="only report row counts; write nothing, create nothing")
    return p.parse_args(argv)


def source_paths(args: argparse.Namespace) -> Dict[str, Path]:
    """The two SQLite files, both required: a half-migrated clinic is worse than none."""
    settings = load_settings()
    clinic = args.from_db
    if clinic is None:
        if not settings.db_url.startswith("sqlite:///"):
            raise Refused(f"CLINIC_DB_URL is not a SQLite file ({settings.db_url.split(':')[0]}): nothing to migrate from")
        clinic = Path(settings.db_url[len("sqlite:///") :])
    paths = {"clinic": clinic, "tracker": args.from_tracker or settings.tracker_db}
    missing = [f"{p} ({'project database' if k == 'clinic' else 'Rasa tracker'})" for k, p in paths.items() if not p.is_file()]
    if missing:
        raise Refused("source missing: " + ", ".join(missing) + " (set CLINIC_VAR_DIR, or --from-db / --from-tracker)")
    return paths


def read_only(path: Path) -> Engine:
    """SQLite opened with mode=ro: the migration cannot change the source, even by accident."""
    uri = f"file:{quote(str(path.resolve()))}?mode=ro"
    return sa.create_engine("sqlite://", creator=lambda: sqlite3.connect(uri, uri=True, timeout=15), future=True)


def target_url(args: argparse.Namespace) -> sa.engine.URL:
    url = sa.engine.make_url(args.to or ScaleOutServices.from_env().postgres_url(env("POSTGRES_DB")))
    if url.get_backend_name() == "sqlite":
        raise Refused(f"the target is SQLite ({url.database}): the migration moves a clinic to PostgreSQL; give --to postgresql://...")
    if url.get_backend_name() != "postgresql":
        raise Refused(f"the target must be PostgreSQL, not {url.get_backend_name()}")
    return url


def connect(url: sa.engine.URL, *, create: bool) -> Optional[Engine]:
    """An engine on the target, the database created if missing (None in a dry run)."""
    shown = url.render_as_string(hide_password=True)

    def engine_on(u: sa.engine.URL, **kw: Any) -> Engine:
        return sa.create_engine(u, future=True, hide_parameters=True, connect_args={"connect_timeout": 5}, **kw)

    engine = engine_on(url)
    try:
        engine.connect().close()
        return engine
    except sa.exc.OperationalError as exc:
        engine.dispose()
        if "does not exist" not in str(exc.orig):
            raise Refused(f"cannot reach the target {shown}: {str(exc.orig).strip().splitlines()[0]}") from None
    if not create:
        return None
    admin = engine_on(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f"CREATE DATABASE {admin.dialect.identifier_preparer.quote(url.database or '')}"))
    except sa.exc.DBAPIError as exc:
        raise Refused(f"cannot create the target database {shown}: {str(exc.orig).strip().splitlines()[0]}") from None
    finally:
        admin.dispose()
    print(f"created database {url.database}")
    return engine_on(url)


def load_tables() -> List[tuple]:
    """(table, source) in insert order: the project's tables by foreign keys, then Rasa's events."""
    for name in TABLE_MODULES:
        importlib.import_module(name)
    from console.repositories.events import events_table

    ours = [(t, "clinic") for t in metadata.sorted_tables if not t.name.startswith(DERIVED_PREFIX)]
    return ours + [(events_table, "tracker")]


def plan(sources: Dict[str, Engine]) -> List[Plan]:
    """What to copy; refuses when a source holds a table or column the project's schema lacks."""
    plans: List[Plan] = []
    problems: List[str] = []
    tables = load_tables()
    derived = {n for n in metadata.tables if n.startswith(DERIVED_PREFIX)}
    for key, engine in sources.items():
        inspector = sa.inspect(engine)
        have = set(inspector.get_table_names())
        known = {t.name for t, src in tables if src == key}
        for name in sorted(have - known):
            if name.startswith(DERIVED_PREFIX):
                derived.add(name)
            elif not name.startswith("sqlite_"):
                problems.append(f"table {name} in the {key} database is not in the project's schema")
        for table, src in tables:
            if src != key:
                continue
            if len(table.primary_key.columns) != 1:
                problems.append(f"table {table.name} has no single-column primary key")
                continue
            columns = [c["name"] for c in inspector.get_columns(table.name)] if table.name in have else []
            extra = [c for c in columns if c not in table.columns]
            if extra:
                problems.append(f"columns {', '.join(extra)} of {table.name} are not in the project's schema")
            plans.append(Plan(table, key, columns, table.name in have))
    for name in sorted(derived):
        print(f"skipped {name}: derived (rebuilt from the conversations' events), not copied")
    if problems:
        raise Refused("the source holds data this migration would leave behind:\n  " + "\n  ".join(problems))
    return plans


def as_datetime(value: Any, aware: bool) -> datetime:
    """SQLite text ('2024-03-01 09:30:00.000000', ISO with 'T' or an offset) or epoch seconds -> datetime.

    The project writes UTC; SQLite drops the offset, so a naive value is UTC."""
    if isinstance(value, (int, float)):
        dt = datetime.fromtimestamp(value, timezone.utc)
    elif isinstance(value, datetime):
        dt = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        dt = datetime.fromisoformat(text)
    dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
    return dt if aware else dt.replace(tzinfo=None)


def as_bool(value: Any) -> bool:
    if isinstance(value, (bytes, str)):
        text = (value.decode() if isinstance(value, bytes) else value).strip().lower()
        if text in TRUE or text in FALSE:
            return text in TRUE
        raise ValueError(f"not a boolean: {value!r}")
    return bool(value)


def convert(column: sa.Column, value: Any) -> Any:
    """A raw SQLite value as the column's declared type expects it on PostgreSQL."""
    if value is None:
        return None
    kind = column.type
    if isinstance(kind, sa.DateTime):
        return as_datetime(value, bool(kind.timezone))
    if isinstance(kind, sa.Boolean):
        return as_bool(value)
    if isinstance(kind, sa.Integer):
        return int(value)
    if isinstance(kind, sa.Float):
        return float(value)
    if isinstance(kind, sa.String):  # Text too; Rasa's `data` JSON is text and stays byte-for-byte
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)
    return value


def source_batches(engine: Engine, p: Plan, size: int) -> Iterator[List[Dict[str, Any]]]:
    """The source's rows in primary-key order, converted, a batch at a time (keyset, not OFFSET)."""
    q = engine.dialect.identifier_preparer.quote
    cols, pk = ", ".join(q(c) for c in p.columns), p.pk.name
    last = None
    with engine.connect() as conn:
        while True:
            where = f"WHERE {q(pk)} > :last " if last is not None else ""
            sql = sa.text(f"SELECT {cols} FROM {q(p.table.name)} {where}ORDER BY {q(pk)} LIMIT :n")
            raw = conn.execute(sql, {"last": last, "n": size}).mappings().all()
            if not raw:
                return
            batch = []
            for r in raw:
                try:
                    batch.append({c: convert(p.table.c[c], r[c]) for c in p.columns})
                except ValueError as exc:
                    raise CopyFailed(f"{p.table.name} {pk}={r[pk]!r}: {exc}") from None
            yield batch
            last = raw[-1][pk]


def count(engine: Engine, table: str) -> Optional[int]:
    if not sa.inspect(engine).has_table(table):
        return None
    with engine.connect() as conn:
        return conn.execute(sa.text(f"SELECT COUNT(*) FROM {engine.dialect.identifier_preparer.quote(table)}")).scalar_one()


def copy(p: Plan, source: Engine, target: Engine, size: int) -> int:
    """Insert the rows whose key is missing; one transaction per batch, so a rerun resumes."""
    copied = 0
    for batch in source_batches(source, p, size):
        try:
            with target.begin() as conn:
                copied += conn.execute(pg_insert(p.table).values(batch).on_conflict_do_nothing()).rowcount
        except sa.exc.DBAPIError as exc:
            where = f"{p.table.name} {p.pk.name} {batch[0][p.pk.name]}..{batch[-1][p.pk.name]}"
            raise CopyFailed(f"{where}: {str(exc.orig).strip().splitlines()[0]}") from None
    return copied


def move_sequence(p: Plan, target: Engine) -> None:
    """Past the largest copied id, never backwards: the next row the services insert gets a new id."""
    if not isinstance(p.pk.type, sa.Integer):
        return
    q = target.dialect.identifier_preparer.quote
    with target.begin() as conn:
        seq = conn.execute(sa.text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": q(p.table.name), "c": p.pk.name}).scalar()
        top = conn.execute(sa.text(f"SELECT MAX({q(p.pk.name)}) FROM {q(p.table.name)}")).scalar()
        if seq is None or top is None:
            return
        last, called = conn.execute(sa.text(f"SELECT last_value, is_called FROM {seq}")).one()
        if top > (last if called else last - 1):
            conn.execute(sa.text("SELECT setval(:s, :v, true)"), {"s": seq, "v": top})


def verify(p: Plan, source: Engine, target: Engine, size: int, result: Result) -> None:
    """Every source row must be in the target under its key, with the same values."""
    result.after = count(target, p.table.name) or 0
    pk, cols = p.pk, [p.table.c[c] for c in p.columns]
    with target.connect() as conn:
        for batch in source_batches(source, p, size):
            keys = [r[pk.name] for r in batch]
            found = {r[pk.name]: r for r in conn.execute(sa.select(*cols).where(pk.in_(keys))).mappings()}
            for row in batch:
                there = found.get(row[pk.name])
                if there is None:
                    result.missing += 1
                elif any(there[c] != row[c] for c in p.columns):
                    result.differ += 1


def report(results: List[Result], dry_run: bool) -> None:
    def cell(n: Optional[int]) -> str:
        return "-" if n is None else str(n)

    rows = [("table", "source", "target before", "copied", "target after", "check")]
    for r in results:
        check = "dry run" if dry_run else "ok" if r.ok else f"FAILED ({r.missing} missing, {r.differ} different)"
        rows.append((r.name, cell(r.source), cell(r.before), cell(None if dry_run else r.copied), cell(r.after), check))
    widths = [max(len(x[i]) for x in rows) for i in range(len(rows[0]))]
    for line in rows:
        print("  ".join(c.ljust(w) if i in (0, 5) else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True))).rstrip())


def migrate(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise Refused("--batch-size must be at least 1")
    paths = source_paths(args)
    url = target_url(args)
    sources = {k: read_only(p) for k, p in paths.items()}
    print(f"from {paths['clinic']} (project) and {paths['tracker']} (Rasa tracker)")
    print(f"to   {url.render_as_string(hide_password=True)}{' (dry run: nothing is written)' if args.dry_run else ''}")
    plans = plan(sources)
    target = connect(url, create=not args.dry_run)
    results = []
    if args.dry_run:
        for p in plans:
            before = count(target, p.table.name) if target is not None else None
            results.append(Result(p.table.name, count(sources[p.source], p.table.name) or 0, before))
        report(results, dry_run=True)
        return 0
    assert target is not None
    create_schema(target)  # the project's tables, with every table module imported by plan()
    from console.repositories.events import create_events_table

    create_events_table(target)  # Rasa's `events`, as Rasa's SQLTrackerStore creates it
    for p in plans:
        result = Result(p.table.name, count(sources[p.source], p.table.name) or 0, count(target, p.table.name) or 0)
        if p.present:
            result.copied = copy(p, sources[p.source], target, args.batch_size)
            move_sequence(p, target)
            verify(p, sources[p.source], target, args.batch_size, result)
        else:
            result.after = result.before
        results.append(result)
    report(results, dry_run=False)
    failed = [r for r in results if not r.ok]
    print(f"copied {sum(r.copied for r in results)} rows into {len(results)} tables; the source is unchanged")
    if failed:
        print(
            "MISMATCH in " + ", ".join(r.name for r in failed) + ": a source row is missing from the target or differs there.\n"
            "Rows changed in SQLite after an earlier run, or the target already had other rows under the same keys;\n"
            "if the SQLite services were still running, stop them and run again.",
            file=sys.stderr,
        )
        return EXIT_MISMATCH
    print("verified: every source row is in the target with the same values")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = parse_args(argv)
    try:
        return migrate(args)
    except Refused as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except CopyFailed as exc:
        print(f"copy failed: {exc}\n(what was copied stays; fix the row and run again, it resumes)", file=sys.stderr)
        return EXIT_MISMATCH


if __name__ == "__main__":
    sys.exit(main())
