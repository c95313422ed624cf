"""Realistic conversations for the fast tests, written by Rasa's own SQLTrackerStore.

Events are Rasa event objects saved through SQLTrackerStore.save, so the rows
are exactly what a running Rasa server writes (type_name, intent_name,
action_name, data JSON).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, Dict, List, Optional

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, Restarted, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

import console  # noqa: F401


def parse(
    text: str,
    intent: str,
    confidence: float,
    *,
    topic: Optional[str] = None,
    topic_conf: float = 0.9,
    entities: Optional[List[Dict[str, Any]]] = None,
    ranking: Optional[List[Dict[str, Any]]] = None,
    faq_gate: Optional[Dict[str, Any]] = None,
) -> Dict[str, Any]:
    data: Dict[str, Any] = {
        "text": text,
        "intent": {"name": intent, "confidence": confidence},
        "entities": entities or [],
        "intent_ranking": ranking or [{"name": intent, "confidence": confidence}],
    }
    if topic:
        data["response_selector"] = {
            "all_retrieval_intents": ["faq"],
            "faq": {
                "response": {
                    "intent_response_key": f"faq/{topic}",
                    "confidence": topic_conf,
                    "utter_action": f"utter_faq/{topic}",
                    "responses": [{"text": "..."}],
                },
                "ranking": [{"intent_response_key": f"faq/{topic}", "confidence": topic_conf}],
            },
        }
    if faq_gate:
        data["faq_gate"] = faq_gate
    return data


class ConversationWriter:
    def __init__(self, db_path: str) -> None:
        self.store = SQLTrackerStore(domain=Domain.empty(), dialect="sqlite", db=str(db_path))
        self.clock = time.time() - 3600

    def tick(self, seconds: float = 1.0) -> float:
        self.clock += seconds
        return self.clock

    def user(self, text: str, intent: str = "greet", confidence: float = 0.95, channel: str = "rest", **kw: Any) -> Event:
        return UserUttered(
            text,
            intent={"name": intent, "confidence": confidence},
            parse_data=parse(text, intent, confidence, **kw),
            input_channel=channel,
            timestamp=self.tick(),
        )

    def bot(self, text: str, metadata: Optional[Dict[str, Any]] = None, buttons: Optional[List[Dict[str, str]]] = None) -> Event:
        return BotUttered(text, data={"buttons": buttons} if buttons else {}, metadata=metadata or {}, timestamp=self.tick())

    def action(self, name: str, policy: str = "RulePolicy", confidence: float = 1.0) -> Event:
        return ActionExecuted(name, policy=policy, confidence=confidence, timestamp=self.tick())

    def slot(self, name: str, value: Any) -> Event:
        return SlotSet(name, value, timestamp=self.tick())

    def session(self) -> List[Event]:
        return [
            ActionExecuted("action_session_start", timestamp=self.tick()),
            SessionStarted(timestamp=self.tick()),
            ActionExecuted("action_listen", timestamp=self.tick()),
        ]

    def restart(self) -> Event:
        return Restarted(timestamp=self.tick())

    def save(self, sender_id: str, events: List[Event]) -> None:
        """Append events to the stored conversation, as Rasa does after each message."""
        existing = asyncio.run(self.store.retrieve(sender_id))  # latest session, as Rasa does
        old = list(existing.events) if existing else []
        tracker = DialogueStateTracker.from_events(sender_id, old + list(events))
        asyncio.run(self.store.save(tracker))

    def at(self, ts: float) -> "ConversationWriter":
        self.clock = ts
        return self
