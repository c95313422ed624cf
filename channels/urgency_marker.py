"""The warning sign in front of an urgent safety message, for channels that send plain text.

WhatsApp and Twilio (SMS or WhatsApp) cannot style a message, so the
urgencies that config/safety.yml marks (emergency, urgent; crisis deliberately
not) are shown with "⚠️ " in front of the text. Shared by
channels/whatsapp/ and channels/twilio_signed.py.
"""

from __future__ import annotations

from typing import Any

from clinic_bot.safety import load_table, message_urgency

URGENT_MARKER = "⚠️ "


def with_urgency_marker(text: str, message: Any) -> str:
    """`text` with a warning sign in front when `message` (a bot response) is marked urgent.

    Where the urgency is read from (the response's `metadata`) is
    `clinic_bot.safety.message_urgency`."""
    if text and message_urgency(message) in load_table().marked_urgencies:
        if not text.startswith(URGENT_MARKER.strip()):
            return URGENT_MARKER + text
    return text
