"""WhatsApp end to end: signed Meta webhooks into the real Rasa server (trained
model, action server), replies captured by the RecordingServer standing in for
the Graph API (WHATSAPP_GRAPH_URL set by the `stack` fixture).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import random
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Dict, List

import pytest
import yaml

from clinic_bot.db import get_engine
from clinic_bot.launcher import Stack
from clinic_bot.tickets import TicketStore
from tests.conftest import GRAPH_PATH, TEST_SECRETS, rasa_api
from tests.fakes import RecordingServer

pytestmark = pytest.mark.stack

PNID = TEST_SECRETS["WHATSAPP_PHONE_NUMBER_ID"]
MESSAGES_PATH = f"{GRAPH_PATH}/{PNID}/messages"
FAQ_FILE = Path(__file__).resolve().parents[2] / "domain" / "faq.yml"


def new_wa_id() -> str:
    return "4477009" + "".join(random.choice("0123456789") for _ in range(5))


def text_message(wa_id: str, body: str, mid: str = "") -> Dict[str, Any]:
    return {"from": wa_id, "id": mid or f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time())), "type": "text", "text": {"body": body}}


def notification(wa_id: str, message: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
                            "contacts": [{"profile": {"name": "Test Patient"}, "wa_id": wa_id}],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }


def post_webhook(stack: Stack, payload: Dict[str, Any]) -> int:
    body = json.dumps(payload).encode()
    signature = "sha256=" + hmac.new(TEST_SECRETS["WHATSAPP_APP_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    req = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Hub-Signature-256": signature},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def replies(recorder: RecordingServer, wa_id: str) -> List[Dict[str, Any]]:
    return [p for p in (r.json() for r in recorder.matching(MESSAGES_PATH)) if p.get("to") == wa_id]


def reply_text(payload: Dict[str, Any]) -> str:
    if payload.get("type") == "text":
        return payload["text"]["body"]
    if payload.get("type") == "interactive":
        return payload["interactive"]["body"]["text"]
    return ""


def wait_reply(recorder: RecordingServer, wa_id: str, match: Callable[[str], bool], timeout_s: float = 90.0) -> List[Dict[str, Any]]:
    """Wait until a reply to `wa_id` matches; returns all replies to them so far."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = replies(recorder, wa_id)
        if any(match(reply_text(p)) for p in found):
            return found
        time.sleep(0.2)
    raise AssertionError(f"no matching reply; got: {[reply_text(p) for p in replies(recorder, wa_id)]}")


def faq_text(topic: str) -> str:
    with FAQ_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)["responses"][f"utter_faq/{topic}"][0]["text"]


def test_faq_question_is_answered_on_whatsapp(stack: Stack, recorder: RecordingServer) -> None:
    wa_id = new_wa_id()
    assert post_webhook(stack, notification(wa_id, text_message(wa_id, "how long do facet injections last?"))) == 200
    got = wait_reply(recorder, wa_id, lambda t: "2–6 months" in t)
    answer = next(reply_text(p) for p in got if "2–6 months" in reply_text(p))
    assert answer.startswith(faq_text("injection_duration")[:60])
    assert all(p["messaging_product"] == "whatsapp" for p in got)
    [req] = [r for r in recorder.matching(MESSAGES_PATH) if r.json().get("to") == wa_id][:1]
    assert req.headers["Authorization"] == f"Bearer {TEST_SECRETS['WHATSAPP_ACCESS_TOKEN']}"


def test_faq_answer_comes_with_reply_buttons_for_more_and_a_person(stack: Stack, recorder: RecordingServer) -> None:
    wa_id = new_wa_id()
    assert post_webhook(stack, notification(wa_id, text_message(wa_id, "should I rest?"))) == 200
    opening = faq_text("should_i_rest")[:50]
    got = wait_reply(recorder, wa_id, lambda t: t.startswith(opening))
    answer = next(p for p in got if reply_text(p).startswith(opening))
    assert answer["type"] == "interactive" and answer["interactive"]["type"] == "button"
    buttons = [b["reply"] for b in answer["interactive"]["action"]["buttons"]]
    assert [b["title"] for b in buttons] == ["Tell me more", "Talk to a person"]
    assert buttons[0]["id"] == '/more_info{"faq_topic":"should_i_rest"}' and buttons[1]["id"] == "/request_human"
    tap = {
        "from": wa_id,
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": buttons[0]["id"], "title": "Tell me more"}},
    }
    assert post_webhook(stack, notification(wa_id, tap)) == 200
    with FAQ_FILE.open(encoding="utf-8") as fh:
        more = yaml.safe_load(fh)["responses"]["utter_faq/should_i_rest"][0]["metadata"]["more"]
    wait_reply(recorder, wa_id, lambda t: t.startswith(more[:50]))


