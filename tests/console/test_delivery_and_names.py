"""Failed deliveries shown to staff, and the names patients see (issue 11, item 10 and low).

Probe: a staff reply whose WhatsApp send failed answered 200 and the console said
"Reply sent."; patients saw staff login names on replies.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from clinic_bot.db import get_engine
from clinic_bot.deliveries import DeliveryLog
from console.refs import conversation_ref
from tests.console.conftest import PASSWORD, SECRET, seed_red_flag_conversation

PHONE = "447700900555"
QUIET = "447700900666"


def _login(live_console, username: str):
    c = live_console.client()
    r = c.login(username)
    assert r.status == 303, r.body
    return c


def _deliveries(live_console) -> DeliveryLog:
    return DeliveryLog(get_engine(live_console.env["CLINIC_DB_URL"]))


def _refuse_replies(live_console, monkeypatch, sender: str) -> None:
    """The fake Rasa does what Rasa + the WhatsApp channel do when the Graph API refuses a staff
    reply: the channel records the failure, then Rasa's HTTP API answers 200 all the same."""
    rasa, original = live_console.rasa, live_console.rasa._next

    def _next(path: str):
        if path.startswith(f"/conversations/{sender}/tracker/events"):
            _deliveries(live_console).record_failure(sender, "whatsapp", error_code="131047", reason="Re-engagement message", staff_reply=True)
        return original(path)

    monkeypatch.setattr(rasa, "_next", _next)


def test_a_refused_staff_reply_is_not_called_sent_and_shows_on_the_ticket(live_console, monkeypatch):
    ticket_id, _ = seed_red_flag_conversation(live_console.writer, PHONE, live_console.env["CLINIC_DB_URL"])
    _refuse_replies(live_console, monkeypatch, PHONE)
    c = _login(live_console, "clinician")
    ref = conversation_ref(SECRET, PHONE)
    r = c.form_post(f"/conversations/{ref}", f"/conversations/{ref}/reply", {"text": "Hello, the clinic here."})
    assert r.status == 303
    page = c.get(f"/conversations/{ref}").body
    assert "Reply sent." not in page
    assert "Not delivered" in page and "131047" in page
    assert f'id="ticket-{ticket_id}-delivery"' in page  # on the conversation's ticket
    assert "did not reach the person" in page  # and in the timeline
    queue = c.get("/").body
    row = queue[queue.index(f'id="ticket-{ticket_id}"') :]
    assert "delivery failed" in row[: row.index("</tr>")]
    admin = _login(live_console, "admin")
    assert "not delivered" in admin.get("/audit").body


def test_a_failed_status_is_pinned_on_the_staff_reply(live_console):
    w = live_console.writer
    w.save(QUIET, w.session() + [w.user("can someone call me", "request_human", 0.9, channel="whatsapp"), w.slot("handoff_active", True)])
    w.at(time.time() - 2)
    w.save(QUIET, [w.bot("We'll call you this afternoon.", metadata={"staff_reply": True, "staff": "Sam"})])
    log = _deliveries(live_console)
    log.record_sent(QUIET, "whatsapp", "wamid.QUIET1")
    log.record_status_failure(QUIET, "whatsapp", "wamid.QUIET1", error_code="131047", reason="Re-engagement message")
    log.record_status_failure(QUIET, "whatsapp", "wamid.BOT2", error_code="131026", reason="Message undeliverable")
    clinician = _login(live_console, "clinician")
    page = clinician.get(f"/conversations/{conversation_ref(SECRET, QUIET)}").body
    staff = page[page.index('class="msg staff undelivered"') :]
    assert "not delivered: code 131047: Re-engagement message" in staff[: staff.index("</div>\n  </div>")]
    assert "A message from the assistant did not reach the person" in page and "131026" in page
    exported = clinician.get(f"/conversations/{conversation_ref(SECRET, QUIET)}/export.csv").body
    assert "not delivered: code 131047" in exported and "a message from the assistant was not delivered" in exported


def test_patients_see_a_display_name_not_the_login_name(live_console):
    assert live_console.cli("create-user", "sam.jones", "--role", "reception", stdin=PASSWORD + "\n").returncode == 0
    done = live_console.cli("create-user", "ppatel7", "--role", "clinician", "--display-name", "Dr Priya", stdin=PASSWORD + "\n")
    assert done.returncode == 0 and "Dr Priya" in done.stdout
    sender = "447700900777"
    seed_red_flag_conversation(live_console.writer, sender, live_console.env["CLINIC_DB_URL"])
    ref = conversation_ref(SECRET, sender)
    staff_names = []
    for username in ("sam.jones", "ppatel7"):
        before = len(live_console.rasa.matching(f"/conversations/{sender}/tracker/events"))
        c = _login(live_console, username)
        c.form_post(f"/conversations/{ref}", f"/conversations/{ref}/reply", {"text": "Hello"})
        sent = live_console.rasa.wait_for(f"/conversations/{sender}/tracker/events", count=before + 1)[-1].json()
        staff_names.append(sent[0]["metadata"]["staff"])
    assert staff_names == ["Sam", "Dr Priya"]
    assert live_console.cli("set-display-name", "sam.jones", "Samantha").returncode == 0
    assert "Samantha" in live_console.cli("list-users").stdout


def test_old_databases_get_the_display_name_column(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = sa.create_engine(url)
    with old.begin() as conn:  # console_users as an earlier version created it
        conn.exec_driver_sql(
            "CREATE TABLE console_users (id INTEGER PRIMARY KEY, username VARCHAR(64) UNIQUE NOT NULL, "
            "role VARCHAR(16) NOT NULL, password_hash VARCHAR(255) NOT NULL, active BOOLEAN NOT NULL, "
            "created_at FLOAT NOT NULL, disabled_at FLOAT)"
        )
        conn.exec_driver_sql("INSERT INTO console_users VALUES (1, 'kim.lee', 'admin', 'x', 1, 0, NULL)")
    import console.tables  # noqa: F401
    from console.auth import UserStore

    users = UserStore(get_engine(url))
    assert users.get_by_name("kim.lee").display_name == "Kim"
