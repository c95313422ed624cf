"""Contract tests for the WhatsApp channel's configuration and privacy (fast: no Rasa
model): an unconfigured channel answers 503 without crashing, secrets come from the
environment only, the output channel for staff replies, and phone numbers (and the
message ids that encode them) never logged in full.

Tests that need the webhook run the channel's real blueprint on loopback with a fake
Rasa handler and a fake Graph API (tests/channels/whatsapp_helpers.py).
"""

from __future__ import annotations

import base64
import json
import logging
import uuid

import pytest

from channels.whatsapp import WhatsAppConfig, WhatsAppInput, WhatsAppOutput
from channels.whatsapp.privacy import mask_phone
from tests.channels.whatsapp_helpers import (
    MESSAGES_PATH,
    WA_ID,
    WEBHOOK,
    Harness,
    echo,
    notification,
    text_msg,
)
from tests.fakes import RecordingServer

# --------------------------------------------------------------------------- configuration


async def test_not_configured_answers_503_and_does_not_crash(
    graph: RecordingServer, db_url: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for var in ("WHATSAPP_APP_SECRET", "WHATSAPP_VERIFY_TOKEN", "WHATSAPP_ACCESS_TOKEN", "WHATSAPP_PHONE_NUMBER_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(WhatsAppInput, "_warned_not_configured", False)
    with caplog.at_level(logging.WARNING):
        channel = WhatsAppInput.from_credentials(None)
        WhatsAppInput.from_credentials({})
    warnings = [r for r in caplog.records if "not configured" in r.getMessage()]
    assert len(warnings) == 1 and "WHATSAPP_APP_SECRET" in warnings[0].getMessage()
    assert channel.get_output_channel() is None
    h = await Harness(channel, graph).start()
    try:
        post = await h.post(json.dumps(notification(text_msg("hi"))).encode())
        get = await h.get(WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"})
        assert post.status == get.status == 503
        assert post._body == b"WhatsApp channel not configured"
    finally:
        await h.stop()


def test_config_secrets_from_env_and_non_secrets_from_credentials(caplog: pytest.LogCaptureFixture) -> None:
    env = {
        "WHATSAPP_APP_SECRET": "env-secret",
        "WHATSAPP_VERIFY_TOKEN": "env-verify",
        "WHATSAPP_ACCESS_TOKEN": "env-token",
        "WHATSAPP_PHONE_NUMBER_ID": "111",
    }
    assert WhatsAppConfig.load(None, env).graph_url == "https://graph.facebook.com/v25.0"
    with caplog.at_level(logging.WARNING):
        cfg = WhatsAppConfig.load(
            {
                "graph_url": "https://graph.example/v20.0",
                "phone_number_id": 222,
                "app_secret": "from-file",
                "timeout_s": "2.5",
                "max_attempts": "bogus",
            },
            env,
        )
    assert cfg.app_secret == "env-secret"  # a secret in credentials.yml is ignored
    assert cfg.graph_url == "https://graph.example/v20.0" and cfg.phone_number_id == "222"
    assert cfg.timeout_s == 2.5 and cfg.max_attempts == 3
    assert cfg.configured and cfg.messages_url == "https://graph.example/v20.0/222/messages"
    assert "from-file" not in caplog.text and "env-secret" not in caplog.text


def test_get_output_channel_for_staff_replies(config: WhatsAppConfig) -> None:
    out = WhatsAppInput(config).get_output_channel()
    assert isinstance(out, WhatsAppOutput) and out.name() == "whatsapp"
    assert WhatsAppInput.name() == "whatsapp"


def test_mask_phone() -> None:
    assert mask_phone("447700900123") == "*********123"
    assert mask_phone("12") == "***" and mask_phone(None) == "***"


def real_wamid(wa_id: str = WA_ID) -> str:
    """Real WhatsApp ids are base64 and carry the sender's number."""
    return "wamid." + base64.b64encode(b"\x18\x0c" + wa_id.encode() + b"\x15\x02\x00\x12\x18" + uuid.uuid4().bytes).decode()


async def test_phone_numbers_never_logged_in_full(harness: Harness, caplog: pytest.LogCaptureFixture) -> None:
    harness.reply = echo
    harness.fail_on = {"boom"}
    harness.graph.script(
        MESSAGES_PATH,
        (500, {"error": {"message": f"Invalid recipient {WA_ID}"}}, 0.0),
        (400, {"error": {"message": f"Bad parameter for +{WA_ID}", "code": 100}}, 0.0),
    )
    image = {"from": WA_ID, "id": real_wamid(), "timestamp": "1", "type": "image", "image": {"id": "m"}}
    same = real_wamid()
    with caplog.at_level(logging.DEBUG, logger="channels.whatsapp"):
        await harness.post_json(notification(text_msg("boom", mid=real_wamid()), text_msg("hi", mid=real_wamid()), image))
        await harness.post_json(notification(text_msg("hi", mid=same)))
        await harness.post_json(notification(text_msg("hi", mid=same)))  # "already handled" is logged
    assert "already handled" in caplog.text and "failed" in caplog.text
    assert WA_ID not in caplog.text
    assert "wamid." not in caplog.text  # message ids encode the number: logged only as a hash
    assert mask_phone(WA_ID) in caplog.text
    assert WA_ID.encode() in base64.b64decode(same[len("wamid.") :])  # the fixture really carries the number
