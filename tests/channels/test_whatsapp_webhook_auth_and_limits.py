"""Contract tests for the WhatsApp Cloud API channel's webhook (fast: no Rasa model):
Meta's verification handshake, the X-Hub-Signature-256 check over the raw body, and
the input limits (malformed JSON, wrong shapes, bad entries, oversize bodies).

Each test runs the channel's real blueprint on loopback with a fake Rasa handler
and a fake Graph API (tests/channels/whatsapp_helpers.py).
"""

from __future__ import annotations

import json
from typing import Any, Dict

import aiohttp
import pytest

from tests.channels.whatsapp_helpers import (
    PNID,
    VERIFY,
    WA_ID,
    WEBHOOK,
    Harness,
    body_of,
    notification,
    sign,
    text_msg,
)

# --------------------------------------------------------------------------- verification handshake


async def test_verification_handshake_returns_challenge(harness: Harness) -> None:
    resp = await harness.get(WEBHOOK, {"hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert resp.status == 200
    assert resp._body == b"1158201444"
    assert resp.headers["Content-Type"].startswith("text/plain")


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "42"},
        {"hub.mode": "subscribe", "hub.challenge": "42"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY, "hub.challenge": "42"},
    ],
)
async def test_verification_refused(harness: Harness, params: Dict[str, str]) -> None:
    resp = await harness.get(WEBHOOK, params)
    assert resp.status == 403
    assert b"42" not in resp._body


# --------------------------------------------------------------------------- authentication and input limits


async def test_missing_or_bad_signature_is_403(harness: Harness) -> None:
    body = json.dumps(notification(text_msg("hello"))).encode()
    missing = await harness.post(body, signed=False)
    wrong_secret = await harness.post(body, headers={"X-Hub-Signature-256": sign(body, "not-the-secret")})
    no_prefix = await harness.post(body, headers={"X-Hub-Signature-256": sign(body)[len("sha256=") :]})
    garbage = await harness.post(body, headers={"X-Hub-Signature-256": "sha256=zz"})
    assert [r.status for r in (missing, wrong_secret, no_prefix, garbage)] == [403, 403, 403, 403]
    assert body_of(missing)["error"] == "invalid_signature"
    await harness.channel.wait_idle()
    assert harness.received == [] and harness.sent() == []


async def test_signature_is_computed_over_the_raw_bytes(harness: Harness) -> None:
    # Unusual spacing, key order and a raw UTF-8 character: re-serialising changes the bytes.
    raw = (
        '{ "entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"%s"},'
        '"messages":[{"type":"text","text":{"body":"Caf\u00e9  pain?"},"id":"wamid.RAW1","from":"%s"}]}}]}],'
        '   "object":"whatsapp_business_account" }' % (PNID, WA_ID)
    ).encode("utf-8")
    reserialised = json.dumps(json.loads(raw)).encode()
    assert raw != reserialised
    refused = await harness.post(raw, headers={"X-Hub-Signature-256": sign(reserialised)})
    assert refused.status == 403
    accepted = await harness.post(raw)  # signed over the exact bytes sent
    assert accepted.status == 200
    await harness.channel.wait_idle()
    assert [m.text for m in harness.received] == ["Café  pain?"]


@pytest.mark.parametrize("raw", [b"{not json", b"", b"\xff\xfe\x00garbage", b'{"object": "whatsapp_business_account", "entry": [}'])
async def test_malformed_json_is_400(harness: Harness, raw: bytes) -> None:
    resp = await harness.post(raw)
    assert resp.status == 400
    assert body_of(resp)["error"] == "invalid_json"
    assert "not valid JSON" in body_of(resp)["detail"]


@pytest.mark.parametrize(
    "payload",
    [
        [],
        "just a string",
        {"object": "page", "entry": []},
        {"object": "whatsapp_business_account"},
        {"object": "whatsapp_business_account", "entry": {"changes": []}},
    ],
)
async def test_wrong_shape_is_400(harness: Harness, payload: Any) -> None:
    resp = await harness.post(json.dumps(payload).encode())
    assert resp.status == 400
    assert body_of(resp)["error"] == "invalid_payload"
    assert body_of(resp)["detail"]


async def test_bad_entries_do_not_break_good_ones(harness: Harness) -> None:
    good = notification(text_msg("is facet pain serious?", mid="wamid.GOOD"))
    good["entry"] = [
        "not an object",
        {"id": "x", "changes": "not a list"},
        {
            "id": "y",
            "changes": [
                None,
                {"field": "messages", "value": "nope"},
                {
                    "field": "messages",
                    "value": {"messages": [None, {"type": "text"}, 42, {"id": "wamid.X", "from": WA_ID, "type": "text", "text": "not a dict"}]},
                },
            ],
        },
    ] + good["entry"]
    resp = await harness.post_json(good)
    assert resp.status == 200
    assert [m.message_id for m in harness.received] == ["wamid.GOOD"]


async def test_oversize_body_is_413(harness: Harness) -> None:
    big = json.dumps(notification(text_msg("x" * (300 * 1024)))).encode()
    resp = await harness.post(big)
    assert resp.status == 413
    assert body_of(resp)["error"] == "payload_too_large"

    async def chunks():  # no Content-Length: the limit is enforced while reading
        for i in range(0, len(big), 64 * 1024):
            yield big[i : i + 64 * 1024]

    async with aiohttp.ClientSession() as session:
        async with session.post(harness.url + WEBHOOK, data=chunks(), headers={"X-Hub-Signature-256": sign(big)}) as chunked:
            assert chunked.status == 413
    await harness.channel.wait_idle()
    assert harness.received == []
