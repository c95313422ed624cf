"""The Twilio alternative: Rasa's twilio channel with X-Twilio-Signature checking.

Serves the channel blueprint on a loopback port and posts form-encoded webhooks
the way Twilio does, signed with twilio's own RequestValidator.
"""

from __future__ import annotations

import socket
import uuid
from typing import Any, Dict, List, Optional

import aiohttp
import pytest
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput
from sanic import Sanic
from twilio.request_validator import RequestValidator

from channels.twilio_signed import TwilioSignedInput, TwilioSignedOutput

AUTH_TOKEN = "twilio-test-auth-token"
FORM = {"From": "whatsapp:+447700900123", "Body": "how long do facet injections last?", "MessageSid": "SM0123456789abcdef", "NumMedia": "0"}


class Served:
    def __init__(self, channel: InputChannel) -> None:
        self.channel = channel
        self.received: List[UserMessage] = []
        self.url = ""

    async def on_new_message(self, message: UserMessage) -> None:
        self.received.append(message)

    async def __aenter__(self) -> "Served":
        Sanic.test_mode = True
        app = Sanic(f"twilio_test_{uuid.uuid4().hex[:10]}")
        app.config.MOTD = False
        app.blueprint(self.channel.blueprint(self.on_new_message), url_prefix="/webhooks/twilio")
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = "http://127.0.0.1:%d/webhooks/twilio/webhook" % sock.getsockname()[1]
        self._server = await app.create_server(sock=sock, return_asyncio_server=True, access_log=False)
        await self._server.startup()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self._server.close()
        await self._server.wait_closed()

    async def post(self, form: Dict[str, str], signature: Optional[str]) -> int:
        headers = {"X-Twilio-Signature": signature} if signature is not None else {}
        async with aiohttp.ClientSession() as session:
            async with session.post(self.url, data=form, headers=headers) as resp:
                await resp.read()
                return resp.status


def twilio_signature(url: str, form: Dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


async def test_signed_requests_accepted_unsigned_or_forged_refused() -> None:
    channel = TwilioSignedInput("AC123", AUTH_TOKEN, "whatsapp:+15550001111")
    async with Served(channel) as s:
        good = twilio_signature(s.url, FORM)
        assert await s.post(FORM, None) == 403
        assert await s.post(FORM, "not-a-signature") == 403
        assert await s.post(FORM, twilio_signature(s.url, FORM, "another-account-token")) == 403
        assert await s.post({**FORM, "Body": "tampered"}, good) == 403  # body changed after signing
        assert s.received == []
        assert await s.post(FORM, good) == 204
    [msg] = s.received
    assert msg.text == FORM["Body"] and msg.sender_id == FORM["From"] and msg.input_channel == "twilio"


async def test_public_webhook_url_is_used_behind_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    public = "https://bot.example.org/webhooks/twilio/webhook"
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", AUTH_TOKEN)
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC123")
    channel = TwilioSignedInput.from_credentials({"twilio_number": "whatsapp:+15550001111", "webhook_url": public})
    assert channel.name() == "twilio" and channel.auth_token == AUTH_TOKEN
    async with Served(channel) as s:
        assert await s.post(FORM, twilio_signature(s.url, FORM)) == 403  # signed for the internal URL
        assert await s.post(FORM, twilio_signature(public, FORM)) == 204


async def test_without_auth_token_everything_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TWILIO_AUTH_TOKEN", raising=False)
    channel = TwilioSignedInput.from_credentials({})
    async with Served(channel) as s:
        assert await s.post(FORM, twilio_signature(s.url, FORM)) == 503
    assert s.received == []


async def test_rasa_builtin_twilio_channel_accepts_unsigned_requests() -> None:
    """Why the subclass exists: Rasa 3.6's own channel lets a forged POST through."""
    async with Served(TwilioInput("AC123", AUTH_TOKEN, "whatsapp:+15550001111", debug_mode=False)) as s:
        assert await s.post(FORM, None) == 204
    assert len(s.received) == 1


async def test_red_flag_urgency_is_marked_and_custom_does_not_break_twilio_output() -> None:
    """The urgency comes from the response's `metadata`; a `custom` key Twilio does not know
    would make Rasa's TwilioOutput call messages.create(urgency=...) and raise TypeError."""
    out = TwilioSignedInput("AC123", AUTH_TOKEN, "whatsapp:+15550001111").get_output_channel()
    assert isinstance(out, TwilioSignedOutput)
    sent: List[Dict[str, Any]] = []

    async def fake_send(message_data: Dict[str, Any]) -> None:
        sent.append(dict(message_data))

    out._send_message = fake_send  # no network: capture what would go to Twilio
    await out.send_response("whatsapp:+447700900123", {"text": "Please call 999 now.", "metadata": {"urgency": "emergency"}})
    await out.send_response("whatsapp:+447700900123", {"text": "Samaritans: 116 123.", "metadata": {"urgency": "crisis"}})
    await out.send_response("whatsapp:+447700900123", {"text": "Hello.", "custom": {"urgency": "emergency"}})
    assert [m["body"] for m in sent] == ["⚠️ Please call 999 now.", "Samaritans: 116 123.", "Hello."]
    assert all("urgency" not in m for m in sent)
