"""Contract tests for what the WhatsApp channel sends to the Graph API (fast: no Rasa
model): the text, reply-button and list message shapes, long texts split on sentence
boundaries, red-flag urgency marked in the text, and Graph API failures (retries,
client errors, timeouts, an unreachable API, a slow reply not holding up the webhook).

Sends go to a RecordingServer standing in for the Graph API (tests/channels/whatsapp_helpers.py).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import replace

import pytest

from channels.urgency_marker import URGENT_MARKER
from channels.whatsapp import GraphClient, WhatsAppConfig, WhatsAppOutput
from channels.whatsapp.privacy import mask_phone
from channels.whatsapp.text_splitting import split_text
from tests.channels.whatsapp_helpers import (
    MESSAGES_PATH,
    TOKEN,
    WA_ID,
    Harness,
    echo,
    free_socket,
    notification,
    text_msg,
    texts,
)
from tests.fakes import RecordingServer

GREET_BUTTONS = [
    {"title": "What is facet joint pain?", "payload": '/choose_faq{"faq_topic":"what_is_facet_pain"}'},
    {"title": "Should I rest?", "payload": '/choose_faq{"faq_topic":"should_i_rest"}'},
    {"title": "Talk to a person", "payload": "/request_human"},
]


# --------------------------------------------------------------------------- outbound shapes


async def test_text_reply_shape(harness: Harness) -> None:
    harness.reply = echo
    await harness.post_json(notification(text_msg("hello")))
    [req] = harness.graph.matching(MESSAGES_PATH)
    assert req.method == "POST"
    assert req.headers["Authorization"] == f"Bearer {TOKEN}"
    assert req.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA_ID,
        "type": "text",
        "text": {"preview_url": False, "body": "echo: hello"},
    }


async def test_three_buttons_become_reply_buttons(config: WhatsAppConfig, graph: RecordingServer) -> None:
    out = WhatsAppOutput(config)
    await out.send_response(WA_ID, {"text": "Hello! Ask me anything.", "buttons": [dict(b) for b in GREET_BUTTONS]})
    [payload] = [r.json() for r in graph.matching(MESSAGES_PATH)]
    assert payload["type"] == "interactive"
    inter = payload["interactive"]
    assert inter["type"] == "button"
    assert inter["body"] == {"text": "Hello! Ask me anything."}
    buttons = inter["action"]["buttons"]
    assert [b["type"] for b in buttons] == ["reply"] * 3
    assert [b["reply"]["id"] for b in buttons] == [b["payload"] for b in GREET_BUTTONS]
    assert [b["reply"]["title"] for b in buttons] == ["What is facet joint…", "Should I rest?", "Talk to a person"]
    assert all(len(b["reply"]["title"]) <= 20 for b in buttons)


async def test_four_to_ten_buttons_become_a_list(config: WhatsAppConfig, graph: RecordingServer) -> None:
    out = WhatsAppOutput(config)
    buttons = [
        {"title": "How long do facet joint injections last?", "payload": '/choose_faq{"faq_topic":"injection_duration"}'},
        {"title": "What is a facet joint injection?", "payload": '/choose_faq{"faq_topic":"what_is_facet_injection"}'},
        {"title": "Opening hours", "payload": "/clinic_hours"},
        {"title": "Talk to a person", "payload": "/request_human"},
    ]
    await out.send_text_with_buttons(WA_ID, "Did you mean one of these?", buttons)
    [payload] = [r.json() for r in graph.matching(MESSAGES_PATH)]
    inter = payload["interactive"]
    assert inter["type"] == "list"
    assert inter["body"]["text"] == "Did you mean one of these?"
    assert 0 < len(inter["action"]["button"]) <= 20
    [section] = inter["action"]["sections"]
    rows = section["rows"]
    assert [r["id"] for r in rows] == [b["payload"] for b in buttons]
    assert all(len(r["title"]) <= 24 for r in rows)
    assert rows[0] == {"id": buttons[0]["payload"], "title": "How long do facet joint…", "description": "…injections last?"}
    assert rows[2] == {"id": "/clinic_hours", "title": "Opening hours"}


async def test_more_than_ten_buttons_sends_the_first_ten(config: WhatsAppConfig, graph: RecordingServer) -> None:
    out = WhatsAppOutput(config)
    buttons = [{"title": f"Option {i}", "payload": f"/opt{i}"} for i in range(14)]
    await out.send_text_with_buttons(WA_ID, "Pick one", buttons)
    [payload] = [r.json() for r in graph.matching(MESSAGES_PATH)]
    rows = payload["interactive"]["action"]["sections"][0]["rows"]
    assert [r["id"] for r in rows] == [f"/opt{i}" for i in range(10)]


async def test_long_text_is_split_on_sentence_boundaries(config: WhatsAppConfig, graph: RecordingServer) -> None:
    sentences = [f"Sentence {i} explains a little more about how facet joints move." for i in range(200)]
    text = " ".join(sentences)
    assert len(text) > 2 * 4096
    await WhatsAppOutput(config).send_text_message(WA_ID, text)
    bodies = texts([r.json() for r in graph.matching(MESSAGES_PATH)])
    assert len(bodies) >= 3
    assert all(len(b) < 4096 for b in bodies)
    assert all(b.endswith("move.") for b in bodies)  # each chunk ends at a sentence end
    assert " ".join(bodies) == text  # nothing lost, nothing reordered
    assert split_text("short") == ["short"]
    assert all(len(p) <= 100 for p in split_text("x" * 350, 100))  # no boundary at all: hard cut


async def test_long_text_with_buttons_keeps_body_under_interactive_limit(config: WhatsAppConfig, graph: RecordingServer) -> None:
    text = " ".join(f"Sentence {i} is here." for i in range(120))
    await WhatsAppOutput(config).send_text_with_buttons(WA_ID, text, [dict(GREET_BUTTONS[2])])
    payloads = [r.json() for r in graph.matching(MESSAGES_PATH)]
    assert payloads[-1]["type"] == "interactive"
    assert len(payloads[-1]["interactive"]["body"]["text"]) <= 1024
    assert " ".join(texts(payloads[:-1]) + [payloads[-1]["interactive"]["body"]["text"]]) == text


async def test_red_flag_urgency_is_marked_in_the_text(config: WhatsAppConfig, graph: RecordingServer) -> None:
    """The urgency comes from the response's `metadata` (domain/safety.yml), as BotUttered.message() passes it."""
    out = WhatsAppOutput(config)
    emergency = "Please call 999 now or go to A&E."
    await out.send_response(
        WA_ID, {"text": emergency, "metadata": {"urgency": "emergency"}, "utter_action": "utter_red_flag_safety", "custom": None, "buttons": None}
    )
    await out.send_response(WA_ID, {"text": "Contact NHS 111 today.", "metadata": {"urgency": "urgent"}})
    await out.send_response(WA_ID, {"text": "Talk to Samaritans on 116 123.", "metadata": {"urgency": "crisis"}})
    await out.send_response(WA_ID, {"text": "Facet joints are small joints.", "metadata": {"topic": "what_are_facet_joints"}})
    await out.send_response(WA_ID, {"text": "Old marker.", "custom": {"urgency": "emergency"}})  # not read from custom, never dumped
    await out.send_response(WA_ID, {"custom": {"text": "Call 999."}, "metadata": {"urgency": "emergency"}})
    assert texts([r.json() for r in graph.matching(MESSAGES_PATH)]) == [
        URGENT_MARKER + emergency,
        URGENT_MARKER + "Contact NHS 111 today.",
        "Talk to Samaritans on 116 123.",
        "Facet joints are small joints.",
        "Old marker.",
        URGENT_MARKER + "Call 999.",
    ]


