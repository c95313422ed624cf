"""Rasa's REST channel with its request body validated.

Rasa 3.6's `RestInput` trusts the body: a list or number answers HTTP 500, a
missing `sender` files the message under the shared conversation 'default'
(every such client would see each other's context and handoffs), and a
non-string `message` or non-object `metadata` fails inside the turn with an
empty 200. This subclass keeps the channel's name, URL and replies, and answers
400 with a clear message for any body that is not
`{"sender": "<non-empty string>", "message": "<string>", "metadata": {...}?}`.

Who may use it (docs/security.md). The REST channel has no user accounts: any
caller names any conversation. So, by `REST_CHANNEL`:

* `local` (default, what `make run`, the tests and scripts use): only callers
  on this machine, with no proxy in between (a request carrying
  X-Forwarded-For / Forwarded / X-Real-IP came through one and is refused);
* `token`: callers presenting `Authorization: Bearer $REST_CHANNEL_TOKEN`;
* `off`: 404 for everyone (a public deployment that needs no REST clients).

And whoever calls it can only reach REST conversations: a sender id shaped like
another channel's (a phone number, `whatsapp:...`, a widget session id) is
refused, and so is any conversation whose first message came from another
channel (it would read that person's context and redirect staff replies).
Each remote client address is rate-limited (`RATE_PER_CLIENT`, 429 with Retry-After);
callers on this machine are not.

Its replies also keep the urgency of red-flag safety messages: Rasa's
`CollectingOutputChannel` drops a response's `metadata`, where the urgency rides
(domain/safety.yml), so a safety message's text goes out as
`{"recipient_id", "text", "metadata": {"urgency": "emergency"}}` (REST clients
that don't know the key ignore it and show the text).
"""

from __future__ import annotations

import hmac
import ipaddress
import math
import re
from functools import lru_cache
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage
from sanic.request import Request
from sanic.response import HTTPResponse

from clinic_bot.rasa_api import owning_channel
from clinic_bot.rate_limit import Rate, RateLimiter
from clinic_bot.safety import message_urgency
from clinic_bot.settings import load_settings

MAX_SENDER_CHARS = 255  # the ticket store keeps conversation ids in 255 characters
PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")
# sender ids other channels use: phone numbers (WhatsApp, Twilio) and widget sessions
OTHER_CHANNEL_SENDER = re.compile(r"(?i)^(whatsapp:|tel:)|^\+?[\d\s().-]{6,}$|^[0-9a-f]{32}(\.[0-9a-f]{32})?$")


def _json_error(status: int, error: str, **headers: str) -> HTTPResponse:
    return response.json({"error": error}, status=status, headers=headers or None)


def is_local(request: Request) -> bool:
    """A caller on this machine that did not come through a proxy."""
    if any(h in request.headers for h in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.ip).is_loopback
    except ValueError:
        return False


def access_refusal(request: Request, mode: str, token: str) -> Optional[HTTPResponse]:
    """None if this caller may use the REST channel, else the answer it gets."""
    if mode == "off":
        return _json_error(404, "the REST channel is switched off on this server")
    if mode == "token":
        provided = request.headers.get("authorization", "")
        if token and hmac.compare_digest(provided.encode(), f"Bearer {token}".encode()):
            return None
        return _json_error(401, "the REST channel needs 'Authorization: Bearer <REST_CHANNEL_TOKEN>'")
    if mode == "local" and is_local(request):
        return None
    return _json_error(403, "the REST channel answers only local callers on this server")


def rate_refusal(request: Request, limiter: RateLimiter) -> Optional[HTTPResponse]:
    """429 for a remote address over its rate; callers on this machine (scripts, tests) are
    trusted, and behind a proxy the proxy limits."""
    if is_local(request):
        return None
    address = request.ip or "unknown"
    if limiter.allow(address):
        return None
    wait = math.ceil(limiter.retry_after(address)) or 1
    return _json_error(429, f"too many messages from this address; try again in {wait} s", **{"Retry-After": str(wait)})


