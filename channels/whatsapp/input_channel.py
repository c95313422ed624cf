"""The webhook Meta calls: `/webhooks/whatsapp/webhook` (GET = verification handshake, POST = notifications).

Every POST is checked before anything is parsed: size (413, also while
streaming without Content-Length) and `X-Hub-Signature-256` over the raw body
(403); bad JSON or shape gives 400, never 500. A valid webhook gets 200 at
once and its messages are handled in the background, one task per sender (in
order), so a slow turn never makes Meta time out and redeliver. Without its
secrets the channel answers 503 instead of stopping the Rasa server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any, Awaitable, Callable, Dict, List, Optional, Set, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from sqlalchemy.engine import Engine

from channels.whatsapp.config import CHANNEL_NAME, WhatsAppConfig
from channels.whatsapp.delivery_records import DeliveryRecorder, FailedStatus
from channels.whatsapp.notifications import IncomingMessage, WebhookShapeError, parse_notification
from channels.whatsapp.output_channel import WhatsAppOutput
from channels.whatsapp.privacy import mask_phone, message_ref, redact
from channels.whatsapp.processed_messages import ProcessedMessageStore, claim_new
from clinic_bot import signatures
from clinic_bot.db import get_engine

logger = logging.getLogger(__name__)

MAX_CHALLENGE_LENGTH = 512
CAPTION_NOTE = "I can't open attachments, so I've only read the text you sent with it."


class WhatsAppInput(InputChannel):
    """Receives WhatsApp Cloud API webhooks; see the module docstring."""

    _warned_not_configured = False
    _warned_graph_version = False

    @classmethod
    def name(cls) -> Text:
        return CHANNEL_NAME

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        return cls(WhatsAppConfig.load(credentials))

    def __init__(self, config: Optional[WhatsAppConfig] = None, engine: Optional[Engine] = None) -> None:
        self.config = config or WhatsAppConfig.load()
        self._engine = engine
        self._store: Optional[ProcessedMessageStore] = None
        self._tasks: Set[asyncio.Task] = set()
        if not self.config.configured and not WhatsAppInput._warned_not_configured:
            WhatsAppInput._warned_not_configured = True
            logger.warning(
                "WhatsApp channel not configured (missing %s); its webhook answers 503 until they are set",
                ", ".join(self.config.missing),
            )
        version_warning = self.config.graph_version_warning()
        if version_warning and not WhatsAppInput._warned_graph_version:
            WhatsAppInput._warned_graph_version = True
            logger.warning("whatsapp: %s", version_warning)

    def get_output_channel(self) -> Optional[OutputChannel]:
        """Lets Rasa's HTTP API (`output_channel=latest`) deliver staff replies on WhatsApp."""
        if not (self.config.access_token and self.config.phone_number_id):
            return None
        return WhatsAppOutput(self.config, self._engine)

    # ----- the webhook

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("whatsapp_webhook", __name__)
        cfg = self.config

        def not_configured() -> HTTPResponse:
            return response.text("WhatsApp channel not configured", status=503)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if cfg.configured else "not configured"})

        @bp.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            if not cfg.configured:
                return not_configured()
            mode = request.args.get("hub.mode") or ""
            token = request.args.get("hub.verify_token") or ""
            challenge = request.args.get("hub.challenge") or ""
            token_ok = hmac.compare_digest(token.encode("utf-8"), cfg.verify_token.encode("utf-8"))
            if mode != "subscribe" or not token_ok:
                logger.warning("whatsapp: webhook verification refused (wrong mode or verify token)")
                return response.text("Verification failed", status=403)
            if not challenge or len(challenge) > MAX_CHALLENGE_LENGTH:
                return response.text("Missing or invalid hub.challenge", status=400)
            logger.info("whatsapp: webhook verified by Meta")
            return response.text(challenge, status=200)

        @bp.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not cfg.configured:
                return not_configured()
            declared = request.headers.get("content-length")
            if declared is not None and declared.strip().isdigit() and int(declared) > cfg.max_body_bytes:
                return _json_error(413, "payload_too_large", f"body exceeds {cfg.max_body_bytes} bytes")
            body = await self._read_body(request)
            if body is None:
                return _json_error(413, "payload_too_large", f"body exceeds {cfg.max_body_bytes} bytes")
            if not signatures.verify(body, cfg.app_secret, request.headers.get("x-hub-signature-256")):
                logger.warning("whatsapp: webhook with a missing or invalid X-Hub-Signature-256 refused")
                return _json_error(403, "invalid_signature", "missing or invalid X-Hub-Signature-256")
            try:
                data = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as exc:
                return _json_error(400, "invalid_json", f"body is not valid JSON ({type(exc).__name__})")
            failed: List[FailedStatus] = []
            try:
                messages = parse_notification(data, cfg.phone_number_id, failed)
            except WebhookShapeError as exc:
                return _json_error(400, "invalid_payload", str(exc))
            if failed:
                await DeliveryRecorder(self._engine).statuses_failed(failed)
            if messages:
                await self._handle_in_background(messages, on_new_message)
            return response.json({"status": "received"})

        return bp

    async def _read_body(self, request: Request) -> Optional[bytes]:
        """The raw body, or None when it exceeds the limit (read in chunks: never buffer a huge body)."""
        limit = self.config.max_body_bytes
        if request.body:
            return request.body if len(request.body) <= limit else None
        stream = getattr(request, "stream", None)
        if stream is None:
            return b""
        chunks, size = [], 0
        while True:
            chunk = await stream.read()
            if chunk is None:
                break
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    # ----- handling, after the 200

    def _processed_store(self) -> ProcessedMessageStore:
        if self._store is None:
            self._store = ProcessedMessageStore(self._engine or get_engine())
        return self._store

    async def _handle_in_background(self, messages: List[IncomingMessage], on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        """Claim the messages (redeliveries drop out), then one task per person keeps their messages in order."""
        claimed = await asyncio.get_running_loop().run_in_executor(None, claim_new, messages, self._processed_store)
        by_sender: Dict[str, List[IncomingMessage]] = {}
        for m in claimed:
            by_sender.setdefault(m.wa_id, []).append(m)
        for batch in by_sender.values():
            task = asyncio.ensure_future(self._handle(batch, on_new_message))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def wait_idle(self, timeout_s: float = 30.0) -> None:
        """Wait for background handling to finish (tests, graceful shutdown)."""
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=timeout_s)

    async def _handle(self, messages: List[IncomingMessage], on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        out = WhatsAppOutput(self.config, self._engine)
        for m in messages:
            try:
                if m.kind == "unsupported":
                    logger.info("whatsapp: unsupported '%s' message from %s; sent the text-only note", m.msg_type, mask_phone(m.wa_id))
                    await out.send_text_message(m.wa_id, self.config.unsupported_reply)
                    continue
                if m.kind == "caption":
                    await out.send_text_message(m.wa_id, CAPTION_NOTE)
                await on_new_message(UserMessage(m.text, out, m.wa_id, input_channel=self.name(), message_id=m.message_id, metadata=m.metadata()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.error(
                    "whatsapp: handling %s from %s failed: %s: %s", message_ref(m.message_id), mask_phone(m.wa_id), type(exc).__name__, redact(exc)
                )
                logger.debug("whatsapp: handler traceback", exc_info=True)
                await out.send_text_message(m.wa_id, _failure_reply())


def _json_error(status: int, error: str, detail: str) -> HTTPResponse:
    return response.json({"error": error, "detail": detail}, status=status)


def _failure_reply() -> str:
    text = "Sorry, something went wrong on our side and I couldn't answer. Please try again in a few minutes."
    try:
        from clinic_bot.profile import cached_profile

        return f"{text} If you need urgent medical help, call {cached_profile().locale.emergency_number}."
    except Exception:
        return text
