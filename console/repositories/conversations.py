"""Conversations, read from Rasa's tracker store plus the handoff tickets.

Listing works on per-sender aggregates in SQL; the few things only the JSON
`data` column knows (channel, text, confidences) are decoded in Python for the
rows that need them. Nothing is copied out of Rasa's table.
"""

from __future__ import annotations

import json
import math
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.deliveries import DeliveryFailure, DeliveryLog
from clinic_bot.tickets import STATUSES, Ticket, TicketStore
from console.refs import REF_RE, conversation_ref
from console.repositories.events import event_data, has_events_table, in_time_range
from console.repositories.events import events_table as ev
from console.repositories.filters import Filters
from console.repositories.messages import (
    CORE_FALLBACK_ACTION,
    HANDOFF_SLOT,
    UserMessageInfo,
    analyse_user_event,
)
from console.repositories.unanswered import UnansweredItem, scan_unanswered

# Slots set at every session start from the clinic profile: noise in a transcript.
HIDDEN_SLOTS = frozenset({"emergency_number", "emergency_department", "urgent_advice", "crisis_line"})
CHUNK = 500
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


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


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
        self, tracker_engine: Engine, tickets: TicketStore, secret_key: str, *, low_confidence: float = 0.6, deliveries: Optional[DeliveryLog] = None
    ) -> None:
        self.engine = tracker_engine
        self.tickets = tickets
        self.deliveries = deliveries
        self.secret_key = secret_key
        self.low_confidence = low_confidence
        self._refs: Dict[str, str] = {}
        self._lock = threading.Lock()

    # -- references ---------------------------------------------------------
    def ref(self, sender_id: str) -> str:
        ref = conversation_ref(self.secret_key, sender_id)
        with self._lock:
            self._refs[ref] = sender_id
        return ref

    def sender_ids(self) -> Set[str]:
        ids: Set[str] = set()
        if self._ready():
            with self.engine.connect() as conn:
                ids.update(r[0] for r in conn.execute(sa.select(ev.c.sender_id).distinct()))
        ids.update(t.conversation_id for t in self.tickets.list(statuses=STATUSES))
        return ids

    def resolve(self, ref: str) -> Optional[str]:
        """The sender id behind a URL reference, or None (unknown or erased)."""
        if not REF_RE.match(ref or ""):
            return None
        with self._lock:
            sender = self._refs.get(ref)
        if sender is None:
            for sid in self.sender_ids():
                self.ref(sid)
            with self._lock:
                sender = self._refs.get(ref)
        if sender is not None and not self.exists(sender):
            with self._lock:
                self._refs.pop(ref, None)
            return None
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

    # -- listing ------------------------------------------------------------
    def summaries(self, start: Optional[float] = None, end: Optional[float] = None) -> Dict[str, Summary]:
        """Every conversation with at least one user message active in [start, end)."""
        if not self._ready():
            return {}
        is_user = sa.case((ev.c.type_name == "user", 1), else_=0)
        q = (
            sa.select(
                ev.c.sender_id,
                sa.func.min(ev.c.timestamp),
                sa.func.max(ev.c.timestamp),
                sa.func.sum(is_user),
                sa.func.max(sa.case((ev.c.type_name == "user", ev.c.id), else_=None)),
            )
            .group_by(ev.c.sender_id)
            .having(sa.func.sum(is_user) > 0)
        )
        if start is not None:
            q = q.having(sa.func.max(ev.c.timestamp) >= start)
        if end is not None:
            q = q.having(sa.func.min(ev.c.timestamp) < end)
        out: Dict[str, Summary] = {}
        last_user_ids: Dict[int, str] = {}
        with self.engine.connect() as conn:
            for sender, first, last, users, last_user_id in conn.execute(q):
                out[sender] = Summary(sender, self.ref(sender), first or 0.0, last or 0.0, int(users or 0))
                if last_user_id is not None:
                    last_user_ids[last_user_id] = sender
            ids = list(last_user_ids)
            for i in range(0, len(ids), CHUNK):
                rows = conn.execute(sa.select(ev.c.id, ev.c.data).where(ev.c.id.in_(ids[i : i + CHUNK])))
                for event_id, raw in rows:
                    out[last_user_ids[event_id]].channel = event_data(raw).get("input_channel") or "unknown"
            handoff_rows = conn.execute(
                sa.select(ev.c.sender_id, ev.c.type_name, ev.c.data)
                .where(sa.or_(sa.and_(ev.c.type_name == "slot", ev.c.action_name == HANDOFF_SLOT), ev.c.type_name == "restart"))
                .order_by(ev.c.id)
            )
            for sender, type_name, raw in handoff_rows:
                summary = out.get(sender)
                if summary is None:
                    continue
                value = bool(event_data(raw).get("value")) if type_name == "slot" else False
                summary.in_handoff = value
                summary.escalated = summary.escalated or value
        for ticket in self.tickets.list(statuses=STATUSES):
            summary = out.get(ticket.conversation_id)
            if summary is not None:
                summary.escalated = True
                summary.open_tickets += ticket.status != "closed"
        return out

    def search(self, text: str, start: Optional[float] = None, end: Optional[float] = None) -> Set[str]:
        """Senders whose user or bot messages contain `text` (case-insensitive)."""
        needle = text.casefold()
        if not needle or not self._ready():
            return set()
        q = sa.select(ev.c.sender_id, ev.c.data).where(ev.c.type_name.in_(("user", "bot")))
        if text.isascii():
            # Rasa stores json.dumps(event) (ASCII-escaped): match the escaped form first.
            q = q.where(ev.c.data.ilike(f"%{like_escape(json.dumps(text)[1:-1])}%", escape="\\"))
        q = in_time_range(q, start, end)
        found: Set[str] = set()
        with self.engine.connect() as conn:
            for sender, raw in conn.execute(q):
                if sender not in found and needle in (event_data(raw).get("text") or "").casefold():
                    found.add(sender)
        return found

    def unanswered(self, start: Optional[float] = None, end: Optional[float] = None, senders: Optional[Iterable[str]] = None) -> List[UnansweredItem]:
        """Messages the bot did not answer (console/repositories/unanswered.py)."""
        if not self._ready():
            return []
        return scan_unanswered(self.engine, self.low_confidence, start, end, senders=senders)

    def unanswered_counts(
        self, start: Optional[float] = None, end: Optional[float] = None, senders: Optional[Iterable[str]] = None
    ) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for item in self.unanswered(start, end, senders=senders):
            counts[item.sender_id] = counts.get(item.sender_id, 0) + 1
        return counts

    def filtered(self, filters: Filters, tz: ZoneInfo) -> Tuple[List[Summary], List[str]]:
        """All matching conversations, most recent first, and the channels seen."""
        start, end = filters.time_range(tz)
        found = self.summaries(start, end)
        channels = sorted({s.channel for s in found.values()})
        items = list(found.values())
        if filters.channel:
            items = [s for s in items if s.channel == filters.channel]
        if filters.escalated:
            items = [s for s in items if s.escalated == (filters.escalated == "yes")]
        if filters.unanswered:
            counts = self.unanswered_counts(start, end)
            for s in items:
                s.unanswered = counts.get(s.sender_id, 0)
            items = [s for s in items if (s.unanswered > 0) == (filters.unanswered == "yes")]
        if filters.q:
            hits = self.search(filters.q, start, end)
            needle = filters.q.casefold()
            items = [s for s in items if s.sender_id in hits or needle in s.sender_id.casefold()]
        items.sort(key=lambda s: (-s.last_at, s.sender_id))
        return items, channels

    def page(self, filters: Filters, tz: ZoneInfo, page_size: int = 25) -> Page:
        items, channels = self.filtered(filters, tz)
        pages = max(1, math.ceil(len(items) / page_size))
        page = min(filters.page, pages)
        shown = items[(page - 1) * page_size : page * page_size]
        if not filters.unanswered and shown:  # counts for the visible rows only
            counts = self.unanswered_counts(*filters.time_range(tz), senders=[s.sender_id for s in shown])
            for s in shown:
                s.unanswered = counts.get(s.sender_id, 0)
        return Page(shown, len(items), page, pages, channels)

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
