"""Delivery records for staff: sends WhatsApp refused or never got, and `failed` statuses it reports later.

Rasa's HTTP API answers 200 whatever the channel did, so a staff reply that
WhatsApp refused (e.g. the 24-hour window had closed) would look sent. Each
failure is counted (clinic_bot/metrics.py) and recorded in clinic_bot/deliveries.py (no message text) for the
console; an accepted staff reply is recorded with a hash of its message id so
that a `failed` status arriving later is pinned on that reply.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional

from sqlalchemy.engine import Engine

from channels.whatsapp.config import CHANNEL_NAME
from channels.whatsapp.privacy import mask_phone, redact
from clinic_bot.db import get_engine
from clinic_bot.deliveries import DeliveryLog
from clinic_bot.metrics import WHATSAPP_SEND_FAILURES

logger = logging.getLogger(__name__)

# Whether the response being sent is a staff reply (console, through Rasa's HTTP
# API). Rasa's OutputChannel hands text and buttons to separate methods, so the
# output channel sets this once per response and the Graph client reads it.
_STAFF_REPLY: "contextvars.ContextVar[bool]" = contextvars.ContextVar("whatsapp_staff_reply", default=False)


@contextlib.contextmanager
def sending_staff_reply(staff_reply: bool) -> Iterator[None]:
    token = _STAFF_REPLY.set(staff_reply)
    try:
        yield
    finally:
        _STAFF_REPLY.reset(token)


def is_staff_reply() -> bool:
    return _STAFF_REPLY.get()


@dataclass(frozen=True)
class FailedStatus:
    """A `failed` delivery status: WhatsApp accepted a message but could not deliver it."""

    message_id: str
    recipient_id: str
    error_code: Optional[str]
    reason: str


def parse_failed_status(status: Any) -> Optional[FailedStatus]:
    """The failure in one entry of a notification's `statuses`, or None (not failed, or malformed)."""
    if not isinstance(status, dict) or status.get("status") != "failed":
        return None
    message_id, recipient = status.get("id"), status.get("recipient_id")
    if not (isinstance(message_id, str) and message_id and isinstance(recipient, (str, int)) and str(recipient).strip()):
        return None
    errors = status.get("errors") if isinstance(status.get("errors"), list) else []
    err = errors[0] if errors and isinstance(errors[0], dict) else {}
    details = err.get("error_data", {}).get("details") if isinstance(err.get("error_data"), dict) else None
    reason = " — ".join(str(x) for x in (err.get("title") or err.get("message"), details) if x)
    code = err.get("code")
    return FailedStatus(
        message_id=message_id[:255],
        recipient_id=str(recipient).strip()[:64],
        error_code=None if code in (None, "") else str(code),
        reason=redact(reason, 300),
    )


@functools.lru_cache(maxsize=8)
def delivery_log(engine: Engine) -> DeliveryLog:
    """One DeliveryLog per database (its constructor makes sure the table exists)."""
    return DeliveryLog(engine)


class DeliveryRecorder:
    """Writes delivery records off the event loop. A database problem is logged, never raised:
    it must not break the conversation nor the webhook's 200."""

    def __init__(self, engine: Optional[Engine] = None) -> None:
        self._engine = engine

    async def sent(self, recipient: Any, message_id: str) -> None:
        await self._write(recipient, lambda log: log.record_sent(str(recipient), CHANNEL_NAME, message_id))

    async def send_failed(self, recipient: Any, *, error_code: Optional[str], reason: str, staff_reply: bool) -> None:
        WHATSAPP_SEND_FAILURES.labels(stage="send").inc()  # counted even if the record cannot be written
        await self._write(
            recipient,
            lambda log: log.record_failure(
                str(recipient), CHANNEL_NAME, error_code=error_code, reason=reason, staff_reply=staff_reply, source="send"
            ),
        )

    async def statuses_failed(self, failed: List[FailedStatus]) -> None:
        WHATSAPP_SEND_FAILURES.labels(stage="status").inc(len(failed))

        def write(log: DeliveryLog) -> None:
            for f in failed:
                log.record_status_failure(f.recipient_id, CHANNEL_NAME, f.message_id, error_code=f.error_code, reason=f.reason)

        await self._write(None, write, what=f"{len(failed)} failed delivery status(es)")

    async def _write(self, recipient: Any, write: Callable[[DeliveryLog], None], what: str = "") -> None:
        def blocking() -> None:
            write(delivery_log(self._engine or get_engine()))

        try:
            await asyncio.get_running_loop().run_in_executor(None, blocking)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("whatsapp: could not record %s", what or f"the delivery outcome for {mask_phone(recipient)}")
