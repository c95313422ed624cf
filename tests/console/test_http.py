"""The console over HTTP (real `python -m console.app`, no Rasa): access control,
CSRF, cookies, headers, roles and masking, handoff replies, exports, erasure."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import urllib.parse

import jwt
import pytest
import yaml

from clinic_bot.launcher import free_port, wait_http
from tests.console.conftest import PASSWORD, Client, console_environ, seed_red_flag_conversation, start_console, stop
from tests.console.routes import PUBLIC, concrete_routes

PHONE = "447700900123"
XSS = '<script>window.__xss=1</script> hello <img src=x onerror="window.__xss=2">'


@pytest.fixture(scope="module")
def data(live_console):
    """A red-flag WhatsApp conversation in handoff (with a ticket), and an XSS attempt."""
    w = live_console.writer
    ticket_id, store = seed_red_flag_conversation(w, PHONE, live_console.env["CLINIC_DB_URL"], text="I've wet myself, call me on 07700 900123")
    w.save("web-xss", w.session() + [w.user(XSS, "nlu_fallback", 0.3, channel="socketio", ranking=[{"name": "nlu_fallback", "confidence": 0.45}])])
    w.save(
        "web-calm",
        w.session()
        + [
            w.user("what is facet joint pain", "faq", 0.95, channel="socketio", topic="what_is_facet_pain", topic_conf=0.93),
            w.action("utter_faq"),
            w.bot("Facet joints are small joints in the spine."),
        ],
    )
    return {"ticket": ticket_id, "store": store}


def logged_in(live_console, role: str) -> Client:
    c = live_console.client()
    r = c.login(role)
    assert r.status == 303 and r.header("Location") == "/", r.body
    return c


def ref_of(client: Client, sender_text: str) -> str:
    page = client.get("/conversations").body
    m = re.search(r'href="/conversations/([0-9a-f]{32})">' + re.escape(sender_text) + "<", page)
    assert m, f"{sender_text} not listed"
    return m.group(1)


def test_every_route_is_refused_without_login(live_console, data):
    anon = live_console.client()
    ref = ref_of(logged_in(live_console, "admin"), PHONE)
    routes = concrete_routes(live_console.env, ref)
    checked = 0
    for method, path, _name in routes:
        if (method, path) in PUBLIC:
            continue
        r = anon.request(method, path)
        if method == "GET":
            is_export = path.endswith((".csv", ".jsonl", ".yml"))
            if is_export:
                assert r.status == 401, (method, path, r.status)
            else:
                assert r.status == 303 and r.header("Location").startswith("/login?next="), (method, path, r.status)
        else:
            assert r.status == 401, (method, path, r.status)
        assert PHONE not in r.body and "wet myself" not in r.body
        checked += 1
    assert checked >= 15
    # ... and the public ones are exactly these, and give nothing away.
    public = {(m, p) for m, p, _ in routes if (m, p) in PUBLIC}
    assert public == PUBLIC
    assert json.loads(anon.get("/health").body) == {"status": "ok"}
    assert anon.get("/static/console.css").status == 200
    for sneaky in ("/static/../app.py", "/static/%2e%2e/app.py", "/static/..%2fapp.py", "/static/"):
        r = anon.get(sneaky)
        assert r.status in (303, 400, 403, 404) and "create_app" not in r.body, sneaky


def test_public_marks_are_only_on_login_and_health():
    import console.views.admin  # noqa: E401,F401
    import console.views.auth
    import console.views.conversations
    import console.views.queue
    import console.views.reports
    from console.app import create_app  # noqa: F401  (import check)
    from console.web import public

    marked = []
    for mod in (console.views.admin, console.views.auth, console.views.conversations, console.views.queue, console.views.reports):
        for name in dir(mod):
            obj = getattr(mod, name)
            if callable(obj) and getattr(obj, "console_public", False):
                marked.append(f"{mod.__name__}.{name}")
    assert sorted(marked) == ["console.views.auth.health", "console.views.auth.login", "console.views.auth.login_page"]
    assert public  # the marker exists


def test_csrf_less_posts_are_refused(live_console, data):
    admin = logged_in(live_console, "admin")
    ref = ref_of(admin, PHONE)
    other = logged_in(live_console, "clinician")
    foreign = Client.csrf(other.get("/").body)
    posts = [(m, p) for m, p, _ in concrete_routes(live_console.env, ref) if m == "POST" and (m, p) not in PUBLIC]
    assert len(posts) >= 6
    for _, path in posts:
        assert admin.post(path, {}).status == 403, path
        assert admin.post(path, {"csrf_token": "0" * 64}).status == 403, path
        assert admin.post(path, {"csrf_token": foreign}).status == 403, path  # another session's token
    # nothing happened
    assert data["store"].get(data["ticket"]).status == "open"
    assert live_console.rasa.matching("/conversations") == []
    # the login form needs its token too
    anon = live_console.client()
    anon.get("/login")
    r = anon.post("/login", {"username": "admin", "password": PASSWORD})
    assert r.status == 403


def test_login_cookie_flags_logout_and_tampering(live_console):
    c = live_console.client()
    page = c.get("/login")
    assert "HttpOnly" in page.header("Set-Cookie") and "SameSite=Strict" in page.header("Set-Cookie")
    r = c.post("/login", {"csrf_token": Client.csrf(page.body), "username": "clinician", "password": PASSWORD, "next": "//evil.example/x"})
    assert r.status == 303 and r.header("Location") == "/"  # no open redirect
    cookies = r.headers.get_all("Set-Cookie")
    session_cookie = [x for x in cookies if x.startswith("console_session=")][0]
    for flag in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert flag in session_cookie
    assert "Secure" not in session_cookie  # plain http in this test; see test_secure_cookies
    assert c.get("/").status == 200
    # a tampered cookie is no session
    (cookie,) = [k for k in c.jar if k.name == "console_session"]
    good = cookie.value
    cookie.value = good[:-2] + ("AA" if not good.endswith("AA") else "BB")
    assert c.get("/").status == 303
    cookie.value = good
    assert c.get("/").status == 200
    r = c.form_post("/", "/logout", {})
    assert r.status == 303 and r.header("Location") == "/login"
    stale = Client(live_console.url)
    stale.jar.set_cookie(cookie)  # replaying the old cookie after logout
    assert stale.get("/").status == 303


def test_login_form_survives_a_second_tab_and_the_favicon_request(live_console):
    c = live_console.client()
    first = c.get("/login")
    assert c.get("/favicon.ico").status == 404  # unknown paths: a plain 404, no redirect, no new cookie
    c.get("/login?next=/conversations")  # another tab
    r = c.post("/login", {"csrf_token": Client.csrf(first.body), "username": "reception", "password": PASSWORD})
    assert r.status == 303


def test_wrong_password_and_account_lockout(live_console):
    done = live_console.cli("create-user", "lockme", "--role", "reception", stdin=PASSWORD + "\n")
    assert done.returncode == 0
    c = live_console.client()
    for _ in range(5):
        r = c.login("lockme", "not the password at all")
        assert r.status == 401 and "Wrong username or password" in r.body
    r = c.login("lockme", PASSWORD)  # right password, but locked
    assert r.status == 429 and "Too many failed attempts" in r.body
    assert c.login("nobody-here", PASSWORD).status == 401  # unknown users: same answer
    live_console.cli("unlock-user", "lockme")
    assert c.login("lockme", PASSWORD).status == 303


def test_security_headers(live_console, data):
    c = logged_in(live_console, "clinician")
    ref = ref_of(c, PHONE)
    for path in ("/", "/conversations", f"/conversations/{ref}", f"/conversations/{ref}/export.csv", "/login", "/health"):
        r = c.get(path)
        assert r.status == (303 if path == "/login" else 200), path  # logged in: /login sends you home
        csp = r.header("Content-Security-Policy")
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "script-src" not in csp  # no scripts at all (default-src 'none')
        assert r.header("X-Frame-Options") == "DENY"
        assert r.header("X-Content-Type-Options") == "nosniff"
        assert r.header("Referrer-Policy") == "no-referrer"
        assert r.header("Cache-Control") == "no-store", path
    assert "no-store" not in c.get("/static/console.css").header("Cache-Control")
    assert "<script" not in c.get(f"/conversations/{ref}").body.replace("&lt;script", "")


def test_queue_transcript_and_xss_are_escaped(live_console, data):
    c = logged_in(live_console, "clinician")
    queue = c.get("/")
    assert "I&#39;ve wet myself, call me on 07700 900123" in queue.body  # clinicians see numbers
    assert "cauda equina" in queue.body and "emergency" in queue.body
    page = c.get("/conversations?q=__xss").body
    ref = re.search(r'href="/conversations/([0-9a-f]{32})"', page).group(1)
    t = c.get(f"/conversations/{ref}").body
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in t
    assert "&lt;img src=x onerror=&#34;window.__xss=2&#34;&gt;" in t
    assert "<script>" not in t and "<img" not in t
    report = c.get("/reports/unanswered").body
    assert "&lt;script&gt;window.__xss=1" in report and "<script>" not in report


def test_reception_sees_masked_numbers_and_cannot_export_or_erase(live_console, data):
    c = logged_in(live_console, "reception")
    for path in ("/", "/conversations"):
        body = c.get(path).body
        assert PHONE not in body and "07700 900123" not in body, path
        assert "•••••••••123" in body or "••••• •••123" in body
    page = c.get("/conversations").body
    ref = re.search(r'href="/conversations/([0-9a-f]{32})">•••••••••123<', page).group(1)
    t = c.get(f"/conversations/{ref}").body
    assert PHONE not in t and "07700 900123" not in t and "call me on ••••• •••123" in t
    assert "Please call 999 now." in t  # bot text (clinic/emergency numbers) is not masked
    for path in (
        f"/conversations/{ref}/export.csv",
        f"/conversations/{ref}/export.jsonl",
        "/conversations/export.csv",
        "/reports/unanswered/export.csv",
        "/reports/unanswered/export.yml",
    ):
        assert c.get(path).status == 403, path
    for path in ("/audit", "/reports/unanswered", f"/conversations/{ref}/delete"):
        assert c.get(path).status == 403, path
    assert c.form_post(f"/conversations/{ref}", f"/conversations/{ref}/delete", {"confirm": "DELETE"}).status == 403
    digits = c.get("/conversations?q=7700+900").body
    assert "Searching for numbers needs a clinician or admin account" in digits
    t = c.get(f"/conversations/{ref}").body
    assert "/export.csv" not in t and "/delete" not in t  # no links to what the role cannot do


def test_ticket_acknowledge_and_close(live_console, data):
    c = logged_in(live_console, "reception")
    tid = data["ticket"]
    r = c.form_post("/", f"/tickets/{tid}/ack", {"next": f"/#ticket-{tid}"})
    assert r.status == 303 and r.header("Location") == f"/#ticket-{tid}"
    assert data["store"].get(tid).status == "acknowledged"
    assert "acknowledged" in c.get("/").body
    r = c.form_post("/", f"/tickets/{tid}/close", {"note": "  ", "next": "/"})
    assert data["store"].get(tid).status == "acknowledged"
    assert "needs a note" in c.get("/").body
    r = c.form_post("/", f"/tickets/{tid}/close", {"note": "Called the patient; sent to A&E.", "next": "https://evil.example"})
    assert r.header("Location") == "/"
    t = data["store"].get(tid)
    assert (t.status, t.updated_by, t.note) == ("closed", "reception", "Called the patient; sent to A&E.")
    assert f'id="ticket-{tid}"' not in c.get("/").body  # closed tickets leave the queue


def test_reply_and_resume_go_through_rasas_api(live_console, data):
    rasa = live_console.rasa
    c = logged_in(live_console, "clinician")
    ref = ref_of(c, PHONE)
    page = c.get(f"/conversations/{ref}")
    assert 'id="send-reply"' in page.body and "in handoff" in page.body
    r = c.form_post(f"/conversations/{ref}", f"/conversations/{ref}/reply", {"text": "Hello, this is the clinic. <b>Call us</b>"})
    assert r.status == 303
    (sent,) = rasa.wait_for(f"/conversations/{PHONE}/tracker/events")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(sent.path).query)
    # the owning channel (not "latest", which another channel's message could redirect), and
    # the API credential in a header (a short-lived JWT), never in the URL
    assert query["output_channel"] == ["whatsapp"] and "token" not in query
    claims = jwt.decode(sent.headers["Authorization"].split()[1], "rasa-test-jwt-secret-0123456789abcdef", algorithms=["HS256"])
    assert claims["user"]["role"] == "admin"
    assert sent.json() == [
        {"event": "bot", "text": "Hello, this is the clinic. <b>Call us</b>", "metadata": {"staff_reply": True, "staff": "Clinician"}}
    ]  # the display name
    assert "Reply sent." in c.get(f"/conversations/{ref}").body
    # hand back to the bot
    r = c.form_post(f"/conversations/{ref}", f"/conversations/{ref}/resume", {})
    assert r.status == 303
    events = rasa.wait_for(f"/conversations/{PHONE}/tracker/events", count=2)[1].json()
    assert events[0] == {"event": "slot", "name": "handoff_active", "value": False}
    # the fake Rasa does not write the tracker; do what Rasa would, then replies are refused
    w = live_console.writer
    w.save(PHONE, [w.slot("handoff_active", False), w.bot("You're chatting with the assistant again.")])
    r = c.form_post(f"/conversations/{ref}", f"/conversations/{ref}/reply", {"text": "still there?"})
    assert "not in handoff" in c.get(f"/conversations/{ref}").body
    assert len(rasa.matching(f"/conversations/{PHONE}/tracker/events")) == 2
    # Rasa failing is reported, not hidden
    w.save(PHONE, [w.slot("handoff_active", True)])
    rasa.script(f"/conversations/{PHONE}", (500, {"error": "boom"}, 0.0))
    c.form_post(f"/conversations/{ref}", f"/conversations/{ref}/reply", {"text": "are you there?"})
    assert "did not accept this" in c.get(f"/conversations/{ref}").body


def test_exports(live_console, data):
    c = logged_in(live_console, "clinician")
    ref = ref_of(c, PHONE)
    r = c.get(f"/conversations/{ref}/export.csv")
    assert r.status == 200 and r.header("Content-Type").startswith("text/csv")
    assert r.header("Content-Disposition").startswith("attachment;")
    rows = list(csv.DictReader(io.StringIO(r.body)))
    assert rows[0]["conversation"] == PHONE and any(x["intent"] == "report_red_flag" for x in rows)
    r = c.get(f"/conversations/{ref}/export.jsonl")
    assert all(json.loads(line)["conversation"] == PHONE for line in r.body.splitlines())
    r = c.get("/conversations/export.csv?channel=socketio")
    senders = {x["conversation"] for x in csv.DictReader(io.StringIO(r.body))}
    assert senders == {"web-xss", "web-calm"}
    r = c.get("/conversations/export.jsonl?escalated=yes")
    assert {json.loads(x)["conversation"] for x in r.body.splitlines()} == {PHONE}
    r = c.get("/reports/unanswered/export.csv")
    assert r.status == 200 and "window.__xss" in r.body
    r = c.get("/reports/unanswered/export.yml")
    stub = yaml.safe_load(r.body)
    assert stub["nlu"][0]["intent"] == "unanswered_review_me" and "__xss" in stub["nlu"][0]["examples"]


def test_audit_log_records_views_exports_and_replies(live_console, data):
    admin = logged_in(live_console, "admin")
    ref = ref_of(admin, PHONE)
    admin.get(f"/conversations/{ref}")
    admin.get(f"/conversations/{ref}/export.csv")
    body = admin.get("/audit").body
    for action in ("view", "export", "login"):
        assert f"<td>{action}</td>" in body
    assert f"<td>{PHONE}</td>" in body
    assert 'action="/audit"' in body
    filtered = admin.get("/audit?action=reply").body
    assert "<td>reply</td>" in filtered and "<td>view</td>" not in filtered


def test_erasure_from_the_console(live_console, data):
    w = live_console.writer
    w.save("447700111222", w.session() + [w.user("please delete my data, I'm on 07700 111222", "out_of_scope", 0.9, channel="whatsapp")])
    admin = logged_in(live_console, "admin")
    ref = ref_of(admin, "447700111222")
    admin.get(f"/conversations/{ref}")
    confirm = admin.get(f"/conversations/{ref}/delete")
    assert confirm.status == 200 and "cannot be undone" in confirm.body
    r = admin.form_post(f"/conversations/{ref}/delete", f"/conversations/{ref}/delete", {"confirm": "yes"})
    assert r.header("Location") == f"/conversations/{ref}/delete"
    assert admin.get(f"/conversations/{ref}").status == 200  # still there
    r = admin.form_post(f"/conversations/{ref}/delete", f"/conversations/{ref}/delete", {"confirm": "DELETE"})
    assert r.status == 303 and r.header("Location") == "/conversations"
    listing = admin.get("/conversations").body
    assert "Conversation erased" in listing and "447700111222" not in listing
    assert admin.get(f"/conversations/{ref}").status == 404
    audit = admin.get("/audit").body
    assert "447700111222" not in audit and "erased:" in audit and "<td>delete</td>" in audit


def test_refuses_to_start_without_a_secret_key_unless_dev(tmp_path):
    env = {k: v for k, v in console_environ(tmp_path).items() if k != "CONSOLE_SECRET_KEY"}
    base = {k: v for k, v in os.environ.items() if k != "CONSOLE_SECRET_KEY"}
    run = lambda *extra, e=env: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "console.app", "--port", "1", *extra],
        env={**base, "PYTHONPATH": os.getcwd(), **e},
        capture_output=True,
        text=True,
        timeout=120,
    )
    done = run()
    assert done.returncode == 2 and "CONSOLE_SECRET_KEY is not set" in done.stderr
    done = run(e={**env, "CONSOLE_SECRET_KEY": "too-short"})
    assert done.returncode == 2 and "too short" in done.stderr
    # --dev-secret generates one, stores it in var/ (0600) and reuses it
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "console.app", "--port", str(port), "--dev-secret"],
        env={**base, "PYTHONPATH": os.getcwd(), **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, proc)
    finally:
        stop(proc)
    key_file = tmp_path / "secrets" / "console_secret_key"
    assert len(key_file.read_text().strip()) >= 32 and oct(key_file.stat().st_mode & 0o777) == "0o600"


def test_secure_cookies_when_configured(tmp_path):
    env = {**console_environ(tmp_path), "CONSOLE_COOKIE_SECURE": "always"}
    port = free_port()
    proc = start_console(env, port, tmp_path / "log")
    try:
        wait_http(f"http://127.0.0.1:{port}/health", 60, proc)
        r = Client(f"http://127.0.0.1:{port}").get("/login")
        cookie = r.header("Set-Cookie")
        assert cookie.startswith("__Host-console_login=") and "Secure" in cookie and "HttpOnly" in cookie
        assert r.header("Strict-Transport-Security")
    finally:
        stop(proc)
