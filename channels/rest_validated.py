"""Rasa's REST channel with its request body validated.

Rasa 3.6's `RestInput` trusts the body: a list or number answers HTTP 500, a
missing `sender` files the message under the shared conversation 'default'
(every such client would see each other's context and handoffs), and a
non-string `message` or non-object `metadata` fails inside the turn with an
empty 200. This subclass keeps the channel's name, URL and replies, and answers
400 with a clear message for any body that is not
`{"sender": "<non-empty string>", "message": "<string>", "metadata": {...}?}`.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Text

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage
from sanic.request import Request

MAX_SENDER_CHARS = 16_384


def _body(request: Request) -> Dict[Text, Any]:
    try:
        body = request.json
    except Exception as exc:  # Sanic raises on undecodable JSON
        raise InvalidUsage("the body must be JSON: {\"sender\": \"...\", \"message\": \"...\"}") from exc
    if not isinstance(body, dict):
        raise InvalidUsage("the body must be a JSON object: {\"sender\": \"...\", \"message\": \"...\"}")
    return body


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
