"""Meta's webhook notifications read into the messages to answer (and the failed deliveries to record).

Meta's JSON is trusted for nothing: a wrong top-level shape is refused (400),
but a malformed entry, change or message inside a valid notification is
skipped and logged so it cannot stop the others. A photo, video or document
with a caption is read from its caption, so a red flag typed there is not missed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

from channels.whatsapp.delivery_records import FailedStatus, parse_failed_status
from channels.whatsapp.privacy import mask_phone, message_ref, redact

logger = logging.getLogger(__name__)

# Message types that need no answer at all (a reaction to our message, a number change notice...).
IGNORED_TYPES = frozenset({"reaction", "system", "request_welcome", "ephemeral"})
CAPTIONED_TYPES = frozenset({"image", "video", "document"})


class WebhookShapeError(ValueError):
    """The JSON is not a WhatsApp Business Account notification."""


@dataclass
class IncomingMessage:
    message_id: str
    wa_id: str
    msg_type: str
    text: str = ""
    kind: str = "text"  # text | caption | unsupported
    timestamp: Optional[str] = None
    phone_number_id: Optional[str] = None

    def metadata(self) -> Dict[str, Any]:
        """The UserMessage metadata (no profile name: it is not copied into the tracker)."""
        return {
            "whatsapp": {
                "message_id": self.message_id,
                "type": self.msg_type,
                "timestamp": self.timestamp,
                "phone_number_id": self.phone_number_id,
            }
        }


def parse_notification(data: Any, phone_number_id: str, failed: Optional[List[FailedStatus]] = None) -> List[IncomingMessage]:
    """Messages for `phone_number_id` in a notification. Raises WebhookShapeError only for a wrong
    top-level shape. `failed` (if given) collects the `failed` delivery statuses found on the way."""
    if not isinstance(data, dict):
        raise WebhookShapeError("expected a JSON object")
    if data.get("object") != "whatsapp_business_account":
        raise WebhookShapeError("'object' must be 'whatsapp_business_account'")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise WebhookShapeError("'entry' must be a list")
    found: List[IncomingMessage] = []
    for entry in entries:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            logger.warning("whatsapp: skipping an entry without a 'changes' list")
            continue
        for change in changes:
            try:
                found.extend(_parse_change(change, phone_number_id, failed))
            except Exception:
                logger.warning("whatsapp: skipping a malformed change", exc_info=True)
    return found


def _parse_change(change: Any, our_number_id: str, failed: Optional[List[FailedStatus]]) -> List[IncomingMessage]:
    if not isinstance(change, dict) or not isinstance(change.get("value"), dict):
        logger.warning("whatsapp: skipping a change without a 'value' object")
        return []
    if change.get("field", "messages") != "messages":
        logger.debug("whatsapp: ignoring '%s' notification", change.get("field"))
        return []
    value = change["value"]
    meta = value.get("metadata") if isinstance(value.get("metadata"), dict) else {}
    phone_number_id = str(meta.get("phone_number_id") or "") or None
    if phone_number_id and phone_number_id != our_number_id:
        logger.warning("whatsapp: notification for another phone number id (%s) ignored", redact(phone_number_id))
        return []
    statuses = value.get("statuses")
    if isinstance(statuses, list):
        for status in statuses:
            parsed = parse_failed_status(status)
            if parsed is not None:
                logger.warning(
                    "whatsapp: message %s to %s failed: code %s: %s",
                    message_ref(parsed.message_id),
                    mask_phone(parsed.recipient_id),
                    parsed.error_code,
                    parsed.reason,
                )
                if failed is not None:
                    failed.append(parsed)
        logger.debug("whatsapp: %d status update(s)", len(statuses))
    for err in value.get("errors") or []:
        if isinstance(err, dict):
            logger.warning("whatsapp: error notification code %s: %s", err.get("code"), redact(err.get("title")))
    messages = value.get("messages") or []
    if not isinstance(messages, list):
        logger.warning("whatsapp: 'messages' is not a list; skipped")
        return []
    out = []
    for raw in messages:
        try:
            msg = _parse_message(raw, phone_number_id)
        except Exception:
            logger.warning("whatsapp: skipping a malformed message", exc_info=True)
            continue
        if msg is not None:
            out.append(msg)
    return out


def _parse_message(raw: Any, phone_number_id: Optional[str]) -> Optional[IncomingMessage]:
    if not isinstance(raw, dict):
        logger.warning("whatsapp: skipping a message that is not an object")
        return None
    message_id, wa_id, msg_type = raw.get("id"), raw.get("from"), raw.get("type")
    if not (isinstance(message_id, str) and message_id.strip() and isinstance(wa_id, (str, int)) and str(wa_id).strip()):
        logger.warning("whatsapp: skipping a message without 'id' or 'from'")
        return None
    msg = IncomingMessage(
        message_id=message_id.strip()[:255],
        wa_id=str(wa_id).strip(),
        msg_type=str(msg_type or "unknown"),
        timestamp=str(raw["timestamp"]) if raw.get("timestamp") is not None else None,
        phone_number_id=phone_number_id,
    )
    section = raw.get(msg_type) if isinstance(msg_type, str) else None
    section = section if isinstance(section, dict) else {}
    if msg_type in IGNORED_TYPES:
        logger.debug("whatsapp: ignoring a '%s' message", msg_type)
        return None
    if msg_type == "text":
        msg.text = str(section.get("body") or "").strip()
    elif msg_type == "interactive":
        kind = section.get("type")
        reply = section.get(kind) if kind in ("button_reply", "list_reply") else None
        if not isinstance(reply, dict):
            msg.kind = "unsupported"
            return msg
        msg.text = str(reply.get("id") or reply.get("title") or "").strip()
    elif msg_type == "button":  # quick-reply button of a template message
        msg.text = str(section.get("payload") or section.get("text") or "").strip()
    elif msg_type in CAPTIONED_TYPES and str(section.get("caption") or "").strip():
        # Read the words: a red flag typed as a photo caption must not be missed.
        msg.kind, msg.text = "caption", str(section["caption"]).strip()
    else:
        msg.kind = "unsupported"
        return msg
    if not msg.text:
        logger.debug("whatsapp: ignoring an empty '%s' message", msg_type)
        return None
    return msg
