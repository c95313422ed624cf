"""Contract tests for inbound WhatsApp messages (fast: no Rasa model): status
callbacks, text, interactive replies, media and reactions becoming (or not becoming)
Rasa UserMessages, messages for another phone number id, redelivered messages
answered once (also across a restart) and a failing handler not stopping the rest.

Each test runs the channel's real blueprint on loopback with a fake Rasa handler
and a fake Graph API (tests/channels/whatsapp_helpers.py).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from channels.whatsapp import UNSUPPORTED_REPLY, ProcessedMessageStore, WhatsAppConfig, WhatsAppInput, WhatsAppOutput
from clinic_bot.db import make_engine
from tests.channels.whatsapp_helpers import (
    PNID,
    WA_ID,
    Harness,
    body_of,
    echo,
    notification,
    text_msg,
    texts,
)
from tests.fakes import RecordingServer

# --------------------------------------------------------------------------- inbound messages


async def test_status_callbacks_are_ignored(harness: Harness) -> None:
    payload = notification(statuses=[{"id": "wamid.S1", "status": "delivered", "timestamp": "1700000000", "recipient_id": WA_ID}])
    resp = await harness.post_json(payload)
    assert resp.status == 200
    assert harness.received == [] and harness.sent() == []


async def test_text_message_becomes_a_user_message(harness: Harness) -> None:
    resp = await harness.post_json(notification(text_msg("how long do facet injections last?", mid="wamid.T1")))
    assert resp.status == 200 and body_of(resp) == {"status": "received"}
    [msg] = harness.received
    assert msg.text == "how long do facet injections last?"
    assert msg.sender_id == WA_ID
    assert msg.input_channel == "whatsapp"
    assert msg.message_id == "wamid.T1"
    assert msg.metadata["whatsapp"]["message_id"] == "wamid.T1"
    assert msg.metadata["whatsapp"]["phone_number_id"] == PNID
    assert "Pat Example" not in json.dumps(msg.metadata)  # no profile name copied into the tracker
    assert isinstance(msg.output_channel, WhatsAppOutput) and msg.output_channel.name() == "whatsapp"


async def test_interactive_replies_carry_the_payload(harness: Harness) -> None:
    button = {
        "from": WA_ID,
        "id": "wamid.B1",
        "timestamp": "1",
        "type": "interactive",
        "interactive": {"type": "button_reply", "button_reply": {"id": "/request_human", "title": "Talk to a person"}},
    }
    row = {
        "from": WA_ID,
        "id": "wamid.L1",
        "timestamp": "2",
        "type": "interactive",
        "interactive": {
            "type": "list_reply",
            "list_reply": {"id": '/choose_faq{"faq_topic":"should_i_rest"}', "title": "Should I rest?", "description": ""},
        },
    }
    template = {"from": WA_ID, "id": "wamid.Q1", "timestamp": "3", "type": "button", "button": {"payload": "/greet", "text": "Hi"}}
    resp = await harness.post_json(notification(button, row, template))
    assert resp.status == 200
    assert [m.text for m in harness.received] == ["/request_human", '/choose_faq{"faq_topic":"should_i_rest"}', "/greet"]


@pytest.mark.parametrize(
    "kind,section",
    [
        ("image", {"id": "media1", "mime_type": "image/jpeg"}),
        ("audio", {"id": "media2", "mime_type": "audio/ogg", "voice": True}),
        ("sticker", {"id": "media3", "mime_type": "image/webp"}),
        ("location", {"latitude": 51.5, "longitude": -0.1}),
        ("video", {"id": "media4"}),
        ("document", {"id": "media5", "filename": "scan.pdf"}),
        ("contacts", [{"name": {"formatted_name": "A"}}]),
        ("unsupported", {}),
    ],
)
async def test_unsupported_media_gets_polite_text_reply(harness: Harness, kind: str, section: Any) -> None:
    msg = {"from": WA_ID, "id": f"wamid.{kind}", "timestamp": "1", "type": kind, kind: section}
    resp = await harness.post_json(notification(msg))
    assert resp.status == 200
    assert harness.received == []  # no Rasa call
    [sent] = harness.sent()
    assert sent["to"] == WA_ID and sent["type"] == "text"
    assert sent["text"]["body"] == UNSUPPORTED_REPLY and "only read text messages" in sent["text"]["body"]


async def test_reactions_are_not_answered(harness: Harness) -> None:
    msg = {"from": WA_ID, "id": "wamid.R1", "timestamp": "1", "type": "reaction", "reaction": {"message_id": "wamid.OUT", "emoji": "👍"}}
    await harness.post_json(notification(msg))
    assert harness.received == [] and harness.sent() == []


async def test_photo_caption_is_read_so_red_flags_are_not_missed(harness: Harness) -> None:
    msg = {"from": WA_ID, "id": "wamid.C1", "timestamp": "1", "type": "image", "image": {"id": "media", "caption": "my legs are numb"}}
    await harness.post_json(notification(msg))
    assert [m.text for m in harness.received] == ["my legs are numb"]
    assert "only read the text" in texts(harness.sent())[0]


async def test_message_for_another_phone_number_id_is_ignored(harness: Harness) -> None:
    await harness.post_json(notification(text_msg("hi"), pnid="999999"))
    assert harness.received == []


# --------------------------------------------------------------------------- redelivery


async def test_redelivery_is_answered_once(harness: Harness, config: WhatsAppConfig, db_url: str, graph: RecordingServer) -> None:
    harness.reply = echo
    payload = notification(text_msg("should I rest?", mid="wamid.DUP1"))
    first = await harness.post_json(payload)
    again = await harness.post_json(payload)
    assert first.status == again.status == 200  # Meta must not keep retrying
    # concurrent duplicates: the unique constraint decides, not a read-then-write check
    racing = notification(text_msg("is it serious?", mid="wamid.DUP2"))
    results = await asyncio.gather(*[harness.post(json.dumps(racing).encode()) for _ in range(5)])
    await harness.channel.wait_idle()
    assert [r.status for r in results] == [200] * 5
    assert [m.message_id for m in harness.received] == ["wamid.DUP1", "wamid.DUP2"]
    assert texts(harness.sent()) == ["echo: should I rest?", "echo: is it serious?"]

    # A new channel instance (e.g. after a restart) on the same database file still refuses it.
    restarted = await Harness(WhatsAppInput(config, engine=make_engine(db_url)), graph).start()
    try:
        resp = await restarted.post_json(payload)
        assert resp.status == 200
        assert restarted.received == []
    finally:
        await restarted.stop()
    assert ProcessedMessageStore(make_engine(db_url)).claim("wamid.DUP1") is False


async def test_handler_failure_does_not_stop_other_messages(harness: Harness) -> None:
    harness.reply = echo
    harness.fail_on = {"boom"}
    resp = await harness.post_json(notification(text_msg("boom"), text_msg("after")))
    assert resp.status == 200
    assert [m.text for m in harness.received] == ["boom", "after"]
    sent = texts(harness.sent())
    assert sent[0].startswith("Sorry, something went wrong") and "999" in sent[0]
    assert sent[1] == "echo: after"
