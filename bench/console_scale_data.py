"""Synthetic conversations for bench/console_scale.py, written fast with PostgreSQL COPY.

Each row is what Rasa's SQLTrackerStore writes (type_name, timestamp, intent_name,
action_name, data = json.dumps(event.as_dict())); the JSON shapes come from Rasa's
own event classes (one template per kind, with text, time and channel filled in),
so the console decodes exactly what it meets in production: session starts with
the clinic-profile slots, typed and button messages with parse data (intent
ranking, FAQ response selector), bot replies, actions, handoff slots, staff
replies, restarts, low-confidence turns, NLU and core fallbacks.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import random
import time
from datetime import datetime, timezone
from typing import Any, Dict, Iterator, List, Tuple

from rasa.shared.core.events import ActionExecuted, BotUttered, Restarted, SessionStarted, SlotSet, UserUttered

from tests.console.factory import parse

DAY = 86400.0
CHANNELS = [("whatsapp", 0.45), ("socketio", 0.35), ("rest", 0.20)]
CLINIC = "appointment injection knee shoulder physio pain swim parking invoice referral scan results cancel reschedule back neck exercise".split()
RARE_WORD = "hydrotherapy"  # in about 1 message in 300: the benchmark's search
COMMON_WORD = "appointment"  # in about 1 message in 5
PROFILE_SLOTS = [("emergency_number", "999"), ("emergency_department", "St Elsewhere A&E"), ("urgent_advice", "111"), ("crisis_line", "116 123")]
COPY_SQL = "COPY events (sender_id, type_name, timestamp, intent_name, action_name, data) FROM STDIN WITH (FORMAT csv)"

Row = Tuple[str, str, float, Any, Any, str]


def _vocabulary(rng: random.Random, n: int = 3000) -> List[str]:
    syllables = "ba ce di fo gu ha je ki lo mu na pe ri so tu va we xi yo zu".split()
    return [w for w in {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(n)} if w != RARE_WORD]


class Generator:
    """Conversations one after another; ids follow time, as Rasa's do."""

    def __init__(self, seed: int = 11) -> None:
        self.rng = random.Random(seed)
        self.words = _vocabulary(self.rng)
        self.tpl = {
            "session": ActionExecuted("action_session_start").as_dict(),
            "started": SessionStarted().as_dict(),
            "listen": ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0).as_dict(),
            "action": ActionExecuted("utter_x", policy="TEDPolicy", confidence=0.91).as_dict(),
            "slot": SlotSet("x", None).as_dict(),
            "bot": BotUttered("x", data={}, metadata={"utter_action": "utter_x"}).as_dict(),
            "restart": Restarted().as_dict(),
        }
        self.user_tpl = UserUttered("x", intent={"name": "x", "confidence": 1.0}, parse_data=parse("x", "x", 1.0), input_channel="rest").as_dict()
        self.tickets: List[Dict[str, Any]] = []

    def _text(self) -> str:
        rng = self.rng
        words = [rng.choice(self.words) for _ in range(rng.randint(3, 10))]
        if rng.random() < 0.6:
            words.insert(rng.randrange(len(words)), rng.choice(CLINIC))
        if rng.random() < 0.2:
            words.insert(rng.randrange(len(words)), COMMON_WORD)
        if rng.random() < 0.0033:
            words.insert(rng.randrange(len(words)), RARE_WORD)
        return " ".join(words).capitalize() + rng.choice(["", "?", "!", "."])

    def _event(self, kind: str, ts: float, **fields: Any) -> Dict[str, Any]:
        data = copy.copy(self.tpl[kind])
        data.update(fields, timestamp=ts)
        return data

    def _user(self, ts: float, channel: str, intent: str, conf: float, text: str = "", **kw: Any) -> Dict[str, Any]:
        text = text or self._text()
        data = copy.copy(self.user_tpl)
        data.update(text=text, timestamp=ts, input_channel=channel, parse_data=parse(text, intent, conf, **kw))
        return data

    def conversation(self, sender: str, start: float, channel: str) -> List[Dict[str, Any]]:
        rng, t = self.rng, [start]

        def tick() -> float:
            t[0] += rng.uniform(0.2, 20.0)
            return t[0]

        out = [self._event("session", tick(), name="action_session_start"), self._event("started", tick())]
        out += [self._event("slot", tick(), name=n, value=v) for n, v in PROFILE_SLOTS]
        out.append(self._event("listen", tick(), name="action_listen"))
        for _ in range(rng.choice([0, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7])):
            kind = rng.choices(["ok", "faq", "low", "nlu", "gate", "core", "button", "handoff"], [50, 20, 6, 4, 3, 2, 10, 1.2])[0]
            if kind in ("ok", "faq"):
                topic = rng.choice(["injection_pain", "parking", "exercise"]) if kind == "faq" else None
                out.append(
                    self._user(
                        tick(), channel, "faq" if topic else "ask_hours", rng.uniform(0.8, 0.99), topic=topic, topic_conf=rng.uniform(0.7, 0.99)
                    )
                )
                out.append(self._event("action", tick(), name="utter_faq" if topic else "utter_hours"))
                out.append(self._event("bot", tick(), text=self._text()))
            elif kind == "low":
                out.append(self._user(tick(), channel, "ask_price", rng.uniform(0.3, 0.59)))
                out += [self._event("action", tick(), name="utter_price"), self._event("bot", tick(), text=self._text())]
            elif kind == "nlu":
                ranking = [{"name": "nlu_fallback", "confidence": 0.45}, {"name": "greet", "confidence": 0.31}]
                out += [
                    self._user(tick(), channel, "nlu_fallback", 0.45, ranking=ranking),
                    self._event("action", tick(), name="action_suggest_topics"),
                ]
            elif kind == "gate":
                ranking = [{"name": "faq", "confidence": 0.88}]
                out.append(
                    self._user(
                        tick(), channel, "nlu_fallback", 0.45, topic="injection_pain", topic_conf=0.2, ranking=ranking, faq_gate={"reason": "low"}
                    )
                )
            elif kind == "core":
                out += [self._user(tick(), channel, "out_of_scope", 0.9), self._event("action", tick(), name="action_default_fallback")]
            elif kind == "button":
                out.append(self._user(tick(), channel, "choose_faq", 1.0, text='/choose_faq{"faq_topic":"exercise"}'))
                out.append(self._event("action", tick(), name="action_answer_chosen_faq"))
            else:
                out += self._handoff(sender, channel, tick)
            out.append(self._event("listen", tick(), name="action_listen"))
        if rng.random() < 0.01:
            out.append(self._event("restart", tick()))
        return out

    def _handoff(self, sender: str, channel: str, tick: Any) -> List[Dict[str, Any]]:
        rng = self.rng
        out = [self._user(tick(), channel, "report_red_flag", 0.97, entities=[{"entity": "red_flag", "value": "cauda_equina"}])]
        out += [self._event("action", tick(), name="utter_red_flag_safety"), self._event("bot", tick(), text="Please call 999 now.")]
        out += [self._event("action", tick(), name="action_escalate_red_flag"), self._event("slot", tick(), name="handoff_active", value=True)]
        created = datetime.fromtimestamp(out[-1]["timestamp"], timezone.utc)
        status = rng.choice(["open", "acknowledged", "closed", "closed", "closed"])
        self.tickets.append(
            dict(
                dedupe_key=f"{sender}:red_flag:{len(self.tickets)}",
                conversation_id=sender,
                channel=channel,
                category="cauda_equina",
                urgency="emergency",
            )
            | dict(urgency_rank=3, trigger_message="red flag", created_at=created, status=status, notification_status="sent", notification_attempts=1)
        )
        staff = self._event("bot", tick(), text="Hello, this is Sam from the clinic: " + self._text(), metadata={"staff_reply": True, "staff": "sam"})
        out.append(staff)
        if rng.random() < 0.6:
            out.append(self._event("slot", tick(), name="handoff_active", value=False))
        return out

    def rows(self, conversations: int, days: float = 90.0) -> Iterator[Row]:
        now = time.time()
        starts = sorted(now - self.rng.uniform(0, days * DAY) for _ in range(conversations))
        names, weights = zip(*CHANNELS, strict=False)
        for i, start in enumerate(starts):
            channel = self.rng.choices(names, weights)[0]
            sender = f"4477{i:08d}" if channel == "whatsapp" else f"{channel}-{i:08d}"
            for e in self.conversation(sender, start, channel):
                intent = (e.get("parse_data") or {}).get("intent", {}).get("name")
                yield sender, e["event"], e["timestamp"], intent, e.get("name"), json.dumps(e)


def copy_events(raw_conn: Any, rows: Iterator[Row], chunk: int = 100_000) -> int:
    """COPY the rows into the events table (psycopg2 connection); returns how many."""
    n = 0
    buf = io.StringIO()
    writer = csv.writer(buf)
    cur = raw_conn.cursor()
    for row in rows:
        writer.writerow(row)
        n += 1
        if n % chunk == 0:
            buf.seek(0)
            cur.copy_expert(COPY_SQL, buf)
            buf = io.StringIO()
            writer = csv.writer(buf)
    buf.seek(0)
    cur.copy_expert(COPY_SQL, buf)
    raw_conn.commit()
    return n
