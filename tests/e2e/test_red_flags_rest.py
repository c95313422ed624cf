"""Red flags end to end through the REST channel with the real action server:
safety advice at once, a ticket, a staff notification, and handoff."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from clinic_bot.db import get_engine
from clinic_bot.safety import message_urgency
from clinic_bot.tickets import TicketStore
from tests.conftest import STAFF_HOOK_PATH, new_sender, rasa_api, rest_send

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT.parent / "shared" / "spec" / "red_flags.yml"

# One message per category, worded unlike the spec's examples and the training data.
CATEGORY_MESSAGES = {
    "cauda_equina": "since last night i cant tell when i need a wee and it's numb down below",
    "progressive_neuro_deficit": "my right leg has gone weak and keeps buckling under me, worse than yesterday",
    "cervical_myelopathy": "my hands have gone clumsy, i keep dropping my cup and my balance is off",
    "vascular_neck": "my neck hurts and i suddenly have double vision and feel dizzy",
    "major_trauma": "i came off my motorbike yesterday and now my back is in agony",
    "cancer_or_infection": "i've had night sweats and a temperature with this back pain all week",
    "severe_worsening_pain": "the pain is unbearable now and gets worse every single day",
    "chest_or_breathing": "upper back pain and i'm struggling to breathe with a tight chest",
    "self_harm": "honestly i don't want to be alive anymore with this pain",
}
URGENCY_WORDS = {"emergency": "999", "urgent": "111", "crisis": "116 123"}
NEGATIVES = [
    "I don't have any numbness or bladder problems, is it arthritis?",
    "my mum had cancer years ago, does facet pain run in families?",
    "what are the warning signs I should look out for?",
    "I had a fall ten years ago but that's long healed, should I rest now?",
]


def safety_advice(messages) -> dict:
    """The safety message: its text, with the urgency in its `metadata`
    (channels/rest_validated.py keeps the response's urgency on REST replies)."""
    for m in messages:
        urgency = message_urgency(m)
        if urgency:
            return {"urgency": urgency, "text": m.get("text", "")}
    return {}


def urgency_of(category: str) -> str:
    return {c["id"]: c["urgency"] for c in yaml.safe_load(SPEC.read_text())["categories"]}[category]


def tickets_for(sender: str):
    return TicketStore(get_engine()).list(statuses=("open", "acknowledged", "closed"), conversation_id=sender)


@pytest.mark.parametrize("category", sorted(CATEGORY_MESSAGES))
def test_each_category_escalates_with_the_right_advice(stack, recorder, category: str) -> None:
    sender = new_sender(category)
    messages = rest_send(stack, sender, CATEGORY_MESSAGES[category])
    texts = [m.get("text", "") for m in messages]
    urgency = urgency_of(category)
    safety = safety_advice(messages)
    assert safety.get("urgency") == urgency, texts
    assert URGENCY_WORDS[urgency] in safety["text"], safety
    assert any("member of staff will reply" in t for t in texts)
    (ticket,) = tickets_for(sender)
    assert (ticket.category, ticket.urgency, ticket.channel) == (category, urgency, "rest")
    tracker = rasa_api(stack, "GET", f"/conversations/{sender}/tracker")
    assert tracker["slots"]["handoff_active"] is True and tracker["slots"]["red_flag_category"] == category
    deadline = time.time() + 15
    while time.time() < deadline and tickets_for(sender)[0].notification_status == "pending":
        time.sleep(0.2)
    assert tickets_for(sender)[0].notification_status == "sent"
    assert any(r.json()["ticket"]["conversation_id"] == sender for r in recorder.matching(STAFF_HOOK_PATH))


@pytest.mark.parametrize("text", NEGATIVES)
def test_negative_contexts_do_not_escalate(stack, text: str) -> None:
    sender = new_sender("neg")
    messages = rest_send(stack, sender, text)
    assert not any(message_urgency(m) for m in messages), messages
    assert not tickets_for(sender)


def test_red_flag_inside_a_long_faq_message_still_escalates(stack) -> None:
    sender = new_sender("long")
    text = (
        "Hi, I've had lower back pain for a few weeks and wondered whether I should rest or keep moving, "
        "and how long injections last. Also since yesterday I can't really feel anything when I wipe."
    )
    messages = rest_send(stack, sender, text)
    assert safety_advice(messages).get("urgency") == "emergency", messages
    assert tickets_for(sender)[0].category == "cauda_equina"


def test_handoff_pauses_faq_answers_until_staff_resume(stack) -> None:
    import asyncio

    from clinic_bot.rasa_api import RasaApi

    sender = new_sender("handoff")
    rest_send(stack, sender, CATEGORY_MESSAGES["severe_worsening_pain"])
    assert rest_send(stack, sender, "should I rest?") == []  # recorded for staff, not auto-answered
    api = RasaApi(stack.rasa_url, stack.token)
    asyncio.run(api.staff_reply(sender, "Hi, this is Sam from the clinic. Can you call us now?", "sam"))
    events = rasa_api(stack, "GET", f"/conversations/{sender}/tracker")["events"]
    assert any(e["event"] == "bot" and e.get("text", "").startswith("Hi, this is Sam") for e in events)
    assert any(e["event"] == "user" and e.get("text") == "should I rest?" for e in events)
    # A new red flag during handoff still gets safety advice at once.
    msgs = rest_send(stack, sender, "now i can't feel my legs properly and i've wet myself")
    assert safety_advice(msgs).get("urgency") == "emergency", msgs
    asyncio.run(api.resume_bot(sender, "sam"))
    replies = [m.get("text", "") for m in rest_send(stack, sender, "is it arthritis?")]
    assert any("arthritis" in r.lower() for r in replies), replies


def test_safety_message_still_sent_when_the_action_server_is_down(stack) -> None:
    stack.stop_service("action server")
    try:
        sender = new_sender("noactions")
        messages = rest_send(stack, sender, CATEGORY_MESSAGES["cauda_equina"])
        safety = safety_advice(messages)
        assert safety.get("urgency") == "emergency" and "999" in safety["text"], messages
        # The escalation was in flight: the console's reconciler finishes it
        # (ticket, staff notification, handoff) without the action server.
        deadline = time.time() + 20
        while time.time() < deadline and not tickets_for(sender):
            time.sleep(0.5)
        (ticket,) = tickets_for(sender)
        assert (ticket.category, ticket.urgency) == ("cauda_equina", "emergency")
        while time.time() < deadline and not rasa_api(stack, "GET", f"/conversations/{sender}/tracker")["slots"]["handoff_active"]:
            time.sleep(0.5)
        assert rasa_api(stack, "GET", f"/conversations/{sender}/tracker")["slots"]["handoff_active"] is True
    finally:
        stack.restart_service("action server")
    # and after the restart, nothing is escalated twice
    rest_send(stack, sender, "hello?")
    assert len(tickets_for(sender)) == 1
