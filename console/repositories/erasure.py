"""Erasing a person's conversation, on request or by the retention policy.

What is deleted for a sender id:
  * every event in Rasa's tracker store (`events` rows with that sender_id),
  * the handoff tickets (TicketStore.delete_conversation),
  * rows in any other project table keyed by it: every table in CLINIC_DB_URL
    with a `conversation_id` or `sender_id` column (found by reflection, so
    tables added later, e.g. channel state, are covered too),
  * its rows in the console's `summary_*` tables, through the indexer
    (console/repositories/summaries.py), under its lock so that a pass which read
    the conversation before its events went cannot write the rows back.
Retention that deletes only a conversation's old sessions has the indexer
recompute that conversation's summaries (its cursor only sees new events).
The audit log keeps its entries (accountability) but the sender id in them is
replaced by a keyed pseudonym, and the erasure itself is logged the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.deliveries import DeliveryLog
from clinic_bot.settings import load_settings
from clinic_bot.tickets import TicketStore, tickets_table
from console.refs import erased_pseudonym
from console.repositories.audit import AuditLog
from console.repositories.events import events_table as ev
from console.repositories.events import has_events_table
from console.repositories.summaries import SummaryIndex
from console.tables import audit_table

PERSON_KEY_COLUMNS = ("conversation_id", "sender_id")
SKIP_TABLES = frozenset({audit_table.name})  # pseudonymised instead
SUMMARY_PREFIX = "summary_"  # erased through the indexer
DAY_S = 86400.0


@dataclass
class ErasureResult:
    sender_pseudonym: str
    deleted: Dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.deleted.values())


@dataclass
class RetentionResult:
    cutoff: float
    conversations_erased: int = 0
    old_session_events_deleted: int = 0
    closed_tickets_deleted: int = 0
    deliveries_deleted: int = 0
    pseudonyms: List[str] = field(default_factory=list)


class Eraser:
    def __init__(self, tracker_engine: Engine, clinic_engine: Engine, secret_key: str, index: Optional[SummaryIndex] = None) -> None:
        self.tracker_engine = tracker_engine
        self.clinic_engine = clinic_engine
        self.secret_key = secret_key
        self.index = index or SummaryIndex(tracker_engine, clinic_engine, secret_key, load_settings().console_low_confidence)
        self.tickets = TicketStore(clinic_engine)
        self.audit = AuditLog(clinic_engine)

    def _other_tables(self) -> List[sa.Table]:
        meta = sa.MetaData()
        meta.reflect(bind=self.clinic_engine)
        found = []
        for table in meta.sorted_tables:
            if table.name in SKIP_TABLES or table.name in (tickets_table.name,) or table.name.startswith(SUMMARY_PREFIX):
                continue
            if any(c in table.c for c in PERSON_KEY_COLUMNS):
                found.append(table)
        return found

    def erase(self, sender_id: str, *, actor: str, reason: str = "request", ip: Optional[str] = None) -> ErasureResult:
        pseudonym = erased_pseudonym(self.secret_key, sender_id)
        result = ErasureResult(pseudonym)
        if has_events_table(self.tracker_engine):
            with self.tracker_engine.begin() as conn:
                result.deleted["tracker events"] = conn.execute(ev.delete().where(ev.c.sender_id == sender_id)).rowcount
        result.deleted["tickets"] = self.tickets.delete_conversation(sender_id)
        for table in self._other_tables():
            if table.name == ev.name and self.clinic_engine.url == self.tracker_engine.url:
                continue
            cond = sa.or_(*[table.c[c] == sender_id for c in PERSON_KEY_COLUMNS if c in table.c])
            with self.clinic_engine.begin() as conn:
                n = conn.execute(table.delete().where(cond)).rowcount
            if n:
                result.deleted[table.name] = result.deleted.get(table.name, 0) + n
        for name, n in self.index.forget(sender_id).items():
            result.deleted[name] = result.deleted.get(name, 0) + n
        self.audit.pseudonymise(sender_id, pseudonym)
        detail = f"{reason}: " + ", ".join(f"{k}={v}" for k, v in result.deleted.items())
        self.audit.record(actor, "delete" if reason == "request" else "retention", pseudonym, detail, ip)
        return result

    def apply_retention(self, days: int, *, now: Optional[float] = None, actor: str = "retention") -> RetentionResult:
        """Delete what is older than `days` days.

        * Conversations whose last event is older than the cutoff are erased
          completely (as above).
        * In conversations still in use, whole earlier sessions older than the
          cutoff are deleted: events before both the cutoff and the latest
          `session_started`, so the current session Rasa works with is untouched.
        * Closed tickets created before the cutoff are deleted.
        * Delivery records (clinic_bot/deliveries.py) older than the cutoff are deleted.
        """
        if days < 1:
            raise ValueError("retention needs at least 1 day")
        now = time.time() if now is None else now
        cutoff = now - days * DAY_S
        result = RetentionResult(cutoff)
        if has_events_table(self.tracker_engine):
            with self.tracker_engine.connect() as conn:
                stale = [r[0] for r in conn.execute(sa.select(ev.c.sender_id).group_by(ev.c.sender_id).having(sa.func.max(ev.c.timestamp) < cutoff))]
                partly = conn.execute(
                    sa.select(ev.c.sender_id, sa.func.max(sa.case((ev.c.type_name == "session_started", ev.c.timestamp), else_=None)))
                    .group_by(ev.c.sender_id)
                    .having(sa.and_(sa.func.min(ev.c.timestamp) < cutoff, sa.func.max(ev.c.timestamp) >= cutoff))
                ).all()
            for sender in stale:
                result.pseudonyms.append(self.erase(sender, actor=actor, reason=f"retention {days} days").sender_pseudonym)
                result.conversations_erased += 1
            pruned = []
            for sender, latest_session in partly:
                if latest_session is None:
                    continue
                bound = min(cutoff, latest_session)
                with self.tracker_engine.begin() as conn:
                    n = conn.execute(ev.delete().where(sa.and_(ev.c.sender_id == sender, ev.c.timestamp < bound))).rowcount
                result.old_session_events_deleted += n
                if n:
                    pruned.append(sender)
            self.index.recompute(pruned)
        # Tickets of conversations with no events left at all (e.g. tracker already pruned).
        cutoff_dt = datetime.fromtimestamp(cutoff, timezone.utc)
        with self.clinic_engine.begin() as conn:
            result.closed_tickets_deleted = conn.execute(
                tickets_table.delete().where(sa.and_(tickets_table.c.status == "closed", tickets_table.c.created_at < cutoff_dt))
            ).rowcount
        result.deliveries_deleted = DeliveryLog(self.clinic_engine).prune(before=cutoff_dt)
        self.audit.record(
            actor,
            "retention",
            None,
            f"days={days} erased={result.conversations_erased} old_events={result.old_session_events_deleted} "
            f"closed_tickets={result.closed_tickets_deleted} deliveries={result.deliveries_deleted}",
        )
        return result
