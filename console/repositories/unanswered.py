"""The unanswered-questions report: what the assistant could not answer.

A typed user message counts when
  * its intent is `nlu_fallback` (Rasa's FallbackClassifier, or the project's
    FaqConfidenceGate, recognised by `faq_gate` in the parse data or by `faq`
    still topping the intent ranking), or
  * the next action was `action_default_fallback` (core fallback), or
  * its intent confidence, or for `faq` its topic confidence, is below
    CONSOLE_LOW_CONFIDENCE (default 0.6).
Messages are grouped by normalised text (case, punctuation and spacing ignored).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from console.repositories.events import event_data, in_time_range
from console.repositories.events import events_table as ev
from console.repositories.messages import CORE_FALLBACK_ACTION, UserMessageInfo, analyse_user_event

KIND_LABELS = {
    "nlu_fallback": "intent unsure",
    "faq_gate": "FAQ topic unsure",
    "core_fallback": "no next action",
    "low_confidence": "low confidence",
}
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
# (sender_id, type_name, action_name, timestamp, decoded data) of one event
EventRow = Tuple[str, str, Optional[str], Optional[float], Dict[str, Any]]


@dataclass
class UnansweredItem:
    sender_id: str
    at: float
    text: str
    kind: str
    info: UserMessageInfo


@dataclass
class UnansweredGroup:
    key: str
    count: int = 0
    last_at: float = 0.0
    examples: List[str] = field(default_factory=list)
    senders: Set[str] = field(default_factory=set)
    kinds: Counter = field(default_factory=Counter)
    guesses: Counter = field(default_factory=Counter)
    latest_sender: str = ""
    confidences: List[float] = field(default_factory=list)

    @property
    def example(self) -> str:
        return self.examples[0] if self.examples else self.key

    @property
    def top_guess(self) -> str:
        return self.guesses.most_common(1)[0][0] if self.guesses else ""

    @property
    def kind_labels(self) -> str:
        return ", ".join(KIND_LABELS.get(k, k) for k, _ in self.kinds.most_common())

    @property
    def min_confidence(self) -> Optional[float]:
        return min(self.confidences) if self.confidences else None


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(_NON_WORD.sub(" ", text).replace("_", " ").split())


def group_key(normalised: str) -> str:
    """The report's grouping key as the summary table stores it: a digest, so the index
    holds any text (a B-tree entry has a size limit; a pasted letter would exceed it)."""
    return hashlib.sha1(normalised.encode("utf-8")).hexdigest()


def _guess(info: UserMessageInfo) -> str:
    intent = info.original_intent or info.intent or ""
    if intent == "faq" and info.topic:
        return f"faq/{info.topic}"
    return intent


def _confidence(info: UserMessageInfo) -> Optional[float]:
    """The confidence that made the message count as unanswered."""
    if info.fallback == "faq_gate":
        return info.topic_confidence
    if info.fallback:
        return info.original_confidence
    candidates = [info.confidence, info.topic_confidence if info.intent == "faq" else None]
    values = [v for v in candidates if v is not None]
    return min(values) if values else None


def unanswered_in(rows: Iterable[EventRow], low_confidence: float) -> List[UnansweredItem]:
    """The unanswered messages among `rows` (sender, type_name, action_name, timestamp, data
    dict), in event-id order. Shared by the full scan below and the summary indexer
    (console/repositories/summaries.py), so both count a message the same way; rows of
    other kinds are ignored."""
    items: List[UnansweredItem] = []
    last_user: Dict[str, Optional[UnansweredItem]] = {}
    for sender, type_name, action, ts, data in rows:
        if type_name == "user":
            info = analyse_user_event(data, low_confidence)
            item = UnansweredItem(sender, float(ts or 0.0), info.text, info.unanswered_kind or "", info)
            if item.kind:
                items.append(item)
            last_user[sender] = item if not info.is_payload else None
        elif type_name == "action" and action == CORE_FALLBACK_ACTION:
            pending = last_user.get(sender)
            if pending is not None and not pending.kind:
                pending.kind = "core_fallback"
                items.append(pending)
            last_user[sender] = None
    return items


def scan_unanswered(
    engine: Engine, low_confidence: float, start: Optional[float] = None, end: Optional[float] = None, senders: Optional[Iterable[str]] = None
) -> List[UnansweredItem]:
    """Every user message in the range the bot did not answer, oldest first (Rasa's events table must exist).

    A full scan of the events table: the pages read the summary tables instead; this
    stays as the reference the summaries are checked against (tests/console/test_summaries.py)."""
    q = sa.select(ev.c.sender_id, ev.c.type_name, ev.c.action_name, ev.c.timestamp, ev.c.data).where(
        sa.or_(ev.c.type_name == "user", sa.and_(ev.c.type_name == "action", ev.c.action_name == CORE_FALLBACK_ACTION))
    )
    q = in_time_range(q, start, end)
    sender_list = list(senders) if senders is not None else None
    batches: List[Optional[List[str]]] = [sender_list[i : i + 500] for i in range(0, len(sender_list), 500)] if sender_list is not None else [None]
    items: List[UnansweredItem] = []
    with engine.connect() as conn:
        for batch in batches:
            bq = q.where(ev.c.sender_id.in_(batch)) if batch is not None else q
            rows = conn.execute(bq.order_by(ev.c.id))
            items.extend(unanswered_in(((s, t, a, ts, event_data(raw)) for s, t, a, ts, raw in rows), low_confidence))
    items.sort(key=lambda i: i.at)
    return items


def group_unanswered(items: Iterable[UnansweredItem]) -> List[UnansweredGroup]:
    groups: Dict[str, UnansweredGroup] = {}
    for item in sorted(items, key=lambda i: -i.at):  # newest first, so examples[0] is the latest wording
        key = normalise(item.text)
        if not key:
            continue
        g = groups.setdefault(key, UnansweredGroup(key=key))
        g.count += 1
        g.senders.add(item.sender_id)
        g.kinds[item.kind] += 1
        if not g.latest_sender:
            g.latest_sender, g.last_at = item.sender_id, item.at
        text = " ".join(item.text.split())
        if text not in g.examples and len(g.examples) < 3:
            g.examples.append(text)
        guess = _guess(item.info)
        if guess:
            g.guesses[guess] += 1
        conf = _confidence(item.info)
        if conf is not None:
            g.confidences.append(conf)
    return sorted(groups.values(), key=lambda g: (-g.count, -g.last_at, g.key))
