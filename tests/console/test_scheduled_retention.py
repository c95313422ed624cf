"""Retention runs inside the console on a schedule (issue 11, low).

Probe: retention only ran if someone set up cron for `console.cli retention`.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from clinic_bot.db import get_engine
from clinic_bot.deliveries import DeliveryLog, deliveries_table
from clinic_bot.launcher import free_port, wait_http
from console.repositories.audit import AuditLog
from console.repositories.events import events_table
from tests.console.conftest import console_environ, start_console, stop
from tests.console.factory import ConversationWriter

DAY = 86400.0


def _senders(tracker_db) -> set:
    engine = sa.create_engine(f"sqlite:///{tracker_db}")
    with engine.connect() as conn:
        return {r[0] for r in conn.execute(sa.select(events_table.c.sender_id).distinct())}


def test_the_console_applies_retention_without_cron(tmp_path):
    env = {**console_environ(tmp_path), "CONSOLE_RETENTION_DAYS": "30"}  # CONSOLE_RETENTION_EVERY_HOURS: default 24
    w = ConversationWriter(str(tmp_path / "tracker.db"))
    w.at(time.time() - 40 * DAY)
    w.save("forty-days", w.session() + [w.user("hello")])
    w.at(time.time() - 10 * DAY)
    w.save("ten-days", w.session() + [w.user("hello")])
    clinic = get_engine(env["CLINIC_DB_URL"])
    DeliveryLog(clinic).record_failure("forty-days", "whatsapp", error_code="131047", reason="old")
    with clinic.begin() as conn:
        conn.execute(deliveries_table.update().values(sent_at=datetime.now(timezone.utc) - timedelta(days=40)))
    port = free_port()
    proc = start_console(env, port, tmp_path / "console.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, proc)
        deadline = time.monotonic() + 30
        while "forty-days" in _senders(tmp_path / "tracker.db") and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _senders(tmp_path / "tracker.db") == {"ten-days"}
    finally:
        stop(proc)
    entries, _ = AuditLog(clinic).entries(action="retention")
    assert any(e.actor == "retention (scheduled)" and e.subject is None for e in entries)
    assert DeliveryLog(clinic).failures("forty-days") == []


def test_the_schedule_can_be_switched_off(tmp_path, monkeypatch):
    import pytest

    from console.config import ConfigError, load_config

    for key, value in console_environ(tmp_path).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("CONSOLE_RETENTION_EVERY_HOURS", "0")
    assert load_config().retention_every_hours == 0
    monkeypatch.setenv("CONSOLE_RETENTION_EVERY_HOURS", "daily")
    with pytest.raises(ConfigError):
        load_config()
