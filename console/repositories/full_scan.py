"""The conversation list computed straight from Rasa's events table, as the console did
before the summary tables: every page aggregated the whole table (524 ms at 675
conversations, minutes at 100,000).

No page uses it any more. It stays as the reference the summaries must agree with
(tests/console/test_summaries.py) and the old path the benchmark measures
(bench/console_scale.py); the unanswered rules themselves live once, in
console/repositories/unanswered.py.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Dict, List, Optional, Set, Tuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from clinic_bot.tickets import STATUSES
from console.repositories.events import event_data, has_events_table, in_time_range
from console.repositories.events import events_table as ev
from console.repositories.filters import Filters
from console.repositories.messages import HANDOFF_SLOT
from console.repositories.summary_reads import like_escape
from console.repositories.unanswered import scan_unanswered

if TYPE_CHECKING:
    from console.repositories.conversations import ConversationRepository, Summary

CHUNK = 500


def summaries(repo: "ConversationRepository", start: Optional[float] = None, end: Optional[float] = None) -> Dict[str, "Summary"]:
    """Every conversation with at least one user message active in [start, end)."""
    from console.repositories.conversations import Summary

    if not has_events_table(repo.engine):
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
    with repo.engine.connect() as conn:
        for sender, first, last, users, last_user_id in conn.execute(q):
            out[sender] = Summary(sender, repo.ref(sender), first or 0.0, last or 0.0, int(users or 0))
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
    for ticket in repo.tickets.list(statuses=STATUSES):
        summary = out.get(ticket.conversation_id)
        if summary is not None:
            summary.escalated = True
            summary.open_tickets += ticket.status != "closed"
    return out


def search(repo: "ConversationRepository", text: str, start: Optional[float] = None, end: Optional[float] = None) -> Set[str]:
    """Senders whose user or bot messages contain `text` (case-insensitive)."""
    needle = text.casefold()
    if not needle or not has_events_table(repo.engine):
        return set()
    q = sa.select(ev.c.sender_id, ev.c.data).where(ev.c.type_name.in_(("user", "bot")))
    if text.isascii():
        # Rasa stores json.dumps(event) (ASCII-escaped): match the escaped form first.
        q = q.where(ev.c.data.ilike(f"%{like_escape(json.dumps(text)[1:-1])}%", escape="\\"))
    q = in_time_range(q, start, end)
    found: Set[str] = set()
    with repo.engine.connect() as conn:
        for sender, raw in conn.execute(q):
            if sender not in found and needle in (event_data(raw).get("text") or "").casefold():
                found.add(sender)
    return found


def unanswered_counts(repo: "ConversationRepository", start: Optional[float] = None, end: Optional[float] = None) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    if has_events_table(repo.engine):
        for item in scan_unanswered(repo.engine, repo.low_confidence, start, end):
            counts[item.sender_id] = counts.get(item.sender_id, 0) + 1
    return counts


def filtered(repo: "ConversationRepository", filters: Filters, tz: ZoneInfo) -> Tuple[List["Summary"], List[str]]:
    """All matching conversations, most recent first, and the channels seen."""
    start, end = filters.time_range(tz)
    found = summaries(repo, start, end)
    channels = sorted({s.channel for s in found.values()})
    items = list(found.values())
    if filters.channel:
        items = [s for s in items if s.channel == filters.channel]
    if filters.escalated:
        items = [s for s in items if s.escalated == (filters.escalated == "yes")]
    if filters.unanswered:
        counts = unanswered_counts(repo, start, end)
        for s in items:
            s.unanswered = counts.get(s.sender_id, 0)
        items = [s for s in items if (s.unanswered > 0) == (filters.unanswered == "yes")]
    if filters.q:
        hits = search(repo, filters.q, start, end)
        needle = filters.q.casefold()
        items = [s for s in items if s.sender_id in hits or needle in s.sender_id.casefold()]
    items.sort(key=lambda s: (-s.last_at, s.sender_id))
    return items, channels
