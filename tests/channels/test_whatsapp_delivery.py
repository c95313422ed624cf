"""Failed WhatsApp deliveries are recorded for staff; the Graph API version is supported (issue 11, item 10).

Probe: a staff reply whose Graph API send failed left no trace but a log line; a
`failed` delivery status (outside the 24-hour window) was not even logged; the
default Graph API version was v19.0, past Meta's end of support.
"""

from __future__ import annotations

import json
import logging
from datetime import date

import pytest

from channels.whatsapp import DEFAULT_GRAPH_VERSION, GRAPH_VERSION_END_OF_SUPPORT, WhatsAppConfig, WhatsAppOutput
from channels.whatsapp.delivery_records import parse_failed_status
from clinic_bot.db import make_engine
from clinic_bot.deliveries import DeliveryLog
from tests.channels.whatsapp_helpers import (
    MESSAGES_PATH,
    WA_ID,
    Harness,
    notification,
)

WINDOW_CLOSED = {
    "error": {
        "message": "Re-engagement message",
        "code": 131047,
        "error_data": {"details": "Message failed to send because more than 24 hours have passed"},
    }
}
STAFF_TEXT = "Hello, this is Sam from the clinic, please call us on 01632 960123"


async def test_a_refused_staff_reply_is_recorded_without_its_text(config, graph, db_url) -> None:
    graph.script(MESSAGES_PATH, default=(400, WINDOW_CLOSED, 0.0))
    engine = make_engine(db_url)
    await WhatsAppOutput(config, engine).send_response(WA_ID, {"text": STAFF_TEXT, "staff_reply": True, "staff": "Sam"})
    [failure] = DeliveryLog(engine).failures(WA_ID)
    assert failure.staff_reply and failure.source == "send" and failure.channel == "whatsapp"
    assert failure.error_code == "131047" and "Re-engagement" in failure.reason
    assert "Sam from the clinic" not in failure.summary


async def test_an_assistant_message_that_never_got_through_is_recorded(config, graph, db_url) -> None:
    graph.script(MESSAGES_PATH, default=(503, {"error": {"message": "down", "code": 2}}, 0.0))
    engine = make_engine(db_url)
    await WhatsAppOutput(config, engine).send_response(WA_ID, {"text": "Please call 999 now."})
    [failure] = DeliveryLog(engine).failures(WA_ID)
    assert not failure.staff_reply and failure.error_code == "2"


async def test_failed_status_webhook_is_logged_and_pinned_on_the_staff_reply(harness: Harness, db_url, caplog: pytest.LogCaptureFixture) -> None:
    harness.graph.script(MESSAGES_PATH, default=(200, {"messaging_product": "whatsapp", "messages": [{"id": "wamid.STAFF1"}]}, 0.0))
    out = harness.channel.get_output_channel()
    await out.send_response(WA_ID, {"text": STAFF_TEXT, "staff_reply": True, "staff": "Sam"})
    log = DeliveryLog(make_engine(db_url))
    assert log.failures(WA_ID) == []  # accepted by the API: nothing failed yet
    failed = {
        "id": "wamid.STAFF1",
        "status": "failed",
        "timestamp": "1700000000",
        "recipient_id": WA_ID,
        "errors": [{"code": 131047, "title": "Re-engagement message", "error_data": {"details": "more than 24 hours have passed"}}],
    }
    other = {**failed, "id": "wamid.BOT9", "errors": [{"code": 131026, "title": "Message undeliverable"}]}
    delivered = {"id": "wamid.STAFF2", "status": "delivered", "timestamp": "1700000001", "recipient_id": WA_ID}
    with caplog.at_level(logging.WARNING, logger="channels.whatsapp"):
        resp = await harness.post_json(notification(statuses=[failed, other, delivered]))
    assert resp.status == 200
    staff, bot = log.failures(WA_ID)
    assert staff.staff_reply and staff.source == "status" and staff.error_code == "131047"
    assert "24 hours" in staff.reason
    assert not bot.staff_reply and bot.error_code == "131026"
    assert "131047" in caplog.text and "131026" in caplog.text  # logged, not ignored
    assert WA_ID not in caplog.text and "wamid." not in caplog.text


def test_the_default_graph_api_version_is_supported_and_configurable() -> None:
    cfg = WhatsAppConfig()
    assert cfg.graph_url == f"https://graph.facebook.com/{DEFAULT_GRAPH_VERSION}"
    assert DEFAULT_GRAPH_VERSION != "v19.0" and float(DEFAULT_GRAPH_VERSION[1:]) >= 21.0
    assert GRAPH_VERSION_END_OF_SUPPORT[DEFAULT_GRAPH_VERSION] > date.today()
    assert cfg.graph_version_warning() is None
    env = {"WHATSAPP_GRAPH_VERSION": "v23.0"}
    assert WhatsAppConfig.load(None, env).messages_url.startswith("https://graph.facebook.com/v23.0/")
    assert WhatsAppConfig.load(None, {"WHATSAPP_GRAPH_VERSION": "latest"}).graph_url.endswith(DEFAULT_GRAPH_VERSION)
    old = WhatsAppConfig(graph_version="v19.0").graph_version_warning(today=date(2026, 12, 1))
    assert old and "end of support" in old
    soon = WhatsAppConfig(graph_version="v21.0").graph_version_warning(today=date(2026, 12, 1))
    assert soon and "2027-01-21" in soon


def test_status_failures_carry_no_message_text() -> None:
    parsed = parse_failed_status(
        {"id": "wamid.X", "status": "failed", "recipient_id": WA_ID, "errors": [{"code": 131000, "title": f"Something went wrong for {WA_ID}"}]}
    )
    assert parsed.error_code == "131000" and WA_ID not in parsed.reason
    assert parse_failed_status({"id": "wamid.X", "status": "read", "recipient_id": WA_ID}) is None
    assert parse_failed_status({"status": "failed"}) is None
    assert json.dumps(parsed.__dict__)  # plain values only
