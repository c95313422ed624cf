"""The summary indexer: keeps the `summary_*` tables in step with Rasa's events table.

It tails the events table by id and recomputes, from all of their events, the
rows of every conversation that gained an event: recomputing a whole
conversation (never adding to counts) makes a pass idempotent, so running it
twice, or from two console processes, changes nothing.

PostgreSQL hands out ids when a transaction inserts, not when it commits, so an
event with a lower id can become visible after a higher one was processed. Each
pass therefore re-reads the last OVERLAP_IDS ids below the cursor; a conversation
seen there is recomputed only if its event count or last id differs from its
summary row. The "anything new?" check compares the count and id sum of that
window with what the last pass saw, so a late commit (or an erasure) inside the
window is noticed, and a check with nothing new costs two indexed queries.

Writers are serialised by locking the `summary_state` row for the whole pass (an
UPDATE: a row lock on PostgreSQL, the write lock on SQLite); a second process
waits, then finds nothing left to do. Erasure takes the same lock, so a pass that
read a conversation before it was erased cannot write its rows back afterwards.
Events are read from the tracker's engine and summaries written to the project's:
the two may be different databases.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from console.refs import conversation_ref
from console.repositories.events import event_data, has_events_table
from console.repositories.events import events_table as ev
from console.repositories.messages import HANDOFF_SLOT
from console.repositories.summary_tables import DATA_TABLES, conversations_table, create_summary_tables, messages_table, state_table, unanswered_table
from console.repositories.unanswered import EventRow, group_key, normalise, unanswered_in

logger = logging.getLogger(__name__)

OVERLAP_IDS = 2000  # far more ids than Rasa ever has inserted but uncommitted at once
BATCH_EVENTS = 5000  # events read per step of a pass: bounds how long the lock is held
SENDER_CHUNK = 500
INDEX_EVERY_S = 5.0  # the console's background pass; pages also catch up before reading
STATE_NAME = "events"
Signature = str  # "count:sum of ids" of the overlap window


@dataclasses.dataclass
class ConversationRows:
    conversation: Dict[str, Any]
    messages: List[Dict[str, Any]]
    unanswered: List[Dict[str, Any]]


def summarise(
    sender_id: str, ref: str, rows: Sequence[Tuple[int, str, Optional[str], Optional[float], Optional[str]]], low_confidence: float
) -> ConversationRows:
    """One conversation's summary rows from all of its events (id, type_name, action_name,
    timestamp, data JSON), in id order. Only messages and handoff slots are decoded."""
    first: Optional[float] = None
    last: Optional[float] = None
    users, channel, escalated, in_handoff = 0, "unknown", False, False
    messages: List[Dict[str, Any]] = []
    decoded: List[EventRow] = []
    for event_id, type_name, action, ts, raw in rows:
        if ts is not None:
            first = ts if first is None else min(first, ts)
            last = ts if last is None else max(last, ts)
        data: Dict[str, Any] = {}
        if type_name in ("user", "bot"):
            data = event_data(raw)
            text = data.get("text") or ""
            if text:
                messages.append({"event_id": event_id, "sender_id": sender_id, "at": float(ts or 0.0), "folded": text.casefold()})
            if type_name == "user":
                users += 1
                channel = data.get("input_channel") or "unknown"
        elif type_name == "slot" and action == HANDOFF_SLOT:
            in_handoff = bool(event_data(raw).get("value"))
            escalated = escalated or in_handoff
        elif type_name == "restart":
            in_handoff = False
        decoded.append((sender_id, type_name, action, ts, data))
    unanswered = []
    for item in unanswered_in(decoded, low_confidence):
        key = normalise(item.text)
        info = json.dumps(dataclasses.asdict(item.info))
        unanswered.append({"sender_id": sender_id, "at": item.at, "kind": item.kind, "info": info, "normalised": key, "group_key": group_key(key)})
    conversation = {
        "sender_id": sender_id,
        "ref": ref,
        "first_at": first or 0.0,
        "last_at": last or 0.0,
        "user_messages": users,
        "channel": channel[:64],
        "escalated": escalated,
        "in_handoff": in_handoff,
        "event_count": len(rows),
        "last_event_id": rows[-1][0] if rows else 0,
        "unanswered": len(unanswered),
    }
    return ConversationRows(conversation, messages, unanswered)


def _signature(ids: Iterable[int]) -> Signature:
    ids = list(ids)
    return f"{len(ids)}:{sum(ids)}"


class SummaryIndex:
    def __init__(self, tracker: Engine, project: Engine, secret_key: str, low_confidence: float = 0.6) -> None:
        self.tracker = tracker
        self.project = project
        self.secret_key = secret_key
        self.low_confidence = low_confidence
        # The rows depend on these settings (refs are keyed, unanswered depends on the
        # threshold): rows computed with others are rebuilt.
        self.fingerprint = f"{conversation_ref(secret_key, 'summary-settings')}:{low_confidence!r}"
        self._has_events = False

    def ready(self) -> bool:
        """Tables in place; False until Rasa has created its events table."""
        create_summary_tables(self.project)
        if not self._has_events:
            self._has_events = has_events_table(self.tracker)
        return self._has_events

    # -- the cheap check -------------------------------------------------------
    def _state(self, conn: Connection) -> Optional[sa.engine.Row]:
        return conn.execute(sa.select(state_table).where(state_table.c.name == STATE_NAME)).first()

    def _window(self, conn: Connection, cursor: int) -> Signature:
        count, total = conn.execute(
            sa.select(sa.func.count(ev.c.id), sa.func.coalesce(sa.func.sum(ev.c.id), 0)).where(ev.c.id > cursor - OVERLAP_IDS)
        ).one()
        return f"{int(count)}:{int(total)}"

    def pending(self) -> bool:
        """Is there anything the summaries do not reflect yet? Two indexed queries."""
        if not self.ready():
            return False
        with self.project.connect() as conn:
            state = self._state(conn)
        if state is None or state.fingerprint != self.fingerprint:
            return True
        with self.tracker.connect() as conn:
            return self._window(conn, state.cursor) != state.window_sig

    # -- passes ------------------------------------------------------------------
    def catch_up(self, max_steps: Optional[int] = None, batch: int = BATCH_EVENTS) -> int:
        """Process new events (all of them, or `max_steps` batches); returns how many
        conversations were recomputed."""
        done = 0
        steps = 0
        while self.pending():
            recomputed, finished = self._step(batch)
            done += recomputed
            steps += 1
            if finished or (max_steps is not None and steps >= max_steps):
                break
        return done

    def rebuild(self, batch: int = 20000) -> int:
        """Drop every summary row and recompute them all (the CLI's `summaries --rebuild`)."""
        if not self.ready():
            return 0
        with self.project.begin() as conn:
            self._lock(conn)
            self._reset(conn)
        return self.catch_up(batch=batch)

    def _lock(self, conn: Connection) -> sa.engine.Row:
        """Take the writers' lock (the state row, created if missing) and return the state."""
        now = time.time()
        if conn.execute(state_table.update().where(state_table.c.name == STATE_NAME).values(updated_at=now)).rowcount == 0:
            insert = _insert(conn, state_table).values(name=STATE_NAME, cursor=0, window_sig="", fingerprint="", updated_at=now)
            conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
            conn.execute(state_table.update().where(state_table.c.name == STATE_NAME).values(updated_at=now))
        state = self._state(conn)
        assert state is not None
        return state

    def _reset(self, conn: Connection) -> None:
        for table in DATA_TABLES:
            conn.execute(table.delete())
        conn.execute(state_table.update().where(state_table.c.name == STATE_NAME).values(cursor=0, window_sig="", fingerprint=self.fingerprint))

    def _step(self, batch: int) -> Tuple[int, bool]:
        with self.project.begin() as pconn:
            state = self._lock(pconn)
            if state.fingerprint != self.fingerprint:
                if state.fingerprint:
                    logger.warning("summary tables were built with other settings (secret key or CONSOLE_LOW_CONFIDENCE): rebuilding them")
                self._reset(pconn)
                state = self._state(pconn)
                assert state is not None
            with self.tracker.connect() as tconn:
                pick = sa.select(ev.c.id, ev.c.sender_id)
                overlap = tconn.execute(pick.where(ev.c.id > state.cursor - OVERLAP_IDS, ev.c.id <= state.cursor)).all()
                rows = tconn.execute(pick.where(ev.c.id > state.cursor).order_by(ev.c.id).limit(batch)).all()
                fresh = {sender for _, sender in rows}
                touched = fresh | self._changed(tconn, pconn, {sender for _, sender in overlap} - fresh)
                self._recompute(tconn, pconn, touched)
            cursor = max([state.cursor] + [event_id for event_id, _ in rows])
            finished = len(rows) < batch
            window = _signature(event_id for event_id, _ in overlap + rows if event_id > cursor - OVERLAP_IDS) if finished else ""
            pconn.execute(
                state_table.update().where(state_table.c.name == STATE_NAME).values(cursor=cursor, window_sig=window, updated_at=time.time())
            )
        return len(touched), finished

    def _changed(self, tconn: Connection, pconn: Connection, senders: Set[str]) -> Set[str]:
        """Those of `senders` whose events differ from what their summary row was computed from."""
        changed: Set[str] = set()
        ids = sorted(senders)
        for i in range(0, len(ids), SENDER_CHUNK):
            chunk = ids[i : i + SENDER_CHUNK]
            now = {
                s: (int(n), int(m))
                for s, n, m in tconn.execute(
                    sa.select(ev.c.sender_id, sa.func.count(ev.c.id), sa.func.max(ev.c.id)).where(ev.c.sender_id.in_(chunk)).group_by(ev.c.sender_id)
                )
            }
            c = conversations_table.c
            then = {s: (n, m) for s, n, m in pconn.execute(sa.select(c.sender_id, c.event_count, c.last_event_id).where(c.sender_id.in_(chunk)))}
            changed.update(s for s in set(now) | set(then) if now.get(s) != then.get(s))
        return changed

    def _recompute(self, tconn: Connection, pconn: Connection, senders: Iterable[str]) -> None:
        ids = sorted(senders)
        for i in range(0, len(ids), SENDER_CHUNK):
            chunk = ids[i : i + SENDER_CHUNK]
            events: Dict[str, List[Any]] = {s: [] for s in chunk}
            q = sa.select(ev.c.sender_id, ev.c.id, ev.c.type_name, ev.c.action_name, ev.c.timestamp, ev.c.data).where(ev.c.sender_id.in_(chunk))
            for sender, *row in tconn.execute(q.order_by(ev.c.id)):
                events[sender].append(tuple(row))
            for table in DATA_TABLES:
                pconn.execute(table.delete().where(table.c.sender_id.in_(chunk)))
            computed = [summarise(s, conversation_ref(self.secret_key, s), rows, self.low_confidence) for s, rows in events.items() if rows]
            for table, values in (
                (conversations_table, [c.conversation for c in computed]),
                (messages_table, [m for c in computed for m in c.messages]),
                (unanswered_table, [u for c in computed for u in c.unanswered]),
            ):
                if values:
                    pconn.execute(table.insert(), values)

    # -- for erasure and retention --------------------------------------------------
    def recompute(self, senders: Iterable[str]) -> None:
        """Recompute these conversations now (after some of their events were deleted, which
        the id cursor cannot see). With other settings than the stored rows', ask for a rebuild."""
        senders = list(senders)
        if not senders or not self.ready():
            return
        with self.project.begin() as pconn:
            state = self._lock(pconn)
            if state.fingerprint != self.fingerprint:
                pconn.execute(state_table.update().where(state_table.c.name == STATE_NAME).values(fingerprint=""))
                return
            with self.tracker.connect() as tconn:
                self._recompute(tconn, pconn, senders)

    def forget(self, sender_id: str) -> Dict[str, int]:
        """Delete one conversation's summary rows (erasure); returns rows deleted per table."""
        create_summary_tables(self.project)
        deleted: Dict[str, int] = {}
        with self.project.begin() as conn:
            self._lock(conn)
            for table in DATA_TABLES:
                n = conn.execute(table.delete().where(table.c.sender_id == sender_id)).rowcount
                if n:
                    deleted[table.name] = n
        return deleted


def _insert(conn: Connection, table: sa.Table) -> Any:
    """The dialect's INSERT, which has ON CONFLICT (PostgreSQL and SQLite)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
