"""`make migrate-to-postgres`: a clinic on the embedded SQLite default moves to PostgreSQL whole.

The SQLite deployment is built with the project's own code (tickets and a joined
repeat through TicketStore, a staff user, session, login failure and audit rows
through the console's stores, deliveries, WhatsApp claims) and Rasa's own
SQLTrackerStore for the conversations, so the rows are the shapes the services write.
The target session runs in a non-UTC time zone, so a timestamp that lost its UTC
meaning on the way would show up as shifted.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

import channels.whatsapp.processed_messages  # noqa: F401  (its table joins the metadata)
import console.tables  # noqa: F401
from channels.whatsapp.processed_messages import ProcessedMessageStore
from clinic_bot.db import create_schema, make_engine, metadata
from clinic_bot.deliveries import DeliveryLog, deliveries_table
from clinic_bot.tickets import TicketStore, tickets_table
from console.auth import UserStore
from console.repositories.audit import AuditLog
from console.repositories.events import events_table
from console.sessions import SessionStore
from console.throttle import LoginThrottle, account_key
from scripts.migrate_to_postgres import main
from tests.console.factory import ConversationWriter

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = PROJECT_ROOT / "scripts" / "migrate_to_postgres.py"
PASSWORD = "correct horse battery"
CONV = "whatsapp:447700900123"


def red_flag(tickets: TicketStore, marker: str, urgency: str = "urgent", conv: str = CONV):
    return tickets.create(
        dedupe_key=f"{conv}:red_flag:{marker}",
        conversation_id=conv,
        channel="whatsapp",
        category="chest_pain",
        urgency=urgency,
        trigger_message=f"chest pain since this morning ({marker}) – crushing, 8/10",
        join_open_kind="red_flag",
    )


def conversation(w: ConversationWriter, sender: str, text: str) -> None:
    w.save(sender, [*w.session(), w.user(text, intent="ask_faq", topic="opening_hours"), w.action("utter_faq"), w.bot("We open at 8 am.")])


@pytest.fixture
def deployment(tmp_path: Path) -> Dict[str, Path]:
    """var/clinic.db and var/tracker.db as `make run` leaves them, plus a derived summary table."""
    var = tmp_path / "var"
    engine = make_engine(f"sqlite:///{var / 'clinic.db'}")
    create_schema(engine)
    tickets = TicketStore(engine)
    first, _ = red_flag(tickets, "m1")
    red_flag(tickets, "m2", urgency="emergency")  # joins the open ticket and raises it
    other, _ = tickets.create(
        dedupe_key="rest:abc:handoff:1",
        conversation_id="rest:abc",
        channel="rest",
        category="human",
        urgency="routine",
        trigger_message="can I talk to someone",
    )
    tickets.set_status(other.id, "acknowledged", by="nurse.jones", note="called back")
    tickets.record_notification(first.id, ok=False, attempts=3, error="webhook timed out")
    user = UserStore(engine).create("nurse.jones", "clinician", PASSWORD, display_name="Nurse Jones")
    UserStore(engine).create("old.reception", "reception", PASSWORD)
    UserStore(engine).disable("old.reception")
    SessionStore(engine, UserStore(engine), idle_s=1800, max_s=43200).create(user)
    LoginThrottle(engine).record_failure([account_key("nurse.jones"), "ip:203.0.113.9"])
    AuditLog(engine).record("nurse.jones", "ticket_status", subject=CONV, detail="open -> acknowledged", ip="203.0.113.9")
    AuditLog(engine).record("admin", "user_disabled", detail="old.reception")
    deliveries = DeliveryLog(engine)
    deliveries.record_sent(CONV, "whatsapp", "wamid.HBgM1")
    deliveries.record_failure(CONV, "whatsapp", error_code=131047, reason="re-engagement window closed", staff_reply=True)
    claims = ProcessedMessageStore(engine)
    assert claims.claim("wamid.HBgM1") and claims.claim("wamid.HBgM2")
    with engine.begin() as conn:  # another engineer's derived table: rebuilt from events, never copied
        conn.execute(sa.text("CREATE TABLE summary_daily_counts (day TEXT PRIMARY KEY, n INTEGER)"))
        conn.execute(sa.text("INSERT INTO summary_daily_counts VALUES ('2024-03-01', 4)"))
    engine.dispose()
    w = ConversationWriter(str(var / "tracker.db"))
    conversation(w, CONV, "when do you open? ☀️")
    conversation(w, "rest:abc", 'what about "quotes" and \\ backslashes')
    w.store.engine.dispose()
    return {"var": var, "clinic": var / "clinic.db", "tracker": var / "tracker.db"}


def non_utc(url: str) -> str:
    """The same database, with a session time zone far from UTC."""
    return url + "?options=-c%20timezone%3DAsia/Kolkata"


def use(monkeypatch: pytest.MonkeyPatch, var: Path) -> None:
    monkeypatch.setenv("CLINIC_VAR_DIR", str(var))
    monkeypatch.setenv("CLINIC_DB_URL", "")
    monkeypatch.setenv("RASA_TRACKER_DB", "")


def run_script(var: Path, *args: str) -> subprocess.CompletedProcess:
    environ = {**os.environ, "CLINIC_VAR_DIR": str(var), "CLINIC_DB_URL": "", "RASA_TRACKER_DB": "", "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=environ, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)


def counts(engine: Engine, tables: List[sa.Table]) -> Dict[str, int]:
    with engine.connect() as conn:
        return {t.name: conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one() for t in tables}


def rows(engine: Engine, table: sa.Table) -> List[tuple]:
    """A table's rows in key order; SQLite's naive timestamps read as the UTC they are."""

    def utc(v: object) -> object:
        return v.replace(tzinfo=timezone.utc) if isinstance(v, datetime) and v.tzinfo is None else v

    with engine.connect() as conn:
        return [tuple(utc(v) for v in r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


COPIED = [t for t in metadata.sorted_tables if not t.name.startswith("summary_")]


def test_everything_moves_verified_and_a_rerun_copies_only_what_is_new(deployment, pg_url, monkeypatch, capsys) -> None:
    src, tracker = make_engine(f"sqlite:///{deployment['clinic']}"), make_engine(f"sqlite:///{deployment['tracker']}", own_file=False)
    before = {p: digest(deployment[p]) for p in ("clinic", "tracker")}
    target_url = non_utc(pg_url)

    done = run_script(deployment["var"], "--to", target_url)  # the way a user runs it
    assert done.returncode == 0, done.stdout + done.stderr
    print(done.stdout)
    assert "skipped summary_daily_counts: derived" in done.stdout and "verified: every source row" in done.stdout
    assert {p: digest(deployment[p]) for p in ("clinic", "tracker")} == before  # the source is untouched

    pg = make_engine(target_url)
    assert counts(pg, COPIED) == counts(src, COPIED) and counts(pg, [events_table]) == counts(tracker, [events_table])
    assert counts(pg, [events_table])["events"] > 10
    assert not sa.inspect(pg).has_table("summary_daily_counts")
    # content: tickets (timestamps in a UTC+5:30 session), users, deliveries, events byte for byte, in id order
    for table in COPIED:
        assert rows(pg, table) == rows(src, table), table.name
    every = ("open", "acknowledged", "closed")
    moved = TicketStore(pg).list(statuses=every)
    assert moved == [replace(t, created_at=t.created_at.replace(tzinfo=timezone.utc)) for t in TicketStore(src).list(statuses=every)]
    assert moved[0].created_at.utcoffset() is not None and len(moved) == 2
    assert TicketStore(pg).repeats(1) == 1
    assert UserStore(pg).authenticate("nurse.jones", PASSWORD).display_name == "Nurse Jones"
    assert UserStore(pg).authenticate("old.reception", PASSWORD) is None  # still disabled
    assert [f.reason for f in DeliveryLog(pg).failures(CONV, staff_only=True)] == ["re-engagement window closed"]
    assert not ProcessedMessageStore(pg).claim("wamid.HBgM1")  # an already answered message stays answered
    assert rows(pg, events_table) == rows(tracker, events_table)

    use(monkeypatch, deployment["var"])
    capsys.readouterr()
    assert main(["--to", target_url]) == 0
    assert "copied 0 rows" in capsys.readouterr().out

    # the clinic kept running on SQLite for a while: a new ticket, a conversation, an audit row
    w = ConversationWriter(str(deployment["tracker"]))
    conversation(w, "rest:new", "do you do sports massage?")
    w.store.engine.dispose()
    red_flag(TicketStore(src), "x1", conv="rest:new")
    AuditLog(src).record("nurse.jones", "export")
    src.dispose()
    new_events = counts(tracker, [events_table])["events"] - counts(pg, [events_table])["events"]
    assert main(["--to", target_url]) == 0
    out = capsys.readouterr().out
    assert f"copied {new_events + 2} rows" in out, out
    assert counts(pg, COPIED) == counts(src, COPIED) and rows(pg, events_table) == rows(tracker, events_table)

    # sequences moved: rows the cluster writes next get new ids
    last = max(r[0] for r in rows(pg, tickets_table))
    ticket, created = TicketStore(pg).create(
        dedupe_key="rest:later:handoff:1", conversation_id="rest:later", channel="rest", category="human", urgency="routine", trigger_message="hello"
    )
    assert created and ticket.id == last + 1
    with pg.begin() as conn:
        new_id = conn.execute(events_table.insert().values(sender_id="rest:later", type_name="user", timestamp=1.0, data="{}")).inserted_primary_key[
            0
        ]
    assert new_id == max(r[0] for r in rows(tracker, events_table)) + 1
    AuditLog(pg).record("admin", "login")
    pg.dispose()
    tracker.dispose()


def test_loose_sqlite_timestamps_and_booleans_round_trip(deployment, pg_url, monkeypatch) -> None:
    """Rows another tool wrote: ISO text with a 'Z' or an offset, 'true'/'0' booleans, an epoch timestamp."""
    src = make_engine(f"sqlite:///{deployment['clinic']}")
    loose = [
        (101, "true", "2024-03-01T09:30:00Z", None),
        (102, "0", "2024-03-01 09:30:00.250000", "2024-03-01 10:00:00+01:00"),
        (103, 1, 1709285400, None),
    ]
    with src.begin() as conn:
        for id_, staff, sent, failed in loose:
            conn.execute(
                sa.text(
                    "INSERT INTO message_deliveries (id, conversation_id, channel, status, staff_reply, sent_at, failed_at) VALUES (:i, 'c', 'rest', 'failed', :s, :t, :f)"
                ),
                {"i": id_, "s": staff, "t": sent, "f": failed},
            )
    src.dispose()
    use(monkeypatch, deployment["var"])
    assert main(["--to", non_utc(pg_url)]) == 0
    pg = make_engine(non_utc(pg_url))
    with pg.connect() as conn:
        got = conn.execute(
            sa.select(deliveries_table.c.id, deliveries_table.c.staff_reply, deliveries_table.c.sent_at, deliveries_table.c.failed_at)
            .where(deliveries_table.c.id > 100)
            .order_by(deliveries_table.c.id)
        ).all()
    utc = timezone.utc
    assert [tuple(r) for r in got] == [
        (101, True, datetime(2024, 3, 1, 9, 30, tzinfo=utc), None),
        (102, False, datetime(2024, 3, 1, 9, 30, 0, 250000, tzinfo=utc), datetime(2024, 3, 1, 9, 0, tzinfo=utc)),
        (103, True, datetime(2024, 3, 1, 9, 30, tzinfo=utc), None),
    ]
    pg.dispose()


def test_a_target_row_that_differs_fails_loudly(deployment, pg_url, monkeypatch, capsys) -> None:
    pg = make_engine(pg_url)
    create_schema(pg)
    AuditLog(pg).record("someone.else", "login")  # id 1 in the target, not the source's id 1
    pg.dispose()
    use(monkeypatch, deployment["var"])
    assert main(["--to", pg_url]) == 1
    captured = capsys.readouterr()
    assert "MISMATCH in console_audit" in captured.err and "FAILED (0 missing, 1 different)" in captured.out


def test_dry_run_only_counts(deployment, pg_url, monkeypatch, capsys) -> None:
    use(monkeypatch, deployment["var"])
    assert main(["--dry-run", "--to", pg_url]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out and "handoff_tickets" in out and "events" in out
    pg = make_engine(pg_url)
    assert sa.inspect(pg).get_table_names() == []
    pg.dispose()


def test_bad_inputs_are_refused_with_exit_2(deployment, tmp_path, pg_url, monkeypatch, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run_script(empty, "--to", pg_url)
    assert done.returncode == 2 and "refused: source missing" in done.stderr and "clinic.db" in done.stderr, done.stderr
    assert list(empty.iterdir()) == []  # nothing created where the source should be
    done = run_script(deployment["var"], "--to", f"sqlite:///{tmp_path / 'other.db'}")
    assert done.returncode == 2 and "the target is SQLite" in done.stderr, done.stderr
    use(monkeypatch, deployment["var"])
    assert main(["--to", "postgresql://postgres@127.0.0.1:1/nowhere"]) == 2
    assert "cannot reach the target" in capsys.readouterr().err
    with make_engine(f"sqlite:///{deployment['clinic']}").begin() as conn:
        conn.execute(sa.text("CREATE TABLE patient_notes (id INTEGER PRIMARY KEY, note TEXT)"))
    assert main(["--to", pg_url]) == 2
    assert "patient_notes in the clinic database is not in the project's schema" in capsys.readouterr().err
    pg = make_engine(pg_url)
    assert sa.inspect(pg).get_table_names() == []  # refused before writing anything
    pg.dispose()
