"""Issue 11's probes, against the real stack `make run` starts (Rasa, action server, console).

Each test is one probe that succeeded against the stack before the fix: the
REST channel writing into other channels' conversations, a staff reply lost to
"latest", giant messages and metadata, typed intents filing tickets, repeated
red flags flooding the queue, open CORS, the API token in URLs and argv,
telemetry, and widget sessions taken over by naming someone's id.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from clinic_bot.db import get_engine
from clinic_bot.rasa_api import RasaApi
from clinic_bot.tickets import TicketStore
from tests.conftest import new_sender, rasa_api
from tests.reliability.test_bad_input_socketio import SioChat, sio_texts

pytestmark = pytest.mark.stack

REST_QUESTION = "should I rest with facet joint pain?"
REST_ANSWER = "Complete rest usually isn't helpful"
RED_FLAG = "I can't feel anything when I wipe and I've wet myself"
TOO_LONG = "too long for me to read all of it"
SLOW_DOWN = "faster than I can read them"


def post(
    url: str, body: Any, headers: Optional[Dict[str, str]] = None, raw: Optional[bytes] = None, method: str = "POST"
) -> Tuple[int, Any, Dict[str, str]]:
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            text = resp.read()
            return resp.status, json.loads(text) if text.strip().startswith((b"[", b"{")) else text, dict(resp.headers)
    except urllib.error.HTTPError as err:
        text = err.read()
        try:
            return err.code, json.loads(text), dict(err.headers)
        except ValueError:
            return err.code, text, dict(err.headers)


def rest(stack, sender: str, message: str, headers: Optional[Dict[str, str]] = None, **extra: Any) -> Tuple[int, Any, Dict[str, str]]:
    return post(f"{stack.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message, **extra}, headers)


def texts(messages: List[Dict[str, Any]]) -> str:
    return " ".join(m.get("text") or "" for m in messages)


def tickets_for(sender: str):
    return TicketStore(get_engine()).list(statuses=("open", "acknowledged", "closed"), conversation_id=sender)


# ------------------------------------------------------------------ REST channel (11.2)


@pytest.mark.parametrize("sender", ["447700900123", "whatsapp:+15551234567", "0123456789abcdef0123456789abcdef"])
def test_rest_refuses_other_channels_sender_ids(stack, sender: str) -> None:
    status, body, _ = rest(stack, sender, "tell me more")
    assert status == 400 and "another channel" in body["message"]


def test_rest_cannot_reach_a_conversation_owned_by_another_channel(stack) -> None:
    conversation = new_sender("owned")
    rasa_api(
        stack,
        "POST",
        f"/conversations/{conversation}/tracker/events",
        [{"event": "user", "text": "should I rest?", "input_channel": "socketio", "parse_data": {"intent": {"name": "faq"}, "entities": []}}],
    )
    status, body, _ = rest(stack, conversation, "tell me more")
    assert status == 403 and "another channel" in body["error"]


def test_rest_refuses_callers_through_a_proxy(stack) -> None:
    status, body, _ = rest(stack, new_sender(), REST_QUESTION, {"X-Forwarded-For": "203.0.113.7"})
    assert status == 403 and "local" in body["error"]


def test_staff_reply_reaches_the_widget_that_owns_the_conversation(stack) -> None:
    chat = SioChat(stack.rasa_url)
    try:
        session = chat.session()
        assert REST_ANSWER in " ".join(sio_texts(chat.ask(session, REST_QUESTION, wait=60, until=lambda rs: REST_ANSWER in " ".join(sio_texts(rs)))))
        # a REST message under the widget's id used to make REST the "latest" channel
        assert rest(stack, session, "tell me more")[0] == 400
        asyncio.run(RasaApi(stack.rasa_url, stack.token).staff_reply(session, "Hello from the clinic team", "Sam"))
        replies = chat.drain(first_wait=20)
        assert "Hello from the clinic team" in sio_texts(replies)
    finally:
        chat.close()


# ------------------------------------------------------------------ size, load and rate (11.3)


def test_a_body_over_the_request_cap_is_refused_before_nlu(stack) -> None:
    status, _, _ = rest(stack, new_sender(), "x " * 600_000)
    assert status == 413


def test_large_metadata_is_not_stored(stack) -> None:
    sender = new_sender("meta")
    status, _, _ = rest(stack, sender, REST_QUESTION, metadata={"blob": "m" * 20_000})
    assert status == 200
    events = rasa_api(stack, "GET", f"/conversations/{sender}/tracker?include_events=ALL")["events"]
    user = [e for e in events if e["event"] == "user"][-1]
    assert "blob" not in json.dumps(user["metadata"]) and user["metadata"]["dropped_metadata_bytes"] > 20_000


# one sentence that both layers read as an ordinary FAQ question, repeated to any length
GIANT_SENTENCE = "Please can you explain what the facet joints are and what they do in the spine. "


def test_an_overlong_message_asks_for_a_shorter_one(stack) -> None:
    sender = new_sender("long")
    # ~18,000 characters of a plain question. (The ML layer reads some 3,000-character runs of one
    # back-pain sentence, e.g. "I sit at a desk all day...", as a red flag with no category, and
    # escalates: the kept part is read for safety first; reports/red_flag_report.md, known weaknesses.)
    filler = GIANT_SENTENCE * 230
    status, replies, _ = rest(stack, sender, filler + "Should I rest?")
    assert status == 200 and TOO_LONG in texts(replies)
    events = rasa_api(stack, "GET", f"/conversations/{sender}/tracker?include_events=ALL")["events"]
    user = [e for e in events if e["event"] == "user"][-1]
    assert len(user["text"]) <= 3000 and user["metadata"]["truncated_from"] == len(filler) + len("Should I rest?")


def test_a_red_flag_in_the_kept_part_of_an_overlong_message_still_escalates(stack) -> None:
    sender = new_sender("longflag")
    status, replies, _ = rest(stack, sender, RED_FLAG + ". " + "I have had back pain for a long time. " * 500)
    assert status == 200 and TOO_LONG not in texts(replies)
    assert any((m.get("metadata") or {}).get("urgency") == "emergency" for m in replies)
    assert len(tickets_for(sender)) == 1


def test_one_patients_giant_messages_do_not_hold_up_anothers_safety_advice(stack) -> None:
    """Eight maximum-size messages at once beside one red flag: the red flag is answered, with
    its advice, and every giant message gets its own reply (nothing is dropped)."""
    filler = GIANT_SENTENCE * 360
    with ThreadPoolExecutor(max_workers=9) as pool:
        giants = [pool.submit(rest, stack, new_sender("giant"), filler) for _ in range(8)]
        flagged = new_sender("urgent")
        urgent = pool.submit(rest, stack, flagged, RED_FLAG)
        status, replies, _ = urgent.result(timeout=300)
        assert status == 200 and any((m.get("metadata") or {}).get("urgency") for m in replies)
        assert all(g.result(timeout=300)[0] == 200 and TOO_LONG in texts(g.result()[1]) for g in giants)


def test_a_conversation_over_its_message_rate_is_asked_to_wait(stack) -> None:
    sender = new_sender("rate")
    replies = [texts(rest(stack, sender, f"hello {i}")[1]) for i in range(21)]
    assert not any(SLOW_DOWN in r for r in replies[:20])
    assert SLOW_DOWN in replies[20] and "999" in replies[20]
    assert SLOW_DOWN not in texts(rest(stack, new_sender("other"), "hello")[1])  # others are not affected


# ------------------------------------------------------------------ typed intents and repeats (11.6)


def test_a_typed_intent_with_markup_files_no_ticket(stack) -> None:
    sender = new_sender("forge")
    status, replies, _ = rest(stack, sender, '/report_red_flag{"red_flag": "<img src=x>"}')
    assert status == 200 and tickets_for(sender) == []
    assert not any((m.get("metadata") or {}).get("urgency") for m in replies)
    events = rasa_api(stack, "GET", f"/conversations/{sender}/tracker?include_events=ALL")["events"]
    assert [e["parse_data"]["intent"]["name"] for e in events if e["event"] == "user"] != ["report_red_flag"]


def test_an_offered_button_payload_is_still_an_intent(stack) -> None:
    sender = new_sender("button")
    greeting = rest(stack, sender, "/greet")[1]
    payload = next(b["payload"] for m in greeting for b in m.get("buttons") or [] if "should_i_rest" in b["payload"])
    assert REST_ANSWER in texts(rest(stack, sender, payload)[1])
    # a payload typed in a conversation where it was never offered is read as words, not as an intent
    typed = new_sender("typed")
    rest(stack, typed, '/choose_faq{"faq_topic":"surgery"}')
    events = rasa_api(stack, "GET", f"/conversations/{typed}/tracker?include_events=ALL")["events"]
    (user,) = [e for e in events if e["event"] == "user"]
    assert user["text"] == 'choose_faq{"faq_topic":"surgery"}' and user["parse_data"]["intent"]["name"] != "choose_faq"


def test_repeated_red_flags_join_one_ticket(stack) -> None:
    sender = new_sender("repeat")
    for _ in range(3):
        assert rest(stack, sender, RED_FLAG)[0] == 200
    (ticket,) = tickets_for(sender)
    assert TicketStore(get_engine()).repeats(ticket.id) == 2


# ------------------------------------------------------------------ CORS and credentials (11.5, low)


def test_http_api_never_answers_cross_origin(stack) -> None:
    for method, path in (("GET", "/status"), ("OPTIONS", "/conversations/x/tracker"), ("OPTIONS", "/webhooks/rest/webhook")):
        status, _, headers = post(
            f"{stack.rasa_url}{path}", None, {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}, method=method
        )
        assert "access-control-allow-origin" not in {k.lower() for k in headers}, (method, path, status)


def test_socketio_answers_only_the_clinics_origins(stack) -> None:
    url = f"{stack.rasa_url}/socket.io/?EIO=4&transport=polling"
    status, _, headers = post(url, None, {"Origin": "https://evil.example"}, method="GET")
    assert status == 400 and "access-control-allow-origin" not in {k.lower() for k in headers}
    status, _, headers = post(url, None, {"Origin": stack.widget_url}, method="GET")
    assert status == 200 and {k.lower(): v for k, v in headers.items()}["access-control-allow-origin"] == stack.widget_url


def test_api_token_is_not_accepted_in_the_url_nor_shown_in_process_arguments(stack) -> None:
    status, _, _ = post(f"{stack.rasa_url}/status?token={stack.token}", None, method="GET")
    assert status == 401
    status, _, _ = post(f"{stack.rasa_url}/status", None, stack.api_headers(), method="GET")
    assert status == 200
    for svc in stack.services:
        cmdline = Path(f"/proc/{svc.proc.pid}/cmdline").read_bytes().decode(errors="replace")
        assert stack.token not in cmdline and stack.action_secret not in cmdline, svc.name


def test_telemetry_is_off_in_the_rasa_process(stack) -> None:
    rasa = next(s for s in stack.services if s.name == "rasa server")
    environ = Path(f"/proc/{rasa.proc.pid}/environ").read_bytes().split(b"\0")
    assert b"RASA_TELEMETRY_ENABLED=false" in environ


# ------------------------------------------------------------------ widget sessions (11.4)


def test_a_widget_session_cannot_be_taken_over_by_naming_its_id(stack) -> None:
    owner, intruder = SioChat(stack.rasa_url), SioChat(stack.rasa_url)
    try:
        session = owner.session()
        nonce = session.split(".")[0]
        assert intruder.session(nonce) != session  # the old 32-hex format
        assert intruder.session(f"{nonce}.{'f' * 32}") != session  # a forged signature
        assert REST_ANSWER in " ".join(sio_texts(owner.ask(session, REST_QUESTION, wait=60, until=lambda rs: REST_ANSWER in " ".join(sio_texts(rs)))))
        asyncio.run(RasaApi(stack.rasa_url, stack.token).staff_reply(session, "Private reply for the owner", "Sam"))
        assert "Private reply for the owner" in sio_texts(owner.drain(first_wait=20))
        assert "Private reply for the owner" not in sio_texts(intruder.drain(first_wait=2))
        assert owner.session(session) == session  # the owner's own signed id resumes
    finally:
        owner.close()
        intruder.close()


# ------------------------------------------------------------------ staff webhook (low)


def test_staff_webhook_is_signed_by_default(stack, recorder) -> None:
    import hashlib
    import hmac
    import time

    from tests.conftest import STAFF_HOOK_PATH

    sender = new_sender("signed")
    assert rest(stack, sender, RED_FLAG)[0] == 200
    secret = stack.env()["STAFF_WEBHOOK_SECRET"]
    assert secret
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        hits = [r for r in recorder.requests if r.path.startswith(STAFF_HOOK_PATH) and sender.encode() in r.body]
        if hits:
            break
        time.sleep(0.2)
    (hook,) = hits
    expected = "sha256=" + hmac.new(secret.encode(), hook.body, hashlib.sha256).hexdigest()
    assert hook.headers.get("X-Clinic-Signature-256") == expected
