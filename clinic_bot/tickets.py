"""Handoff tickets: the durable record of every escalation to a human.

A ticket is written before staff are notified, so a failed notification never
loses an escalation; the notification outcome is recorded on the ticket.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.safety import load_table
from clinic_bot.tables import metadata

STATUSES = ("open", "acknowledged", "closed")

tickets_table = sa.Table(
    "handoff_tickets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(255), nullable=False, unique=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("channel", sa.String(64), nullable=False),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("urgency", sa.String(16), nullable=False),
    sa.Column("urgency_rank", sa.Integer, nullable=False),
    sa.Column("trigger_message", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("status", sa.String(16), nullable=False, default="open", index=True),
    sa.Column("notification_status", sa.String(16), nullable=False, default="pending"),
    sa.Column("notification_attempts", sa.Integer, nullable=False, default=0),
    sa.Column("notification_error", sa.Text, nullable=True),
    sa.Column("updated_by", sa.String(255), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("note", sa.Text, nullable=True),
)

# A red flag repeated in a conversation that already has an open ticket joins
# that ticket instead of opening another (the queue is not flooded); each
# repeat is kept here under its own dedupe key, so a retried or reconciled
# escalation is recognised and never joins twice.
ticket_repeats_table = sa.Table(
    "handoff_ticket_repeats",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dedupe_key", sa.String(255), nullable=False, unique=True),
    sa.Column("ticket_id", sa.Integer, sa.ForeignKey("handoff_tickets.id", ondelete="CASCADE"), nullable=False, index=True),
    sa.Column("conversation_id", sa.String(255), nullable=False, index=True),
    sa.Column("category", sa.String(64), nullable=False),
    sa.Column("urgency", sa.String(16), nullable=False),
    sa.Column("trigger_message", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)


class TicketError(ValueError):
    """A ticket operation was refused (unknown ticket, bad status change)."""


@dataclass(frozen=True)
class Ticket:
    id: int
    conversation_id: str
    channel: str
    category: str
    urgency: str
    trigger_message: str
    created_at: datetime
    status: str
    notification_status: str
    notification_attempts: int
    notification_error: Optional[str]
    updated_by: Optional[str]
    note: Optional[str]

    @classmethod
    def from_row(cls, row: Any) -> "Ticket":
        m = row._mapping
        return cls(**{f: m[f] for f in cls.__dataclass_fields__})

    def as_dict(self) -> Dict[str, Any]:
        d = dict(self.__dict__)
        d["created_at"] = self.created_at.isoformat()
        return d


def _now() -> datetime:
    return datetime.now(timezone.utc)


class TicketStore:
    """Create, list and update handoff tickets."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(
        self,
        *,
        dedupe_key: str,
        conversation_id: str,
        channel: str,
        category: str,
        urgency: str,
        trigger_message: str,
        join_open_kind: Optional[str] = None,
    ) -> Tuple[Ticket, bool]:
        """Create a ticket once per dedupe key; a retried escalation gets the first back.

        With `join_open_kind` (e.g. "red_flag"), an escalation in a conversation that
        already has an open ticket of that kind joins it (see `ticket_repeats_table`);
        it counts as new (staff are told again) only if it raises the urgency, and
        the ticket then takes the higher urgency and category.

        Returns the ticket and whether staff need telling (created, or raised).

        Two writers with the same key at once (two console reconcilers, or a reconciler
        beside the action server, on PostgreSQL): both may find no ticket, and the
        unique key lets only one insert; the other gets the winner's ticket back.
        """
        ranks = load_table().urgency_rank
        if urgency not in ranks:
            raise TicketError(f"unknown urgency {urgency!r}")
        try:
            with self.engine.begin() as conn:
                return self._create_once(conn, dedupe_key, conversation_id, channel, category, urgency, trigger_message, join_open_kind, ranks)
        except sa.exc.IntegrityError:
            with self.engine.connect() as conn:
                found = self._by_key(conn, dedupe_key)
            if found is None:
                raise
            return found, False

    @staticmethod
    def _by_key(conn: Any, dedupe_key: str) -> Optional[Ticket]:
        """The ticket a dedupe key created or joined, if any."""
        existing = conn.execute(sa.select(tickets_table).where(tickets_table.c.dedupe_key == dedupe_key)).first()
        if existing is not None:
            return Ticket.from_row(existing)
        repeat = conn.execute(sa.select(ticket_repeats_table.c.ticket_id).where(ticket_repeats_table.c.dedupe_key == dedupe_key)).first()
        if repeat is not None:
            return Ticket.from_row(conn.execute(sa.select(tickets_table).where(tickets_table.c.id == repeat.ticket_id)).one())
        return None

    def _create_once(
        self,
        conn: Any,
        dedupe_key: str,
        conversation_id: str,
        channel: str,
        category: str,
        urgency: str,
        trigger_message: str,
        join_open_kind: Optional[str],
        ranks: Dict[str, int],
    ) -> Tuple[Ticket, bool]:
        found = self._by_key(conn, dedupe_key)
        if found is not None:
            return found, False
        open_ticket = (
            conn.execute(
                sa.select(tickets_table)
                .where(
                    tickets_table.c.conversation_id == conversation_id,
                    tickets_table.c.dedupe_key.startswith(f"{conversation_id}:{join_open_kind}:", autoescape=True),
                    tickets_table.c.status.in_(("open", "acknowledged")),
                )
                .order_by(tickets_table.c.id.desc())
            ).first()
            if join_open_kind
            else None
        )
        if open_ticket is not None:
            return self._join(conn, open_ticket, dedupe_key, category, urgency, ranks[urgency], trigger_message)
        result = conn.execute(
            tickets_table.insert().values(
                dedupe_key=dedupe_key,
                conversation_id=conversation_id,
                channel=channel or "unknown",
                category=category,
                urgency=urgency,
                urgency_rank=ranks[urgency],
                trigger_message=trigger_message or "",
                created_at=_now(),
                status="open",
                notification_status="pending",
                notification_attempts=0,
            )
        )
        ticket_id = result.inserted_primary_key[0]
        return Ticket.from_row(conn.execute(sa.select(tickets_table).where(tickets_table.c.id == ticket_id)).one()), True

    @staticmethod
    def _join(conn: Any, row: Any, dedupe_key: str, category: str, urgency: str, rank: int, trigger: str) -> Tuple[Ticket, bool]:
        conn.execute(
            ticket_repeats_table.insert().values(
                dedupe_key=dedupe_key,
                ticket_id=row.id,
                conversation_id=row.conversation_id,
                category=category,
                urgency=urgency,
                trigger_message=trigger or "",
                created_at=_now(),
            )
        )
        raised = rank < row.urgency_rank
        if raised:
            conn.execute(
                tickets_table.update()
                .where(tickets_table.c.id == row.id)
                .values(
                    category=category,
                    urgency=urgency,
                    urgency_rank=rank,
                    trigger_message=trigger or "",
                    status="open",
                    notification_status="pending",
                    notification_attempts=0,
                    notification_error=None,
                )
            )
        return Ticket.from_row(conn.execute(sa.select(tickets_table).where(tickets_table.c.id == row.id)).one()), raised

    def repeats(self, ticket_id: int) -> int:
        """How many later escalations joined this ticket."""
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(ticket_repeats_table).where(ticket_repeats_table.c.ticket_id == ticket_id)
            ).scalar_one()

    def get(self, ticket_id: int) -> Ticket:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(tickets_table).where(tickets_table.c.id == ticket_id)).first()
        if row is None:
            raise TicketError(f"no ticket {ticket_id}")
        return Ticket.from_row(row)

    def list(self, *, statuses: tuple = ("open", "acknowledged"), conversation_id: Optional[str] = None) -> List[Ticket]:
        """Most urgent first, then oldest first: the order staff should act in."""
        q = sa.select(tickets_table).where(tickets_table.c.status.in_(statuses))
        if conversation_id is not None:
            q = q.where(tickets_table.c.conversation_id == conversation_id)
        q = q.order_by(tickets_table.c.urgency_rank, tickets_table.c.created_at, tickets_table.c.id)
        with self.engine.connect() as conn:
            return [Ticket.from_row(r) for r in conn.execute(q)]

    def set_status(self, ticket_id: int, status: str, *, by: str, note: Optional[str] = None) -> Ticket:
        if status not in STATUSES:
            raise TicketError(f"unknown status {status!r}")
        current = self.get(ticket_id)
        if current.status == "closed" and status != "closed":
            raise TicketError(f"ticket {ticket_id} is closed")
        values: Dict[str, Any] = {"status": status, "updated_by": by, "updated_at": _now()}
        if note is not None:
            values["note"] = note
        with self.engine.begin() as conn:
            conn.execute(tickets_table.update().where(tickets_table.c.id == ticket_id).values(**values))
        return self.get(ticket_id)

    def record_notification(self, ticket_id: int, *, ok: bool, attempts: int, error: Optional[str] = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                tickets_table.update()
                .where(tickets_table.c.id == ticket_id)
                .values(
                    notification_status="sent" if ok else "failed",
                    notification_attempts=attempts,
                    notification_error=None if ok else (error or "unknown error")[:2000],
                )
            )

    def delete_conversation(self, conversation_id: str) -> int:
        """Erase a person's tickets (data-protection request)."""
        with self.engine.begin() as conn:
            conn.execute(ticket_repeats_table.delete().where(ticket_repeats_table.c.conversation_id == conversation_id))
            return conn.execute(tickets_table.delete().where(tickets_table.c.conversation_id == conversation_id)).rowcount
