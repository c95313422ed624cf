"""The conversation list's queries, on the summary tables (console/repositories/summary_tables.py).

Each page is a handful of indexed queries whatever the number of conversations:
the list in the order shown (most recent first) with LIMIT/OFFSET, a count, the
channels for the filter's menu. Handoff tickets live in the same database and
are joined here, so "escalated" and the open-ticket count are always current.
The rules mirror what ConversationRepository computed from the events before:
a conversation is listed if it has a user message and was active in the range
(its last event at or after the start, its first before the end); search text
is matched, case-folded, against user and bot message text in the range and
against the sender id; unanswered counts are of messages in the range.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine, Row

from clinic_bot.tickets import tickets_table
from console.repositories.messages import UserMessageInfo
from console.repositories.summary_tables import conversations_table as conv
from console.repositories.summary_tables import messages_table as msg
from console.repositories.summary_tables import unanswered_table as una
from console.repositories.unanswered import UnansweredItem

CHUNK = 500


@dataclass
class ListQuery:
    """What selects the listed conversations (a page's filters, resolved)."""

    start: Optional[float] = None
    end: Optional[float] = None
    channel: str = ""
    escalated: str = ""  # "" any | "yes" | "no"
    unanswered: str = ""  # "" any | "yes" | "no"
    q: str = ""


def like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _in_range(column: Any, start: Optional[float], end: Optional[float]) -> List[Any]:
    return [c for c in (column >= start if start is not None else None, column < end if end is not None else None) if c is not None]


def _tickets() -> Any:
    t = tickets_table.c
    return (
        sa.select(
            t.conversation_id.label("conversation_id"),
            sa.func.count().label("tickets"),
            sa.func.sum(sa.case((t.status != "closed", 1), else_=0)).label("open_tickets"),
        )
        .group_by(t.conversation_id)
        .subquery("t")
    )


class SummaryReader:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _where(self, lq: ListQuery, tickets: Any) -> List[Any]:
        c = conv.c
        where: List[Any] = [c.user_messages > 0]
        if lq.start is not None:
            where.append(c.last_at >= lq.start)
        if lq.end is not None:
            where.append(c.first_at < lq.end)
        if lq.channel:
            where.append(c.channel == lq.channel)
        if lq.escalated:
            escalated = sa.or_(c.escalated, tickets.c.tickets.isnot(None))
            where.append(escalated if lq.escalated == "yes" else sa.not_(escalated))
        if lq.unanswered:
            has = sa.exists().where(una.c.sender_id == c.sender_id, *_in_range(una.c.at, lq.start, lq.end))
            where.append(has if lq.unanswered == "yes" else sa.not_(has))
        if lq.q:
            pattern = f"%{like_escape(lq.q.casefold())}%"
            said = sa.select(msg.c.sender_id).where(msg.c.folded.like(pattern, escape="\\"), *_in_range(msg.c.at, lq.start, lq.end))
            where.append(sa.or_(c.sender_id.in_(said), sa.func.lower(c.sender_id).like(pattern, escape="\\")))
        return where

    def rows(self, lq: ListQuery, limit: Optional[int] = None, offset: int = 0) -> List[Row]:
        """The matching conversations, most recent first, with their ticket counts."""
        t = _tickets()
        q = (
            sa.select(conv, sa.func.coalesce(t.c.tickets, 0).label("tickets"), sa.func.coalesce(t.c.open_tickets, 0).label("open_tickets"))
            .select_from(conv.outerjoin(t, t.c.conversation_id == conv.c.sender_id))
            .where(*self._where(lq, t))
            .order_by(conv.c.last_at.desc(), conv.c.sender_id)
        )
        if limit is not None:
            q = q.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return list(conn.execute(q))

    def count(self, lq: ListQuery) -> int:
        t = _tickets()
        q = sa.select(sa.func.count()).select_from(conv)
        if lq.escalated:  # the ticket join only when the filter needs it
            q = q.select_from(conv.outerjoin(t, t.c.conversation_id == conv.c.sender_id))
        with self.engine.connect() as conn:
            return int(conn.execute(q.where(*self._where(lq, t))).scalar_one())

    def channels(self, start: Optional[float], end: Optional[float]) -> List[str]:
        """The channels of every conversation in the range (the filter menu ignores the other filters)."""
        where = self._where(ListQuery(start=start, end=end), None)
        with self.engine.connect() as conn:
            return sorted(r[0] for r in conn.execute(sa.select(conv.c.channel).where(*where).distinct()))

    def unanswered_counts(self, senders: Iterable[str], start: Optional[float], end: Optional[float]) -> Dict[str, int]:
        out: Dict[str, int] = {}
        ids = list(senders)
        with self.engine.connect() as conn:
            for i in range(0, len(ids), CHUNK):
                q = sa.select(una.c.sender_id, sa.func.count()).where(una.c.sender_id.in_(ids[i : i + CHUNK]), *_in_range(una.c.at, start, end))
                out.update({s: int(n) for s, n in conn.execute(q.group_by(una.c.sender_id))})
        return out

    def unanswered(self, start: Optional[float], end: Optional[float], senders: Optional[Iterable[str]] = None) -> List[UnansweredItem]:
        """The report's items in the range, oldest first (each conversation's in event order)."""
        base = sa.select(una.c.sender_id, una.c.at, una.c.kind, una.c.info).where(*_in_range(una.c.at, start, end))
        ids = list(senders) if senders is not None else None
        queries = [base] if ids is None else [base.where(una.c.sender_id.in_(ids[i : i + CHUNK])) for i in range(0, len(ids), CHUNK)]
        items: List[UnansweredItem] = []
        with self.engine.connect() as conn:
            for q in queries:
                for sender, at, kind, raw in conn.execute(q.order_by(una.c.at, una.c.id)):
                    info = _info(raw)
                    items.append(UnansweredItem(sender, float(at), info.text, kind, info))
        items.sort(key=lambda i: i.at)
        return items

    def sender_for_ref(self, ref: str) -> Optional[str]:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(conv.c.sender_id).where(conv.c.ref == ref).limit(1)).scalar()


def _info(raw: str) -> UserMessageInfo:
    data = json.loads(raw)
    data["entities"] = [tuple(e) for e in data.get("entities") or []]
    return UserMessageInfo(**data)