def test_button_reply_payload_reaches_the_dialogue(stack: Stack, recorder: RecordingServer) -> None:
    wa_id = new_wa_id()
    tap = {
        "from": wa_id,
        "id": f"wamid.{uuid.uuid4().hex}",
        "timestamp": str(int(time.time())),
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": '/choose_faq{"faq_topic":"should_i_rest"}', "title": "Should I rest?"}},
    }
    assert post_webhook(stack, notification(wa_id, tap)) == 200
    opening = faq_text("should_i_rest")[:50]
    wait_reply(recorder, wa_id, lambda t: t.startswith(opening))


def test_red_flag_gets_emergency_advice_and_a_ticket(stack: Stack, recorder: RecordingServer) -> None:
    wa_id = new_wa_id()
    assert post_webhook(stack, notification(wa_id, text_message(wa_id, "I've wet myself and my legs are numb"))) == 200
    got = wait_reply(recorder, wa_id, lambda t: "999" in t and "straight away" in t)
    safety = next(reply_text(p) for p in got if "straight away" in reply_text(p))
    assert safety.startswith("⚠️ ")  # urgency from the response's `metadata`
    assert "999" in safety and "A&E" in safety
    assert not any(reply_text(p).lstrip().startswith("{") for p in got)  # custom JSON never dumped at the person

    store = TicketStore(get_engine(os.environ["CLINIC_DB_URL"]))
    deadline = time.monotonic() + 30
    tickets = []
    while time.monotonic() < deadline and not tickets:
        tickets = store.list(conversation_id=wa_id)
        time.sleep(0.3)
    assert tickets, "no handoff ticket recorded"
    ticket = tickets[0]
    assert ticket.urgency == "emergency"
    assert ticket.channel == "whatsapp"
    assert "wet myself" in ticket.trigger_message
    wait_reply(recorder, wa_id, lambda t: "alerted the clinic team" in t, timeout_s=30)


def test_redelivered_message_is_answered_once(stack: Stack, recorder: RecordingServer) -> None:
    wa_id = new_wa_id()
    payload = notification(wa_id, text_message(wa_id, "should I rest?", mid=f"wamid.{uuid.uuid4().hex}"))
    assert post_webhook(stack, payload) == 200
    opening = faq_text("should_i_rest")[:50]
    wait_reply(recorder, wa_id, lambda t: t.startswith(opening))
    time.sleep(2)  # let any further messages of this turn arrive
    answered = len(replies(recorder, wa_id))

    assert post_webhook(stack, payload) == 200  # Meta redelivers: we still acknowledge
    with ThreadPoolExecutor(4) as pool:  # and concurrent duplicates
        assert list(pool.map(lambda _: post_webhook(stack, payload), range(4))) == [200] * 4
    time.sleep(5)
    assert len(replies(recorder, wa_id)) == answered
    tracker = rasa_api(stack, "GET", f"/conversations/{wa_id}/tracker?include_events=ALL")
    user_events = [e for e in tracker["events"] if e.get("event") == "user"]
    assert len(user_events) == 1
    assert user_events[0]["input_channel"] == "whatsapp"
    assert user_events[0]["message_id"] == payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]


def test_staff_reply_via_http_api_reaches_whatsapp(stack: Stack, recorder: RecordingServer) -> None:
    wa_id = new_wa_id()
    assert post_webhook(stack, notification(wa_id, text_message(wa_id, "what are facet joints?"))) == 200
    wait_reply(recorder, wa_id, lambda t: bool(t))
    staff_text = f"Hello, this is Sam from the clinic ({uuid.uuid4().hex[:6]})."
    rasa_api(
        stack,
        "POST",
        f"/conversations/{wa_id}/tracker/events?include_events=NONE&output_channel=latest&execute_side_effects=true",
        [{"event": "bot", "text": staff_text, "metadata": {"staff_reply": True}}],
    )
    wait_reply(recorder, wa_id, lambda t: t == staff_text, timeout_s=30)


def test_unsigned_webhook_is_refused_by_the_real_server(stack: Stack) -> None:
    wa_id = new_wa_id()
    body = json.dumps(notification(wa_id, text_message(wa_id, "hello"))).encode()
    req = urllib.request.Request(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 403
    verify = urllib.request.urlopen(
        f"{stack.rasa_url}/webhooks/whatsapp/webhook?hub.mode=subscribe&hub.challenge=abc123"
        f"&hub.verify_token={TEST_SECRETS['WHATSAPP_VERIFY_TOKEN']}",
        timeout=30,
    )
    assert verify.status == 200 and verify.read() == b"abc123"
