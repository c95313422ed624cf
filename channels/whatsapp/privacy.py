"""What may be logged about a person: phone numbers and message ids only in masked form.

A WhatsApp conversation id is the person's phone number, and WhatsApp message
ids (``wamid.*``, base64) encode it too; logs keep the last three digits of a
number and a short hash of a message id, enough to follow one conversation.
"""

from __future__ import annotations

import re
from typing import Any

from clinic_bot.deliveries import message_key

_LONG_DIGITS = re.compile(r"\+?\d{6,}")
_WAMID = re.compile(r"wamid\.[A-Za-z0-9+/=_-]+")


def mask_phone(number: Any) -> str:
    """``447700900123`` -> ``*********123``: enough to tell people apart in logs, no more."""
    digits = str(number or "")
    if len(digits) <= 3:
        return "***"
    return "*" * (len(digits) - 3) + digits[-3:]


def message_ref(message_id: Any) -> str:
    """A log-safe reference to a WhatsApp message id."""
    return "msg#" + message_key(str(message_id))[:12]


def redact(text: Any, limit: int = 300) -> str:
    """Mask anything that looks like a phone number or message id in text that is about to be logged."""
    text = _WAMID.sub(lambda m: message_ref(m.group(0)), str(text))
    return _LONG_DIGITS.sub(lambda m: mask_phone(m.group(0)), text)[:limit]