@lru_cache(maxsize=1)
def client_limiter() -> RateLimiter:
    return RateLimiter(Rate.parse(load_settings().rate_per_client))


def _body(request: Request) -> Dict[Text, Any]:
    try:
        body = request.json
    except Exception as exc:  # Sanic raises on undecodable JSON
        raise InvalidUsage('the body must be JSON: {"sender": "...", "message": "..."}') from exc
    if not isinstance(body, dict):
        raise InvalidUsage('the body must be a JSON object: {"sender": "...", "message": "..."}')
    return body


class UrgencyCollectingOutputChannel(CollectingOutputChannel):
    """Rasa's REST collector, with a safety message's urgency on the messages it collected."""

    def __init__(self, messages: List[Dict[Text, Any]]) -> None:
        super().__init__()
        self.messages = messages  # the list the stock handler returns as the HTTP response

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        urgency = message_urgency(message)
        first = len(self.messages)
        await super().send_response(recipient_id, message)
        if urgency:
            for sent in self.messages[first:]:
                sent["metadata"] = {"urgency": urgency}


class ValidatedRestInput(RestInput):
    @classmethod
    def name(cls) -> Text:
        return "rest"

    async def _extract_sender(self, req: Request) -> Optional[Text]:
        sender = _body(req).get("sender")
        if not isinstance(sender, str) or not sender.strip():
            raise InvalidUsage("'sender' must be a non-empty string identifying the conversation")
        if len(sender) > MAX_SENDER_CHARS:
            raise InvalidUsage(f"'sender' is longer than {MAX_SENDER_CHARS} characters")
        if OTHER_CHANNEL_SENDER.search(sender.strip()):
            raise InvalidUsage("'sender' looks like another channel's id (a phone number or a widget session); pick another")
        return sender

    def _extract_message(self, req: Request) -> Optional[Text]:
        message = _body(req).get("message")
        if not isinstance(message, str):
            raise InvalidUsage("'message' must be a string")
        return message

    def get_metadata(self, request: Request) -> Optional[Dict[Text, Any]]:
        metadata = _body(request).get("metadata")
        if metadata is not None and not isinstance(metadata, dict):
            raise InvalidUsage("'metadata' must be a JSON object")
        return metadata

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[None]]) -> Blueprint:
        async def keep_urgency(message: UserMessage) -> None:
            # The stock handler answers with its collector's list; collect into that same list.
            # (`?stream=true` uses a queue and stays as Rasa sends it.)
            if type(message.output_channel) is CollectingOutputChannel:
                message.output_channel = UrgencyCollectingOutputChannel(message.output_channel.messages)
            await on_new_message(message)

        bp = super().blueprint(keep_urgency)
        settings = load_settings()

        @bp.middleware("request")
        async def guard(request: Request) -> Optional[HTTPResponse]:
            if request.method != "POST":
                return None
            refusal = access_refusal(request, settings.rest_channel, settings.rest_channel_token)
            if refusal is not None:
                return refusal
            if len(request.body or b"") > settings.max_request_bytes:
                return _json_error(413, f"the request body is larger than {settings.max_request_bytes} bytes; send a shorter message")
            too_many = rate_refusal(request, client_limiter())
            if too_many is not None:
                return too_many
            sender = await self._extract_sender(request) or ""
            owner = await conversation_owner(request, sender)
            if owner not in (None, self.name()):
                return _json_error(403, "this conversation belongs to another channel")
            return None

        return bp


async def conversation_owner(request: Request, sender_id: str) -> Optional[str]:
    """The channel of the conversation's first message, from Rasa's tracker store."""
    agent = getattr(request.app.ctx, "agent", None)
    store = getattr(agent, "tracker_store", None)
    if store is None:
        return None
    tracker = await store.retrieve(sender_id)
    if tracker is None:
        return None
    return owning_channel(tracker.events)
