"""Contract tests for the WhatsApp Cloud API channel (fast: no Rasa model).

Each test runs the channel's real blueprint in a Sanic server on a free loopback
port (inside the test's event loop), talks to it with real HTTP requests and uses
a RecordingServer as the Graph API. `on_new_message` is a fake that records the
UserMessage and, where a test needs it, answers through the channel's output.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import socket
import time
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Optional

import aiohttp
import pytest
from rasa.core.channels.channel import UserMessage
from sanic import Sanic

from channels.urgency_marker import URGENT_MARKER
from channels.whatsapp import (
    UNSUPPORTED_REPLY,
    GraphClient,
    ProcessedMessageStore,
    WhatsAppConfig,
    WhatsAppInput,
    WhatsAppOutput,
)
from channels.whatsapp.privacy import mask_phone
from channels.whatsapp.text_splitting import split_text
from clinic_bot.db import make_engine
from tests.fakes import RecordingServer

SECRET = "contract-app-secret"
VERIFY = "contract-verify-token"
TOKEN = "contract-access-token"
PNID = "1234567890"
WA_ID = "447700900123"
MESSAGES_PATH = f"/graph/{PNID}/messages"
WEBHOOK = "/webhooks/whatsapp/webhook"

GREET_BUTTONS = [
    {"title": "What is facet joint pain?", "payload": '/choose_faq{"faq_topic":"what_is_facet_pain"}'},
    {"title": "Should I rest?", "payload": '/choose_faq{"faq_topic":"should_i_rest"}'},
    {"title": "Talk to a person", "payload": "/request_human"},
]


# --------------------------------------------------------------------------- helpers


def sign(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def notification(*messages: Dict[str, Any], statuses: Optional[List[Dict[str, Any]]] = None, pnid: str = PNID) -> Dict[str, Any]:
    value: Dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": pnid},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Pat Example"}, "wa_id": m["from"]} for m in messages]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {"object": "whatsapp_business_account", "entry": [{"id": "WABA_ID", "changes": [{"value": value, "field": "messages"}]}]}


def text_msg(body: str, wa_id: str = WA_ID, mid: Optional[str] = None) -> Dict[str, Any]:
    return {"from": wa_id, "id": mid or f"wamid.{uuid.uuid4().hex}", "timestamp": str(int(time.time())), "type": "text", "text": {"body": body}}


def free_socket() -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class Harness:
    """The channel's blueprint served on loopback, a fake Rasa handler and a fake Graph API."""

    def __init__(self, channel: WhatsAppInput, graph: RecordingServer) -> None:
        self.channel = channel
        self.graph = graph
        self.received: List[UserMessage] = []
        self.reply: Optional[Callable[[UserMessage], Awaitable[None]]] = None
        self.fail_on: set = set()
        self.url = ""
        self._server: Any = None

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)
        if message.text in self.fail_on:
            raise RuntimeError("the dialogue engine failed")
        if self.reply is not None:
            await self.reply(message)

    async def start(self) -> "Harness":
        # Test mode lets several Sanic apps start in one process (as sanic-testing does).
        Sanic.test_mode = True
        app = Sanic(f"wa_contract_{uuid.uuid4().hex[:10]}")
        app.config.MOTD = False
        app.blueprint(self.channel.blueprint(self.on_new_message), url_prefix="/webhooks/whatsapp")
        sock = free_socket()
        self.url = "http://127.0.0.1:%d" % sock.getsockname()[1]
        # Sanic 21.12: awaiting create_server starts listening; startup() finalises the routes.
        self._server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        return self

    async def stop(self) -> None:
        await self.channel.wait_idle(5)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def post(self, body: bytes, headers: Optional[Dict[str, str]] = None, signed: bool = True) -> aiohttp.ClientResponse:
        hdrs = {"Content-Type": "application/json"}
        if signed:
            hdrs["X-Hub-Signature-256"] = sign(body)
        hdrs.update(headers or {})
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url + WEBHOOK, data=body, headers=hdrs) as resp:
                await resp.read()
                return resp

    async def post_json(self, payload: Any) -> aiohttp.ClientResponse:
        resp = await self.post(json.dumps(payload).encode())
        await self.channel.wait_idle(10)
        return resp

    async def get(self, path: str, params: Dict[str, str]) -> aiohttp.ClientResponse:
        async with aiohttp.ClientSession() as session:
            async with session.get(self.url + path, params=params) as resp:
                await resp.read()
                return resp

    def sent(self) -> List[Dict[str, Any]]:
        return [r.json() for r in self.graph.matching(MESSAGES_PATH)]


def body_of(resp: aiohttp.ClientResponse) -> Any:
    return json.loads(resp._body)  # read in Harness.post


def texts(payloads: List[Dict[str, Any]]) -> List[str]:
    return [p["text"]["body"] for p in payloads if p.get("type") == "text"]


@pytest.fixture(scope="module")
def graph_server() -> RecordingServer:
    server = RecordingServer().start()
    yield server
    server.stop()


@pytest.fixture
def graph(graph_server: RecordingServer) -> RecordingServer:
    """The fake Graph API, emptied for each test (one server per module: stopping one takes 0.5 s)."""
    with graph_server._lock:
        graph_server.requests.clear()
        graph_server.scripts.clear()
    return graph_server


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'clinic.db'}"


@pytest.fixture
def config(graph: RecordingServer) -> WhatsAppConfig:
    return WhatsAppConfig(
        app_secret=SECRET,
        verify_token=VERIFY,
        access_token=TOKEN,
        phone_number_id=PNID,
        graph_url=graph.url + "/graph",
        timeout_s=1.0,
        max_attempts=3,
        backoff_s=0.01,
    )


@pytest.fixture
async def harness(config: WhatsAppConfig, graph: RecordingServer, db_url: str):
    h = await Harness(WhatsAppInput(config, engine=make_engine(db_url)), graph).start()
    yield h
    await h.stop()


async def echo(message: UserMessage) -> None:
    await message.output_channel.send_response(message.sender_id, {"text": f"echo: {message.text}"})


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
