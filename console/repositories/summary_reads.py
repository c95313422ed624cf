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
import math
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Dict, Iterable, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from clinic_bot.tickets import tickets_table
from console.repositories.messages import UserMessageInfo
from console.repositories.summary_tables import conversations_table as conv
from console.repositories.summary_tables import messages_table as msg
from console.repositories.summary_tables import unanswered_table as una
from console.repositories.unanswered import UnansweredGroup, UnansweredItem, group_unanswered

CHUNK = 500
SEARCH_COUNT_CAP = 1000  # a search counts its matches up to here ("1000+"): an exact count of a common word reads every match
COMMON_MESSAGES = 5000  # a search text in more messages than this is "common" (ListQuery.common)


@dataclass
class ListQuery:
    """What selects the listed conversations (a page's filters, resolved)."""

    start: Optional[float] = None
    end: Optional[float] = None
    channel: str = ""
    escalated: str = ""  # "" any | "yes" | "no"
    unanswered: str = ""  # "" any | "yes" | "no"
    q: str = ""
    common: bool = False  # the search text is in many messages (SummaryReader.is_common): walk the list, do not build the set


@dataclass
class ReportPage:
    """One page of the unanswered report."""

    items: int  # unanswered messages in the range
    distinct: int  # their groups (normalised wordings)
    groups: List[UnansweredGroup]
    page: int
    pages: int


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
            if lq.start is None and lq.end is None:  # the indexer's per-conversation count: no subquery per row
                has = c.unanswered > 0
            else:
                has = sa.exists().where(una.c.sender_id == c.sender_id, *_in_range(una.c.at, lq.start, lq.end))
            where.append(has if lq.unanswered == "yes" else sa.not_(has))
        if lq.q:
            pattern = f"%{like_escape(lq.q.casefold())}%"
            said_where = [msg.c.folded.like(pattern, escape="\\"), *_in_range(msg.c.at, lq.start, lq.end)]
            named = sa.func.lower(c.sender_id).like(pattern, escape="\\")
            if lq.common:
                # A scalar subquery is never turned into a hashed set: each conversation, in list order,
                # probes its own messages (Rasa's sender index) and the page stops after what it needs.
                said = sa.select(sa.literal(1)).where(msg.c.sender_id == c.sender_id, *said_where).limit(1).scalar_subquery()
                where.append(sa.or_(said.isnot(None), named))
            else:  # the matching senders as one set, from the trigram index: cheap while they are few
                where.append(sa.or_(c.sender_id.in_(sa.select(msg.c.sender_id).where(*said_where)), named))
        return where

    def is_common(self, lq: ListQuery) -> bool:
        """Is the search text in more than COMMON_MESSAGES messages (counted no further)? Then
        building the set of matching senders (every match read back from the table) costs more
        than probing conversations in list order until the page and the capped count are full."""
        if not lq.q:
            return False
        pattern = f"%{like_escape(lq.q.casefold())}%"
        hits = sa.select(sa.literal(1)).where(msg.c.folded.like(pattern, escape="\\"), *_in_range(msg.c.at, lq.start, lq.end))
        with self.engine.connect() as conn:
            return (
                int(conn.execute(sa.select(sa.func.count()).select_from(hits.limit(COMMON_MESSAGES + 1).subquery())).scalar_one()) > COMMON_MESSAGES
            )

    def rows(self, lq: ListQuery, limit: Optional[int] = None, offset: int = 0) -> List[Any]:
        """The matching conversations, most recent first, with their ticket counts."""
        if limit is not None and not lq.escalated:
            return self._page_rows(lq, limit, offset)
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

    def _page_rows(self, lq: ListQuery, limit: int, offset: int) -> List[Any]:
        """A page, then its tickets: joined to the grouped tickets (which PostgreSQL guesses at 200
        rows) a LIMIT/OFFSET plan compared every ticket with every row it skipped (400 ms on page 50)."""
        q = sa.select(conv).where(*self._where(lq, None)).order_by(conv.c.last_at.desc(), conv.c.sender_id).limit(limit).offset(offset)
        tk = tickets_table.c
        with self.engine.connect() as conn:
            rows = list(conn.execute(q))
            ids = [r.sender_id for r in rows]
            counts = {
                s: (int(n), int(o or 0))
                for s, n, o in conn.execute(
                    sa.select(tk.conversation_id, sa.func.count(), sa.func.sum(sa.case((tk.status != "closed", 1), else_=0)))
                    .where(tk.conversation_id.in_(ids))
                    .group_by(tk.conversation_id)
                )
            }
        return [
            SimpleNamespace(**r._mapping, tickets=counts.get(r.sender_id, (0, 0))[0], open_tickets=counts.get(r.sender_id, (0, 0))[1]) for r in rows
        ]

    def count(self, lq: ListQuery, cap: Optional[int] = None) -> int:
        """How many conversations match; with `cap`, at most cap + 1 (so "more than cap" shows)."""
        t = _tickets()
        q = sa.select(sa.literal(1)) if cap is not None else sa.select(sa.func.count())
        q = q.select_from(conv)
        if lq.escalated:  # the ticket join only when the filter needs it
            q = q.select_from(conv.outerjoin(t, t.c.conversation_id == conv.c.sender_id))
        q = q.where(*self._where(lq, t))
        if cap is not None:
            q = sa.select(sa.func.count()).select_from(q.limit(cap + 1).subquery())
        with self.engine.connect() as conn:
            return int(conn.execute(q).scalar_one())

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

    def unanswered(
        self, start: Optional[float], end: Optional[float], senders: Optional[Iterable[str]] = None, group_keys: Optional[Iterable[str]] = None
    ) -> List[UnansweredItem]:
        """The report's items in the range (of these senders, or these groups), oldest first
        (each conversation's in event order)."""
        base = sa.select(una.c.sender_id, una.c.at, una.c.kind, una.c.info).where(*_in_range(una.c.at, start, end))
        column, only = (una.c.sender_id, senders) if group_keys is None else (una.c.group_key, group_keys)
        ids = list(only) if only is not None else None
        queries = [base] if ids is None else [base.where(column.in_(ids[i : i + CHUNK])) for i in range(0, len(ids), CHUNK)]
        items: List[UnansweredItem] = []
        with self.engine.connect() as conn:
            for q in queries:
                for sender, at, kind, raw in conn.execute(q.order_by(una.c.at, una.c.id)):
                    info = _info(raw)
                    items.append(UnansweredItem(sender, float(at), info.text, kind, info))
        items.sort(key=lambda i: i.at)
        return items

    def report_page(self, start: Optional[float], end: Optional[float], page: int, per_page: int) -> ReportPage:
        """The unanswered report's groups on `page`, most frequent first: counted and ordered in
        SQL on the stored grouping key, then only the page's groups are read and summarised (by
        group_unanswered, which orders them the same way: count, latest, text)."""
        in_range = _in_range(una.c.at, start, end)
        worded = una.c.normalised != ""  # a message with no words is counted, never grouped
        with self.engine.connect() as conn:
            items, distinct = conn.execute(
                sa.select(sa.func.count(), sa.func.count(sa.distinct(sa.case((worded, una.c.group_key), else_=None)))).where(*in_range)
            ).one()
            pages = max(1, math.ceil(int(distinct) / per_page))
            page = min(max(1, page), pages)
            key: Any = sa.func.min(una.c.normalised)
            if conn.dialect.name == "postgresql":
                key = sa.collate(key, "C")  # code-point order, as Python compares str (SQLite's default)
            top = (
                sa.select(una.c.group_key)
                .where(*in_range, worded)
                .group_by(una.c.group_key)
                .order_by(sa.func.count().desc(), sa.func.max(una.c.at).desc(), key)
                .limit(per_page)
                .offset((page - 1) * per_page)
            )
            keys = list(conn.execute(top).scalars())
        groups = group_unanswered(self.unanswered(start, end, group_keys=keys)) if keys else []
        return ReportPage(int(items), int(distinct), groups, page, pages)

    def sender_for_ref(self, ref: str) -> Optional[str]:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(conv.c.sender_id).where(conv.c.ref == ref).limit(1)).scalar()


def _info(raw: str) -> UserMessageInfo:
    data = json.loads(raw)
    data["entities"] = [tuple(e) for e in data.get("entities") or []]
    return UserMessageInfo(**data)
