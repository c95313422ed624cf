"""Sends one message to the Graph API and records what became of it; never raises into Rasa.

Retries are clinic_bot/http_retry.py's rule with the channel's policy
(`WhatsAppConfig.retry_policy`). A send that fails in the end is logged with
the number masked and recorded for staff with WhatsApp's error code (e.g.
131047: the 24-hour customer-service window has closed).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any, Dict, Optional, Text, Tuple

from sqlalchemy.engine import Engine

from channels.whatsapp.config import WhatsAppConfig
from channels.whatsapp.delivery_records import DeliveryRecorder, is_staff_reply
from channels.whatsapp.privacy import mask_phone, redact
from clinic_bot.http_retry import PostOutcome, post_with_retries

logger = logging.getLogger(__name__)


class GraphClient:
    """POSTs to `{graph_url}/{phone_number_id}/messages` with the channel's access token."""

    def __init__(self, config: WhatsAppConfig, engine: Optional[Engine] = None) -> None:
        self.config = config
        self.deliveries = DeliveryRecorder(engine)

    async def send(self, recipient_id: Text, message: Dict[str, Any]) -> bool:
        """Send `message` (a Graph message object without `to`); True if WhatsApp accepted it."""
        payload = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": str(recipient_id), **message}
        headers = {"Authorization": f"Bearer {self.config.access_token}", "Content-Type": "application/json"}
        staff_reply = is_staff_reply()
        try:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            outcome = await post_with_retries(self.config.messages_url, body, headers, self.config.retry_policy)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # never let a send failure break the conversation
            name = type(exc).__name__
            await self._failed(payload, staff_reply, 0, (None, f"sending failed ({name})", f"{name}: {redact(exc)}"))
            return False
        if not outcome.ok:
            await self._failed(payload, staff_reply, outcome.attempts, failure_details(outcome))
            return False
        message_id = graph_message_id(outcome.body)
        if staff_reply and message_id:  # so a later `failed` status lands on this reply
            await self.deliveries.sent(recipient_id, message_id)
        return True

    async def _failed(self, payload: Dict[str, Any], staff_reply: bool, attempts: int, failure: Tuple[Optional[str], str, str]) -> None:
        error_code, reason, detail = failure
        logger.warning(
            "whatsapp: sending a %s message to %s failed after %d attempt(s): %s",
            payload.get("type"),
            mask_phone(payload.get("to")),
            attempts,
            detail,
        )
        await self.deliveries.send_failed(payload.get("to"), error_code=error_code, reason=redact(reason or detail, 300), staff_reply=staff_reply)


def failure_details(outcome: PostOutcome) -> Tuple[Optional[str], str, str]:
    """(error code, reason for the record, detail for the log) of a send that failed."""
    exc = outcome.exception
    if exc is not None:
        detail = type(exc).__name__ + (f": {redact(exc)}" if str(exc) else "")
        return None, f"WhatsApp could not be reached ({type(exc).__name__})", detail
    code, message = graph_error(outcome.body)
    detail = f"HTTP {outcome.status}" + (f" (code {code}: {message})" if code or message else "")
    return (str(code) if code else f"HTTP {outcome.status}"), message, detail


def graph_error(body: str) -> Tuple[Optional[Any], str]:
    """(code, message) of a Graph API error body; the message is redacted for logs and records."""
    try:
        err = json.loads(body).get("error") or {}
    except (ValueError, AttributeError):
        return None, ""
    if not isinstance(err, dict):
        return None, ""
    return err.get("code"), redact(err.get("message") or err.get("title") or "", 200)


def graph_message_id(body: str) -> Optional[str]:
    """The id WhatsApp gave an accepted message: {"messages": [{"id": "wamid..."}]}."""
    try:
        messages = json.loads(body).get("messages")
        return str(messages[0]["id"]) if messages else None
    except (ValueError, AttributeError, KeyError, IndexError, TypeError):
        return None
