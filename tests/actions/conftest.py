from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker

from clinic_bot import db


@pytest.fixture
def db_url(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'clinic.db'}"
    monkeypatch.setenv("CLINIC_DB_URL", url)
    db.clear_engines()
    return url


def make_tracker(
    text: str = "hello",
    intent: str = "greet",
    entities: Optional[List[Dict[str, Any]]] = None,
    events: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    sender: str = "patient-1",
    extra_parse: Optional[Dict[str, Any]] = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or [], "message_id": f"m-{abs(hash(text))}"}
    latest.update(extra_parse or {})
    evts = list(events or []) + [{"event": "user", "text": text, "parse_data": latest, "input_channel": "socketio", "timestamp": 1.0}]
    return Tracker(sender, slots or {}, latest, evts, False, None, {}, "action_listen")
