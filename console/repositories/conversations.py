"""Conversations, read from Rasa's tracker store plus the handoff tickets.

The list, its filters and search, and the unanswered report read the summary
tables (console/repositories/summary_tables.py), which the indexer derives from
Rasa's events table and brings up to date before each read; one transcript reads
its conversation's events directly (Rasa indexes events by sender_id).
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.deliveries import DeliveryFailure, DeliveryLog
from clinic_bot.tickets import STATUSES, Ticket, TicketStore
from console.refs import REF_RE, conversation_ref
from console.repositories.events import event_data, has_events_table
from console.repositories.events import events_table as ev
from console.repositories.filters import Filters
from console.repositories.messages import (
    CORE_FALLBACK_ACTION,
    HANDOFF_SLOT,
    UserMessageInfo,
    analyse_user_event,
)
from console.repositories.summaries import SummaryIndex
from console.repositories.summary_reads import SEARCH_COUNT_CAP, ListQuery, ReportPage, SummaryReader
from console.repositories.unanswered import UnansweredItem

# Slots set at every session start from the clinic profile: noise in a transcript.
HIDDEN_SLOTS = frozenset({"emergency_number", "emergency_department", "urgent_advice", "crisis_line"})
READ_STEPS = 1  # indexer steps a page may run before reading (each at most BATCH_EVENTS events)
# A staff reply's event is stamped just before the channel sends it (retries included, a send
# ends within a minute): a failure belongs to the last staff reply stamped that long before.
DELIVERY_MATCH_S = 60.0


@dataclass
class Summary:
    sender_id: str
    ref: str
    first_at: float
    last_at: float
    user_messages: int
    channel: str = "unknown"
    escalated: bool = False
    in_handoff: bool = False
    open_tickets: int = 0
    unanswered: int = 0


@dataclass
class Page:
    items: List[Summary]
    total: int
    page: int
    pages: int
    channels: List[str]
    more: bool = False  # a search found more than `total` (its count stops at SEARCH_COUNT_CAP)


@dataclass
class TranscriptItem:
    kind: str  # user | bot | staff | action | handoff | slot | session | ticket | delivery | other
    at: float
    text: str = ""
    name: str = ""
    value: Any = None
    actor: str = ""
    policy: str = ""
    confidence: Optional[float] = None
    buttons: List[str] = field(default_factory=list)
    info: Optional[UserMessageInfo] = None
    ticket: Optional[Ticket] = None
    core_fallback: bool = False
    during_handoff: bool = False  # a user message the assistant held back (staff were handling it)
    delivery: Optional[DeliveryFailure] = None  # set when this message did not reach the person


@dataclass
class Transcript:
    sender_id: str
    ref: str
    items: List[TranscriptItem]
    tickets: List[Ticket]
    in_handoff: bool
    channel: str
    delivery_failures: List[DeliveryFailure] = field(default_factory=list)
    # ticket id -> failed deliveries since the ticket was opened
    ticket_failures: Dict[int, List[DeliveryFailure]] = field(default_factory=dict)


def failures_since_ticket(ticket: Ticket, failures: Iterable[DeliveryFailure]) -> List[DeliveryFailure]:
    """The failed deliveries of the ticket's conversation since the ticket was opened."""
    opened = _ticket_ts(ticket)
    return [f for f in failures if f.conversation_id == ticket.conversation_id and f.failed_at.timestamp() >= opened]


def attach_failures(items: List[TranscriptItem], failures: Iterable[DeliveryFailure]) -> List[TranscriptItem]:
    """Mark each failed staff reply on its message; other failures become their own timeline items.

    Returns the items to add to the timeline."""
    staff = [i for i in items if i.kind == "staff"]
    extra: List[TranscriptItem] = []
    for f in failures:
        sent = f.sent_at.timestamp()
        target = None
        if f.staff_reply:
            target = next((i for i in reversed(staff) if sent - DELIVERY_MATCH_S <= i.at <= sent + 1.0 and i.delivery is None), None)
        if target is not None:
            target.delivery = f
        else:
            extra.append(TranscriptItem("delivery", f.failed_at.timestamp(), delivery=f))
    return extra


def _ticket_ts(ticket: Ticket) -> float:
    created = ticket.created_at
    if created.tzinfo is None:  # SQLite hands back naive UTC
        from datetime import timezone

        created = created.replace(tzinfo=timezone.utc)
    return created.timestamp()


