"""Shared helpers for the reliability tests (they all use the session `stack`).

The bad-input tests (tests/reliability/test_bad_input_*.py, one per entry point) all
follow one rule: every case must get a clear answer or a 4xx (never a 5xx, never a
crash), and afterwards a normal question from a normal sender ("should I rest?")
still gets its normal answer. Cases that fail today because of Rasa's stock
channels are marked xfail(strict) with the exact cause: when they are fixed, the
marker must go.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from clinic_bot.launcher import Stack
from clinic_bot.safety import message_urgency
from tests.conftest import new_sender, rasa_api, rest_send

ROOT = Path(__file__).resolve().parents[2]
_FAQ = yaml.safe_load((ROOT / "domain" / "faq.yml").read_text())["responses"]
# the channels the stack runs (the socket.io and WhatsApp bad-input tests read their settings)
CREDENTIALS = (ROOT / "credentials.yml").read_text()

# The answer every test checks the assistant still gives after bad input.
REST_QUESTION = "should I rest?"
REST_ANSWER = _FAQ["utter_faq/should_i_rest"][0]["text"]
REST_MORE = _FAQ["utter_faq/should_i_rest"][0]["metadata"]["more"]
ARTHRITIS_QUESTION = "is it arthritis?"
ARTHRITIS_ANSWER = _FAQ["utter_faq/is_it_arthritis"][0]["text"]
DISCLAIMER_START = "Hi, I'm the"
# A clear, first-person red flag (tests/e2e/test_red_flags_rest.py escalates it as cauda_equina).
RED_FLAG = "since last night i cant tell when i need a wee and it's numb down below"

# Bad text, the same on every entry point.
BIG_TEXT = ("My lower back has been sore for weeks and I keep wondering whether I should rest or keep moving. " * 1100)[:100_000]
TEXT_CASES = {
    "empty": "",
    "whitespace": "   \t\n   \n ",
    "100kb": BIG_TEXT,
    "control_chars": "\x00\x01\x07\x08\x1b[31m should\x7f I rest?\u200b\u202e\ufeff",
    "emoji_only": "😀🙏🔥💀🤷‍♀️",
    "arabic": "هل يجب أن أرتاح أم أتحرك؟ ظهري يؤلمني",
    "chinese": "我的腰很痛，我应该休息吗？",
    "polish": "Czy powinienem odpoczywać, czy się ruszać? Bolą mnie plecy w odcinku lędźwiowym.",
}
LONG_ID = "x" * 10_240


def texts(messages: Any) -> List[str]:
    return [m.get("text") or "" for m in messages if isinstance(m, dict)] if isinstance(messages, list) else []


def is_clear_answer(messages: Any) -> bool:
    """At least one bot message that answers the turn (the session disclaimer alone does not)."""
    return any(t and not t.startswith(DISCLAIMER_START) for t in texts(messages))


def has_safety_message(messages: Any) -> bool:
    return isinstance(messages, list) and any(message_urgency(m) for m in messages)


def raw_post(url: str, body: bytes, headers: Optional[Dict[str, str]] = None, timeout: float = 120.0) -> Tuple[int, bytes]:
    """POST raw bytes; returns (status, body) for any HTTP status (no exception on 4xx/5xx)."""
    req = urllib.request.Request(url, data=body, headers=headers or {"Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def service(stack: Stack, name: str):
    svc = next((s for s in stack.services if s.name == name), None)
    if svc is None:
        raise AssertionError(f"the stack has no {name!r} (services: {[s.name for s in stack.services]})")
    return svc


def running(stack: Stack, name: str) -> bool:
    svc = next((s for s in stack.services if s.name == name), None)
    return bool(svc and svc.proc and svc.proc.poll() is None)


def assert_servers_alive(stack: Stack) -> None:
    dead = {s.name: s.proc.returncode for s in stack.services if s.proc and s.proc.poll() is not None}
    assert not dead, f"server(s) exited: {dead}; logs in tests/artifacts/logs/"


def assert_still_answers(stack: Stack) -> None:
    """The servers are up and a normal question from a normal sender gets its normal answer."""
    assert_servers_alive(stack)
    replies = texts(rest_send(stack, new_sender("after-bad-input"), REST_QUESTION))
    assert REST_ANSWER in replies, f"{REST_QUESTION!r} no longer answered normally: {replies}"


def crash(stack: Stack, name: str) -> None:
    """SIGKILL a server's whole process group (a crash, not a clean stop)."""
    svc = service(stack, name)
    if svc.proc and svc.proc.poll() is None:
        os.killpg(svc.proc.pid, signal.SIGKILL)
        svc.proc.wait(timeout=20)


def ensure_running(stack: Stack, name: str) -> None:
    """Restore a server the test stopped (always called in `finally`)."""
    if not running(stack, name):
        stack.restart_service(name)


def tracker(stack: Stack, sender: str) -> Dict[str, Any]:
    from urllib.parse import quote

    return rasa_api(stack, "GET", f"/conversations/{quote(sender, safe='')}/tracker")


def user_texts(events: List[Dict[str, Any]]) -> List[str]:
    return [e.get("text") for e in events if e.get("event") == "user"]


def tickets_for(sender: str):
    from clinic_bot.db import get_engine
    from clinic_bot.tickets import TicketStore

    return TicketStore(get_engine()).list(statuses=("open", "acknowledged", "closed"), conversation_id=sender)


def wait_until(predicate, timeout_s: float = 15.0, interval_s: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval_s)
    return bool(predicate())


# ---- WhatsApp

WHATSAPP_APP_SECRET = "test-app-secret"  # tests/conftest.py TEST_SECRETS
WHATSAPP_PHONE_NUMBER_ID = "1234567890"


def whatsapp_signature(body: bytes, secret: str = WHATSAPP_APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def whatsapp_notification(wa_id: str, message: Dict[str, Any]) -> Dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "0",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550000000", "phone_number_id": WHATSAPP_PHONE_NUMBER_ID},
                            "contacts": [{"profile": {"name": "Test"}, "wa_id": wa_id}],
                            "messages": [message],
                        },
                    }
                ],
            }
        ],
    }


def whatsapp_text(wa_id: str, text: Any, message_id: str) -> Dict[str, Any]:
    return whatsapp_notification(wa_id, {"from": wa_id, "id": message_id, "timestamp": str(int(time.time())), "type": "text", "text": {"body": text}})


def post_whatsapp(stack: Stack, body: bytes, signature: Optional[str] = "auto", timeout: float = 60.0) -> Tuple[int, bytes]:
    headers = {"Content-Type": "application/json"}
    if signature == "auto":
        signature = whatsapp_signature(body)
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    return raw_post(f"{stack.rasa_url}/webhooks/whatsapp/webhook", body, headers, timeout=timeout)


def graph_messages_to(recorder, wa_id: str) -> List[Dict[str, Any]]:
    out = []
    for r in recorder.matching("/graph"):
        try:
            payload = r.json()
        except ValueError:
            continue
        if isinstance(payload, dict) and payload.get("to") == wa_id:
            out.append(payload)
    return out


def graph_texts(payloads: List[Dict[str, Any]]) -> List[str]:
    out = []
    for p in payloads:
        if p.get("type") == "text":
            out.append((p.get("text") or {}).get("body", ""))
        elif p.get("type") == "interactive":
            out.append(((p.get("interactive") or {}).get("body") or {}).get("text", ""))
    return out


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")
