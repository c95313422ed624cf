"""Rasa's built-in `twilio` channel plus the request signature check it lacks.

Rasa 3.6's ``rasa.core.channels.twilio.TwilioInput`` accepts any POST to
``/webhooks/twilio/webhook``: it never checks Twilio's ``X-Twilio-Signature``,
so anyone who knows the URL could write into a conversation as any phone number.
This subclass keeps Rasa's behaviour (same name "twilio", same routes) and
refuses POSTs whose signature does not validate with
``twilio.request_validator.RequestValidator`` (403), or all POSTs when no auth
token is configured (503).

Its output channel also fixes a second problem: Rasa's ``TwilioOutput`` passes a
response's ``custom`` dict straight to ``client.messages.create(**custom)``, so
any ``custom`` key that is not an argument of Twilio's API (such as the
``urgency`` the red-flag responses once carried there) raises ``TypeError`` inside
Rasa's message handling. Here custom data Twilio can't send is dropped, and
an urgent safety message (urgency in the response's ``metadata``) is shown with a
"⚠️ " prefix on the text, as on the WhatsApp Cloud API channel.

credentials.yml (use this *instead of* the plain `twilio:` block)::

    channels.twilio_signed.TwilioSignedInput:
      twilio_number: "whatsapp:+441632960123"
      # the exact public URL configured in the Twilio console; needed behind a proxy
      webhook_url: "https://bot.example.org/webhooks/twilio/webhook"

Secrets come from the environment: TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN
(TWILIO_NUMBER and TWILIO_WEBHOOK_URL may be set there too).
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput, TwilioOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from channels.urgency_marker import with_urgency_marker
from clinic_bot.settings import env as settings_env

logger = logging.getLogger(__name__)


def _setting(credentials: Dict[Text, Any], key: str, env: str) -> Optional[str]:
    value = credentials.get(key)
    if value in (None, ""):
        value = settings_env(env)  # names and defaults: clinic_bot/settings.py
    value = str(value).strip()
    return value or None


# `custom` keys that are real arguments of Twilio's messages.create()
TWILIO_MESSAGE_KEYS = frozenset({"body", "media_url", "content_sid", "content_variables", "persistent_action"})


class TwilioSignedOutput(TwilioOutput):
    """Rasa's Twilio output that never raises on `custom` data and marks urgent safety messages."""

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        message = dict(message)
        if message.get("text"):
            message["text"] = with_urgency_marker(str(message["text"]), message)
        custom = message.get("custom")
        if isinstance(custom, dict):
            if not TWILIO_MESSAGE_KEYS & set(custom):
                message.pop("custom")
            else:
                message["custom"] = {k: v for k, v in custom.items() if k in TWILIO_MESSAGE_KEYS | {"to", "from_", "messaging_service_sid"}}
        try:
            await super().send_response(recipient_id, message)
        except Exception:
            logger.exception("twilio: could not send a response")


class TwilioSignedInput(TwilioInput):
    """Twilio input channel that validates ``X-Twilio-Signature`` on every POST."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        creds = dict(credentials or {})
        return cls(
            _setting(creds, "account_sid", "TWILIO_ACCOUNT_SID"),
            _setting(creds, "auth_token", "TWILIO_AUTH_TOKEN"),
            _setting(creds, "twilio_number", "TWILIO_NUMBER"),
            debug_mode=False,  # Rasa's default re-raises handler errors as HTTP 500
            webhook_url=_setting(creds, "webhook_url", "TWILIO_WEBHOOK_URL"),
        )

    def __init__(
        self,
        account_sid: Optional[Text],
        auth_token: Optional[Text],
        twilio_number: Optional[Text],
        debug_mode: bool = False,
        webhook_url: Optional[Text] = None,
    ) -> None:
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=debug_mode)
        self.webhook_url = webhook_url
        if not auth_token:
            logger.warning("twilio: no auth token (TWILIO_AUTH_TOKEN); the webhook refuses every message")

    def is_valid_request(self, request: Request) -> bool:
        signature = request.headers.get("X-Twilio-Signature")
        if not self.auth_token or not signature:
            return False
        # Twilio signs the URL it called (query string included) plus the sorted form fields.
        url = request.url
        if self.webhook_url:
            url = self.webhook_url + (f"?{request.query_string}" if request.query_string else "")
        try:
            return RequestValidator(self.auth_token).validate(url, request.form, signature)
        except Exception:  # malformed body or header: not a valid Twilio request
            logger.debug("twilio: signature validation error", exc_info=True)
            return False

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)

        @bp.middleware("request")
        async def check_signature(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            if not self.auth_token:
                return response.text("Twilio channel not configured", status=503)
            if not self.is_valid_request(request):
                logger.warning("twilio: request with a missing or invalid X-Twilio-Signature refused")
                return response.text("invalid signature", status=403)
            return None

        return bp

    def get_output_channel(self) -> TwilioSignedOutput:
        return TwilioSignedOutput(self.account_sid, self.auth_token, self.twilio_number)