class ConversationRepository:
    def __init__(
        self,
        tracker_engine: Engine,
        tickets: TicketStore,
        secret_key: str,
        *,
        low_confidence: float = 0.6,
        deliveries: Optional[DeliveryLog] = None,
        index: Optional[SummaryIndex] = None,
    ) -> None:
        self.engine = tracker_engine
        self.tickets = tickets
        self.deliveries = deliveries
        self.secret_key = secret_key
        self.low_confidence = low_confidence
        self._refs: Dict[str, str] = {}
        self._lock = threading.Lock()
        # The list pages read the summaries, kept in the project's database (the tickets').
        self.index = index or SummaryIndex(tracker_engine, tickets.engine, secret_key, low_confidence)
        self.reader = SummaryReader(tickets.engine)

    # -- references ---------------------------------------------------------
    def ref(self, sender_id: str) -> str:
        ref = conversation_ref(self.secret_key, sender_id)
        with self._lock:
            self._refs[ref] = sender_id
        return ref

    def resolve(self, ref: str) -> Optional[str]:
        """The sender id behind a URL reference, or None (unknown or erased)."""
        if not REF_RE.match(ref or ""):
            return None
        with self._lock:
            sender = self._refs.get(ref)
        if sender is None:
            self.fresh()
            sender = self.reader.sender_for_ref(ref) if self.secret_key == self.index.secret_key else None
        if sender is None:  # a conversation known only from its tickets (its events pruned)
            sender = next((t.conversation_id for t in self.tickets.list(statuses=STATUSES) if self.ref(t.conversation_id) == ref), None)
        if sender is not None and not self.exists(sender):
            with self._lock:
                self._refs.pop(ref, None)
            return None
        if sender is not None:
            self.ref(sender)
        return sender

    def forget(self, sender_id: str) -> None:
        with self._lock:
            self._refs.pop(conversation_ref(self.secret_key, sender_id), None)

    def _ready(self) -> bool:
        # False only until Rasa has created its schema; cached once it exists.
        if not getattr(self, "_has_events", False):
            self._has_events = has_events_table(self.engine)
        return self._has_events

    def exists(self, sender_id: str) -> bool:
        if self._ready():
            with self.engine.connect() as conn:
                if conn.execute(sa.select(ev.c.id).where(ev.c.sender_id == sender_id).limit(1)).first():
                    return True
        return bool(self.tickets.list(statuses=STATUSES, conversation_id=sender_id))

    # -- listing (the summary tables) ----------------------------------------------
    def fresh(self) -> None:
        """Bring the summaries up to date before a page reads them, so staff never see a
        stale list: one cheap check when nothing is new, a bounded step when something is
        (a long backlog, such as the first build, is the background pass's job)."""
        self.index.catch_up(max_steps=READ_STEPS)

    def _summary(self, row: Any) -> Summary:
        return Summary(
            row.sender_id,
            row.ref,
            row.first_at,
            row.last_at,
            row.user_messages,
            row.channel,
            escalated=bool(row.escalated or row.tickets),
            in_handoff=bool(row.in_handoff),
            open_tickets=int(row.open_tickets),
        )

    def summaries(self, start: Optional[float] = None, end: Optional[float] = None) -> Dict[str, Summary]:
        """Every conversation with at least one user message active in [start, end)."""
        self.fresh()
        return {r.sender_id: self._summary(r) for r in self.reader.rows(ListQuery(start, end))}

    def unanswered(self, start: Optional[float] = None, end: Optional[float] = None, senders: Optional[Iterable[str]] = None) -> List[UnansweredItem]:
        """Messages the bot did not answer (console/repositories/unanswered.py decides which)."""
        self.fresh()
        return self.reader.unanswered(start, end, senders)

    def unanswered_report(self, start: Optional[float], end: Optional[float], page: int, per_page: int) -> ReportPage:
        """One page of the unanswered report's groups, most frequent first."""
        self.fresh()
        return self.reader.report_page(start, end, page, per_page)

    def _list_query(self, filters: Filters, tz: ZoneInfo) -> ListQuery:
        start, end = filters.time_range(tz)
        return ListQuery(start, end, filters.channel, filters.escalated, filters.unanswered, filters.q)

    def _with_counts(self, items: List[Summary], lq: ListQuery) -> List[Summary]:
        counts = self.reader.unanswered_counts([s.sender_id for s in items], lq.start, lq.end)
        for s in items:
            s.unanswered = counts.get(s.sender_id, 0)
        return items

    def filtered(self, filters: Filters, tz: ZoneInfo) -> Tuple[List[Summary], List[str]]:
        """All matching conversations, most recent first, and the channels seen (exports)."""
        self.fresh()
        lq = self._list_query(filters, tz)
        items = [self._summary(r) for r in self.reader.rows(lq)]
        if filters.unanswered:
            self._with_counts(items, lq)
        return items, self.reader.channels(lq.start, lq.end)

    def page(self, filters: Filters, tz: ZoneInfo, page_size: int = 25) -> Page:
        self.fresh()
        lq = self._list_query(filters, tz)
        lq.common = self.reader.is_common(lq)
        total = self.reader.count(lq, cap=SEARCH_COUNT_CAP if lq.q else None)
        more = bool(lq.q) and total > SEARCH_COUNT_CAP
        total = min(total, SEARCH_COUNT_CAP) if more else total
        pages = max(1, math.ceil(total / page_size))
        page = min(filters.page, pages)
        shown = [self._summary(r) for r in self.reader.rows(lq, limit=page_size, offset=(page - 1) * page_size)]
        return Page(self._with_counts(shown, lq), total, page, pages, self.reader.channels(lq.start, lq.end), more)

    # -- one conversation ------------------------------------------------------
    def raw_events(self, sender_id: str) -> List[Dict[str, Any]]:
        if not self._ready():
            return []
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(ev.c.data).where(ev.c.sender_id == sender_id).order_by(ev.c.id))
            return [event_data(r[0]) for r in rows]

    def transcript(self, sender_id: str) -> Transcript:
        events = self.raw_events(sender_id)
        tickets = self.tickets.list(statuses=STATUSES, conversation_id=sender_id)
        items: List[TranscriptItem] = []
        in_handoff = False
        channel = "unknown"
        last_user: Optional[TranscriptItem] = None
        for e in events:
            kind, at = e.get("event"), float(e.get("timestamp") or 0.0)
            if kind == "user":
                info = analyse_user_event(e, self.low_confidence)
                channel = info.channel or channel
                last_user = TranscriptItem("user", at, text=info.text, info=info, during_handoff=in_handoff)
                items.append(last_user)
            elif kind == "bot":
                meta = e.get("metadata") or {}
                buttons = [str(b.get("title", "")) for b in ((e.get("data") or {}).get("buttons") or []) if isinstance(b, dict)]
                if meta.get("staff_reply"):
                    items.append(TranscriptItem("staff", at, text=e.get("text") or "", actor=str(meta.get("staff") or "")))
                else:
                    actor = str(meta.get("handoff_resumed_by") or "")
                    items.append(
                        TranscriptItem("bot", at, text=e.get("text") or "", actor=actor, buttons=buttons, name=str(meta.get("utter_action") or ""))
                    )
            elif kind == "action":
                name = e.get("name") or ""
                if name == CORE_FALLBACK_ACTION and last_user is not None:
                    last_user.core_fallback = True
                if name != "action_listen":
                    items.append(TranscriptItem("action", at, name=name, policy=e.get("policy") or "", confidence=e.get("confidence")))
            elif kind == "slot":
                name = e.get("name") or ""
                if name == HANDOFF_SLOT:
                    value = bool(e.get("value"))
                    if value != in_handoff:
                        items.append(TranscriptItem("handoff", at, name=name, value=value))
                    in_handoff = value
                elif name not in HIDDEN_SLOTS:
                    items.append(TranscriptItem("slot", at, name=name, value=e.get("value")))
            elif kind == "session_started":
                items.append(TranscriptItem("session", at))
            elif kind == "restart":
                in_handoff = False
                items.append(TranscriptItem("other", at, name="restart"))
            elif kind not in ("user_featurization",):
                items.append(TranscriptItem("other", at, name=str(kind)))
        for ticket in tickets:
            items.append(TranscriptItem("ticket", _ticket_ts(ticket), ticket=ticket))
        failures = self.deliveries.failures(sender_id) if self.deliveries is not None else []
        items.extend(attach_failures(items, failures))
        items.sort(key=lambda i: i.at)  # stable: events keep Rasa's order within a timestamp
        return Transcript(
            sender_id, self.ref(sender_id), items, tickets, in_handoff, channel, failures, {t.id: failures_since_ticket(t, failures) for t in tickets}
        )

    def in_handoff(self, sender_id: str) -> bool:
        return self.transcript(sender_id).in_handoff