# --------------------------------------------------------------------------- Graph API failures


async def test_graph_500_then_success_is_retried(config: WhatsAppConfig, graph: RecordingServer) -> None:
    graph.script(
        MESSAGES_PATH, (500, {"error": {"message": "temporary", "code": 2}}, 0.0), (429, {"error": {"message": "slow down", "code": 130429}}, 0.0)
    )
    ok = await GraphClient(config).send(WA_ID, {"type": "text", "text": {"body": "hi"}})
    assert ok is True
    reqs = graph.matching(MESSAGES_PATH)
    assert len(reqs) == 3 and len({r.body for r in reqs}) == 1  # the same message, retried


async def test_graph_client_error_is_not_retried_and_number_is_masked(
    config: WhatsAppConfig, graph: RecordingServer, caplog: pytest.LogCaptureFixture
) -> None:
    graph.script(MESSAGES_PATH, default=(400, {"error": {"message": f"Recipient {WA_ID} not in allowed list", "code": 131030}}, 0.0))
    with caplog.at_level(logging.DEBUG):
        await WhatsAppOutput(config).send_text_message(WA_ID, "hi")
    assert len(graph.matching(MESSAGES_PATH)) == 1
    assert "131030" in caplog.text and mask_phone(WA_ID) in caplog.text
    assert WA_ID not in caplog.text


async def test_graph_timeout_is_bounded_and_never_raises(config: WhatsAppConfig, graph: RecordingServer) -> None:
    graph.script(MESSAGES_PATH, default=(200, {"ok": True}, 1.5))
    out = WhatsAppOutput(replace(config, timeout_s=0.3, max_attempts=2, backoff_s=0.05))
    started = time.monotonic()
    await out.send_response(WA_ID, {"text": "are you there?"})  # must not raise
    elapsed = time.monotonic() - started
    assert len(graph.matching(MESSAGES_PATH)) == 2
    assert elapsed < 2.0


async def test_unreachable_graph_api_does_not_raise(config: WhatsAppConfig) -> None:
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    client = GraphClient(replace(config, graph_url=f"http://127.0.0.1:{port}", max_attempts=2))
    assert await client.send(WA_ID, {"type": "text", "text": {"body": "x"}}) is False


async def test_webhook_answers_quickly_while_reply_is_slow(harness: Harness) -> None:
    harness.graph.script(MESSAGES_PATH, default=(200, {"ok": True}, 0.8))
    harness.reply = echo
    started = time.monotonic()
    resp = await harness.post(json.dumps(notification(text_msg("slow?"))).encode())
    assert resp.status == 200 and time.monotonic() - started < 0.5  # handled in the background
    await harness.channel.wait_idle()
    assert texts(harness.sent()) == ["echo: slow?"]
