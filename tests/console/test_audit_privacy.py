"""The audit log keeps no patient identifiers; short number searches are refused (issue 11, items 8 and low).

Probe: the audit log kept a searched phone number (in an export's detail) and
erasure left it there; reception confirmed phone numbers with 3-digit searches.
"""

from __future__ import annotations

import re
import time

import sqlalchemy as sa

from clinic_bot.db import get_engine
from console.refs import erased_pseudonym
from console.repositories.audit import AuditLog
from console.repositories.erasure import Eraser
from console.repositories.events import tracker_engine
from console.tables import audit_table
from tests.console.conftest import SECRET, seed_red_flag_conversation

PHONE = "447700900321"


def _login(live_console, username: str):
    c = live_console.client()
    assert c.login(username).status == 303
    return c


def _listed(page: str) -> int:
    return int(re.search(r'<span class="count">(\d+) found', page).group(1))


def test_number_searches_need_seven_digits_and_reception_cannot_search_numbers(live_console):
    seed_red_flag_conversation(live_console.writer, PHONE, live_console.env["CLINIC_DB_URL"])
    reception, clinician = _login(live_console, "reception"), _login(live_console, "clinician")
    everything = _listed(clinician.get("/conversations").body)
    for q in ("321", "9 0 0", "12"):
        page = reception.get(f"/conversations?q={q.replace(' ', '+')}").body
        assert "needs a clinician or admin account" in page and _listed(page) == everything, q
    short = clinician.get("/conversations?q=0321").body
    assert "at least 7 digits" in short and _listed(short) == everything
    found = clinician.get(f"/conversations?q={PHONE[-9:]}").body
    assert "at least 7 digits" not in found and _listed(found) == 1
    words = reception.get("/conversations?q=wet+myself").body  # words are fine for everyone
    assert "ignored" not in words


def test_exports_do_not_write_the_search_text_into_the_audit_log(live_console):
    seed_red_flag_conversation(live_console.writer, PHONE, live_console.env["CLINIC_DB_URL"])
    clinician = _login(live_console, "clinician")
    r = clinician.get(f"/conversations/export.csv?q={PHONE}")
    assert r.status == 200 and PHONE in r.body
    r = clinician.get("/conversations/export.csv?q=wet+myself")
    assert r.status == 200
    engine = sa.create_engine(live_console.env["CLINIC_DB_URL"])
    with engine.connect() as conn:
        details = [d for (d,) in conn.execute(sa.select(audit_table.c.detail).where(audit_table.c.action == "export"))]
    assert details and any("text search" in (d or "") for d in details)
    assert not any(PHONE in (d or "") or "wet myself" in (d or "") or "wet+myself" in (d or "") for d in details)


def test_erasure_removes_the_number_from_audit_details(console_env, writer):
    clinic = get_engine(f"sqlite:///{console_env / 'clinic.db'}")
    seed_red_flag_conversation(writer, PHONE, f"sqlite:///{console_env / 'clinic.db'}")
    with clinic.begin() as conn:  # entries written before this fix, as the probe found them
        conn.execute(
            audit_table.insert(),
            [
                dict(at=time.time(), actor="sam", action="export", subject=PHONE, detail=f"filtered set as csv (1 conversations; q={PHONE})"),
                dict(
                    at=time.time(),
                    actor="sam",
                    action="export",
                    subject="someone-else",
                    detail="filtered set as csv (2 conversations; q=07700 900321)",
                ),
                dict(at=time.time(), actor="sam", action="view", subject="447700900999", detail="ticket #900321"),
            ],
        )
    from clinic_bot.deliveries import DeliveryLog

    DeliveryLog(clinic).record_failure(PHONE, "whatsapp", error_code="131047", reason="Re-engagement message")
    result = Eraser(tracker_engine(f"sqlite:///{console_env / 'tracker.db'}"), clinic, SECRET).erase(PHONE, actor="admin1")
    assert result.deleted.get("message_deliveries") == 1 and DeliveryLog(clinic).failures(PHONE) == []
    pseudonym = erased_pseudonym(SECRET, PHONE)
    with clinic.connect() as conn:
        rows = conn.execute(sa.select(audit_table).order_by(audit_table.c.id)).all()
    text = " ".join(f"{r.subject} {r.detail}" for r in rows)
    assert PHONE not in text and "07700 900321" not in text
    assert text.count(pseudonym) >= 3
    assert "ticket #900321" in text  # not a phone number: left alone


def test_details_never_store_phone_numbers(console_env):
    audit = AuditLog(get_engine(f"sqlite:///{console_env / 'clinic.db'}"))
    audit.record("sam", "reply", "web-1", "called back on 07700 900321, 2024-05-01")
    [entry], _ = audit.entries()
    assert "07700 900321" not in entry.detail and "•••• •••321" in entry.detail
    assert entry.detail.endswith("2024-05-01")  # dates are not phone numbers
