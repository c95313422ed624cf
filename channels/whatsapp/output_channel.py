"""Rasa's bot responses as WhatsApp messages: text, reply buttons or lists, images, Graph messages.

Also the output of staff replies: the console appends them through Rasa's HTTP
API with `output_channel=latest`, and `staff_reply` in the response marks them
for the delivery record. Never raises into Rasa's message handling (a failed
send is recorded for staff instead; see graph_client.py).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Optional, Text

from rasa.core.channels.channel import OutputChannel
from sqlalchemy.engine import Engine

from channels.urgency_marker import with_urgency_marker
from channels.whatsapp.config import CHANNEL_NAME, WhatsAppConfig
from channels.whatsapp.delivery_records import sending_staff_reply
from channels.whatsapp.graph_client import GraphClient
from channels.whatsapp.interactive import DEFAULT_BODY, INTERACTIVE_BODY_LIMIT, MAX_LIST_ROWS, interactive_message
from channels.whatsapp.privacy import mask_phone
from channels.whatsapp.text_splitting import split_text

logger = logging.getLogger(__name__)


class WhatsAppOutput(OutputChannel):
    """Sends bot messages through the Graph API."""

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    def __init__(self, config: WhatsAppConfig, engine: Optional[Engine] = None) -> None:
        self.config = config
        self.graph = GraphClient(config, engine)

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        # Staff replies (console, through Rasa's HTTP API) carry `staff_reply` from their metadata.
        with sending_staff_reply(bool(message.get("staff_reply"))):
            try:
                message = dict(message)
                if message.get("text"):
                    # WhatsApp can't style text: an urgent safety message is marked instead.
                    message["text"] = with_urgency_marker(str(message["text"]), message)
                await super().send_response(recipient_id, message)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("whatsapp: could not send a response to %s", mask_phone(recipient_id))

    async def send_text_message(self, recipient_id: Text, text: Text, **kwargs: Any) -> None:
        for part in split_text(text):
            await self._send_text(recipient_id, part)

    async def send_text_with_buttons(self, recipient_id: Text, text: Text, buttons: List[Dict[Text, Any]], **kwargs: Any) -> None:
        buttons = [b for b in (buttons or []) if isinstance(b, dict) and (b.get("title") or b.get("payload"))]
        if not buttons:
            await self.send_text_message(recipient_id, text)
            return
        if len(buttons) > MAX_LIST_ROWS:
            logger.warning("whatsapp: %d buttons, WhatsApp allows %d; sending the first %d", len(buttons), MAX_LIST_ROWS, MAX_LIST_ROWS)
            buttons = buttons[:MAX_LIST_ROWS]
        parts = split_text(text)
        if parts and len(parts[-1]) > INTERACTIVE_BODY_LIMIT:
            parts = parts[:-1] + split_text(parts[-1], INTERACTIVE_BODY_LIMIT)
        body = parts.pop() if parts else DEFAULT_BODY
        for part in parts:  # long text: the lead-in goes first as plain text
            await self._send_text(recipient_id, part)
        interactive = interactive_message(body, buttons, self.config.list_button_label)
        await self.graph.send(recipient_id, {"type": "interactive", "interactive": interactive})

    async def send_image_url(self, recipient_id: Text, image: Text, **kwargs: Any) -> None:
        await self.graph.send(recipient_id, {"type": "image", "image": {"link": str(image)}})

    async def send_custom_json(self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any) -> None:
        """`custom: {whatsapp: {...}}` is passed through as a Graph message; `custom.text` is sent as text.

        Anything else (e.g. only `urgency`) has no WhatsApp form and is not dumped at the person.
        """
        if not isinstance(json_message, dict):
            return
        raw = json_message.get("whatsapp")
        if isinstance(raw, dict) and raw.get("type"):
            await self.graph.send(recipient_id, {k: v for k, v in raw.items() if k not in ("to", "messaging_product")})
        elif json_message.get("text"):
            # kwargs: the rest of the response, its `metadata` included
            await self.send_text_message(recipient_id, with_urgency_marker(str(json_message["text"]), kwargs))
        else:
            logger.debug("whatsapp: custom payload without a WhatsApp form skipped (keys: %s)", sorted(json_message))

    async def _send_text(self, recipient_id: Text, body: str) -> None:
        await self.graph.send(recipient_id, {"type": "text", "text": {"preview_url": False, "body": body}})
