"""Failed deliveries: messages a channel could not get to the person.

Why: a staff reply whose WhatsApp send failed used to look sent (Rasa's HTTP API
answers 200 whatever the channel did), and a `failed` delivery status from
WhatsApp (e.g. the 24-hour window had closed) was not even logged. The channel
records each failure here (project database, `CLINIC_DB_URL`); the staff
console shows them on the conversation and its tickets, and tells the member of
staff at once when their reply was refused.

Rows hold no message text: the conversation id (needed to show the failure on
the conversation; erasure and retention delete the rows with it), whether it
was a staff reply, the provider's error code and a short, redacted reason.
Staff replies that were accepted are recorded too (status `sent`, with a hash of
the provider's message id) so that a later `failed` status can be pinned on the
reply it belongs to.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.tables import metadata

REASON_LIMIT = 300

deliveries_table = sa.Table(
    "message_deliveries",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),  # sent | failed
    sa.Column("staff_reply", sa.Boolean, nullable=False, default=False),
    sa.Column("message_key", sa.String(64), nullable=True, index=True),  # SHA-256 of the provider's id
    sa.Column("error_code", sa.String(32), nullable=True),
    sa.Column("reason", sa.String(REASON_LIMIT), nullable=True),
    sa.Column("source", sa.String(16), nullable=True),  # send (the API refused) | status (reported later)
    sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("failed_at", sa.DateTime(timezone=True), nullable=True),
)


def message_key(message_id: str) -> str:
    """Provider message ids (WhatsApp's wamid.*) encode the phone number: only a hash is kept."""
    return hashlib.sha256(str(message_id).encode("utf-8")).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive UTC; the columns are never null."""
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value


@dataclass(frozen=True)
class DeliveryFailure:
    id: int
    conversation_id: str
    channel: str
    staff_reply: bool
    error_code: Optional[str]
    reason: str
    source: str
    sent_at: datetime
    failed_at: datetime

    @property
    def summary(self) -> str:
        code = f"code {self.error_code}: " if self.error_code else ""
        return f"{code}{self.reason}" if self.reason else (code.rstrip(": ") or "unknown error")

    @classmethod
    def from_row(cls, row: Any) -> "DeliveryFailure":
        m = row._mapping
        return cls(
            id=m["id"],
            conversation_id=m["conversation_id"],
            channel=m["channel"],
            staff_reply=bool(m["staff_reply"]),
            error_code=m["error_code"],
            reason=m["reason"] or "",
            source=m["source"] or "send",
            sent_at=_aware(m["sent_at"]),
            failed_at=_aware(m["failed_at"] or m["sent_at"]),
        )


class DeliveryLog:
    """Record and read failed deliveries (and accepted staff replies, for later statuses)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        try:  # the channel may write before any other code created the project's tables
            deliveries_table.create(engine, checkfirst=True)
        except sa.exc.OperationalError:  # created concurrently by another process
            pass

    def record_sent(self, conversation_id: str, channel: str, message_id: str, *, staff_reply: bool = True) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                deliveries_table.insert().values(
                    conversation_id=conversation_id,
                    channel=channel,
                    status="sent",
                    staff_reply=staff_reply,
                    message_key=message_key(message_id),
                    sent_at=_now(),
                )
            )

    def record_failure(
        self,
        conversation_id: str,
        channel: str,
        *,
        error_code: Optional[Any],
        reason: str,
        staff_reply: bool = False,
        source: str = "send",
        message_id: Optional[str] = None,
    ) -> None:
        """A send the provider refused or that never got through."""
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(
                deliveries_table.insert().values(
                    conversation_id=conversation_id,
                    channel=channel,
                    status="failed",
                    staff_reply=staff_reply,
                    message_key=message_key(message_id) if message_id else None,
                    error_code=None if error_code in (None, "") else str(error_code)[:32],
                    reason=(reason or "")[:REASON_LIMIT],
                    source=source,
                    sent_at=now,
                    failed_at=now,
                )
            )

    def record_status_failure(self, conversation_id: str, channel: str, message_id: str, *, error_code: Optional[Any], reason: str) -> None:
        """The provider reported later that a message it had accepted failed.

        The staff reply it belongs to (recorded as sent) is marked failed; a
        message not recorded as sent (the assistant's own) gets a new row."""
        key = message_key(message_id)
        values = dict(
            status="failed",
            source="status",
            failed_at=_now(),
            error_code=None if error_code in (None, "") else str(error_code)[:32],
            reason=(reason or "")[:REASON_LIMIT],
        )
        with self.engine.begin() as conn:
            updated = conn.execute(
                deliveries_table.update()
                .where(sa.and_(deliveries_table.c.message_key == key, deliveries_table.c.status != "failed"))
                .values(**values)
            ).rowcount
            if not updated and conn.execute(sa.select(deliveries_table.c.id).where(deliveries_table.c.message_key == key)).first() is None:
                conn.execute(
                    deliveries_table.insert().values(
                        conversation_id=conversation_id, channel=channel, staff_reply=False, message_key=key, sent_at=values["failed_at"], **values
                    )
                )

    def failures(self, conversation_id: str, *, since: Optional[datetime] = None, staff_only: bool = False) -> List[DeliveryFailure]:
        """A conversation's failed deliveries, oldest first (`since`: failed at or after)."""
        c = deliveries_table.c
        q = sa.select(deliveries_table).where(sa.and_(c.conversation_id == conversation_id, c.status == "failed"))
        if since is not None:
            q = q.where(c.failed_at >= since)
        if staff_only:
            q = q.where(c.staff_reply.is_(True))
        with self.engine.connect() as conn:
            return [DeliveryFailure.from_row(r) for r in conn.execute(q.order_by(c.failed_at, c.id))]

    def failures_by_conversation(self, conversation_ids: Iterable[str]) -> Dict[str, List[DeliveryFailure]]:
        """Failed deliveries for several conversations at once (the escalation queue)."""
        ids = list(set(conversation_ids))
        out: Dict[str, List[DeliveryFailure]] = {}
        if not ids:
            return out
        c = deliveries_table.c
        with self.engine.connect() as conn:
            for r in conn.execute(
                sa.select(deliveries_table).where(sa.and_(c.conversation_id.in_(ids), c.status == "failed")).order_by(c.failed_at, c.id)
            ):
                f = DeliveryFailure.from_row(r)
                out.setdefault(f.conversation_id, []).append(f)
        return out

    def delete_conversation(self, conversation_id: str) -> int:
        with self.engine.begin() as conn:
            return conn.execute(deliveries_table.delete().where(deliveries_table.c.conversation_id == conversation_id)).rowcount

    def prune(self, before: datetime) -> int:
        """Forget deliveries sent before `before` (the retention cutoff)."""
        with self.engine.begin() as conn:
            return conn.execute(deliveries_table.delete().where(deliveries_table.c.sent_at < before)).rowcount
