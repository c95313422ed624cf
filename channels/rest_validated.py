"""Rasa's REST channel with its request body validated.

Rasa 3.6's `RestInput` trusts the body: a list or number answers HTTP 500, a
missing `sender` files the message under the shared conversation 'default'
(every such client would see each other's context and handoffs), and a
non-string `message` or non-object `metadata` fails inside the turn with an
empty 200. This subclass keeps the channel's name, URL and replies, and answers
400 with a clear message for any body that is not
`{"sender": "<non-empty string>", "message": "<string>", "metadata": {...}?}`.

Its replies also keep the urgency of red-flag safety messages: Rasa's
`CollectingOutputChannel` drops a response's `metadata`, where the urgency rides
(domain/safety.yml), so a safety message's text goes out as
`{"recipient_id", "text", "metadata": {"urgency": "emergency"}}` (REST clients
that don't know the key ignore it and show the text).
"""
from __future__ import annotations

from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from clinic_bot.safety import message_urgency

MAX_SENDER_CHARS = 16_384


def _body(request: Request) -> Dict[Text, Any]:
    try:
        body = request.json
    except Exception as exc:  # Sanic raises on undecodable JSON
        raise InvalidUsage("the body must be JSON: {\"sender\": \"...\", \"message\": \"...\"}") from exc
    if not isinstance(body, dict):
        raise InvalidUsage("the body must be a JSON object: {\"sender\": \"...\", \"message\": \"...\"}")
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

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        async def keep_urgency(message: UserMessage) -> None:
            # The stock handler answers with its collector's list; collect into that same list.
            # (`?stream=true` uses a queue and stays as Rasa sends it.)
            if type(message.output_channel) is CollectingOutputChannel:
                message.output_channel = UrgencyCollectingOutputChannel(message.output_channel.messages)
            await on_new_message(message)

        return super().blueprint(keep_urgency)
