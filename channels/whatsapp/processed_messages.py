"""Exactly-once answers: each WhatsApp message id is claimed in the database before it is handled.

Meta redelivers a notification it thinks was missed (for up to 7 days), and may
deliver the same one twice at once. A claim is an insert into a unique column,
so the database decides atomically, across processes and restarts too. If the
database is unreachable the message is handled anyway: a missed red flag is
worse than a rare duplicate answer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Callable, List

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from channels.whatsapp.notifications import IncomingMessage
from channels.whatsapp.privacy import message_ref
from clinic_bot.db import metadata
from clinic_bot.deliveries import message_key

logger = logging.getLogger(__name__)

# Holds a SHA-256 of each WhatsApp message id, not the id itself: wamid.* ids are
# base64 and contain the sender's phone number.
processed_messages_table = sa.Table(
    "whatsapp_processed_messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_key", sa.String(64), nullable=False, unique=True),
    sa.Column("received_at", sa.DateTime(timezone=True), nullable=False, index=True),
)


class ProcessedMessageStore:
    """Remembers handled WhatsApp message ids; the unique column makes a claim atomic."""

    RETENTION = timedelta(days=30)  # Meta retries failed deliveries for up to 7 days

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:
            processed_messages_table.create(engine, checkfirst=True)
        except sa.exc.OperationalError:  # created concurrently by another process
            pass

    @staticmethod
    def key(message_id: str) -> str:
        return message_key(message_id)

    def claim(self, message_id: str) -> bool:
        """True if this call recorded the id first (so it should be answered)."""
        try:
            with self.engine.begin() as conn:
                conn.execute(processed_messages_table.insert().values(message_key=self.key(message_id), received_at=datetime.now(timezone.utc)))
            return True
        except sa.exc.IntegrityError:
            return False

    def prune(self, older_than: timedelta = RETENTION) -> int:
        cutoff = datetime.now(timezone.utc) - older_than
        with self.engine.begin() as conn:
            return conn.execute(processed_messages_table.delete().where(processed_messages_table.c.received_at < cutoff)).rowcount


def claim_new(messages: List[IncomingMessage], open_store: Callable[[], ProcessedMessageStore]) -> List[IncomingMessage]:
    """The messages not handled before. Blocking (run it in a worker thread); fails open."""
    try:
        store = open_store()
    except Exception:
        logger.exception("whatsapp: processed-message store unavailable; handling without redelivery check")
        return list(messages)
    claimed = []
    for m in messages:
        try:
            if store.claim(m.message_id):
                claimed.append(m)
            else:
                logger.info("whatsapp: %s already handled; redelivery ignored", message_ref(m.message_id))
        except Exception:
            logger.exception("whatsapp: could not record %s; handling it anyway", message_ref(m.message_id))
            claimed.append(m)
    return claimed
