"""What every channel's message goes through before NLU: size caps and typed intents.

Installed into Rasa's `MessageProcessor` by `clinic_bot.rasa_runtime`, so it
covers every input channel (REST, socket.io, WhatsApp, Twilio) in one place:

* **Length.** A message longer than `MAX_MESSAGE_CHARS` is cut to that length
  (at a word boundary) before NLU, so one huge message cannot hold the event
  loop for everyone (a 1 MB message took 49 s of NLU). The kept part is still
  read for red flags; if it has none, the turn's intent becomes
  `message_too_long` and the person is asked for a shorter message. The
  original length is kept in the metadata (`truncated_from`).
* **Metadata.** Metadata larger than `MAX_METADATA_BYTES` (as JSON) is not
  stored; `dropped_metadata_bytes` says how much was dropped.
* **Rate.** A conversation that sends more than `RATE_PER_SENDER` messages
  (default 20 a minute, more than a person types) gets
  `message_rate_limited` without NLU: a fixed reply asks them to wait and
  gives the emergency number. The message is still stored for staff.
* **Typed intents.** Rasa turns any text starting with "/" into an intent with
  entities (rasa/core/processor.py and RegexMessageHandler), so a patient
  could type `/report_red_flag{"red_flag": "<img src=x>"}` and file a ticket
  with any category. Only payloads the bot itself offered as buttons in this
  conversation session (plus the few in `ALWAYS_ACCEPTED_PAYLOADS`) are read
  as intents; any other "/" text is read as plain words.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, Optional, Set, Text, Tuple

from clinic_bot import names
from clinic_bot.rate_limit import Rate, RateLimiter
from clinic_bot.settings import load_settings

# Payloads a client may send without a button: the widget's opening message and
# "Talk to a person", which every screen offers.
ALWAYS_ACCEPTED_PAYLOADS = ("/" + names.INTENT_GREET, "/" + names.INTENT_REQUEST_HUMAN)
TRUNCATED_KEY = "truncated_from"
DROPPED_METADATA_KEY = "dropped_metadata_bytes"
_PAYLOAD_RE = re.compile(r"^/([\w.-]+)(\{.*\})?(@[\d.]+)?$", re.S)


@dataclass(frozen=True)
class Limits:
    max_chars: int
    max_metadata_bytes: int

    @classmethod
    def from_settings(cls) -> "Limits":
        s = load_settings()
        return cls(max_chars=s.max_message_chars, max_metadata_bytes=s.max_metadata_bytes)


def cut_text(text: str, max_chars: int) -> str:
    """The first `max_chars` characters, ending at a word boundary when one is near."""
    if len(text) <= max_chars:
        return text
    head = text[:max_chars]
    space = head.rfind(" ", max_chars - 200)
    return head[:space] if space > 0 else head


def capped(text: Optional[str], metadata: Optional[Dict[Text, Any]], limits: Limits) -> Tuple[str, Optional[Dict[Text, Any]]]:
    """The text and metadata to keep, with markers saying what was cut."""
    text = text or ""
    meta = dict(metadata) if isinstance(metadata, dict) else None
    if meta is not None:
        size = len(json.dumps(meta, default=str).encode())
        if size > limits.max_metadata_bytes:
            meta = {DROPPED_METADATA_KEY: size}
    if len(text) > limits.max_chars:
        meta = {**(meta or {}), TRUNCATED_KEY: len(text)}
        text = cut_text(text, limits.max_chars)
    return text, meta


def payload_key(text: str) -> Optional[Tuple[str, str]]:
    """(intent, entities as canonical JSON) for a "/intent{...}" text; None if not one."""
    m = _PAYLOAD_RE.match((text or "").strip())
    if not m:
        return None
    entities: Any = {}
    if m.group(2):
        try:
            entities = json.loads(m.group(2))
        except ValueError:
            return None
    return m.group(1), json.dumps(entities, sort_keys=True)


def offered_payloads(events: Iterable[Any]) -> Set[Tuple[str, str]]:
    """Payload keys of every button the bot sent since the conversation session started."""
    offered: Set[Tuple[str, str]] = set()
    for event in events:
        kind = getattr(event, "type_name", None)
        if kind in ("session_started", "restart"):
            offered.clear()
        elif kind == "bot":
            data = getattr(event, "data", None) or {}
            for button in (data.get("buttons") or []) + (data.get("quick_replies") or []):
                key = payload_key(str((button or {}).get("payload") or ""))
                if key:
                    offered.add(key)
    return offered


def accepted_payload(text: str, events: Iterable[Any]) -> bool:
    """True if a "/..." text is a payload the bot offered (or one always accepted)."""
    key = payload_key(text)
    if key is None:
        return False
    always = {payload_key(p) for p in ALWAYS_ACCEPTED_PAYLOADS}
    return key in always or key in offered_payloads(events)


def plain_words(text: str) -> str:
    """A refused "/..." text as the words NLU reads instead (no leading slash)."""
    return text.lstrip().lstrip("/")


def safety_continues(parse_data: Dict[Text, Any]) -> bool:
    """True unless the safety decision escalates or checks (a red flag in the kept part)."""
    decision = parse_data.get(names.PARSE_SAFETY) or {}
    intent = (parse_data.get("intent") or {}).get("name")
    return decision.get("action", "continue") == "continue" and intent not in (names.INTENT_RED_FLAG, names.INTENT_RED_FLAG_CHECK)


def too_long_parse(parse_data: Dict[Text, Any]) -> Dict[Text, Any]:
    """The parse of a cut message with no red flag: ask for a shorter message."""
    return {**parse_data, "intent": {"name": names.INTENT_MESSAGE_TOO_LONG, "confidence": 1.0}, "entities": []}


def rate_limited_parse(text: str) -> Dict[Text, Any]:
    """The parse of a message over the sender's rate: no NLU, a fixed reply."""
    return {"text": text, "intent": {"name": names.INTENT_RATE_LIMITED, "confidence": 1.0}, "entities": []}


@lru_cache(maxsize=1)
def limits() -> Limits:
    """The process's caps, read once (not on every message: settings do not change while it runs)."""
    return Limits.from_settings()


@lru_cache(maxsize=1)
def sender_limiter() -> RateLimiter:
    return RateLimiter(Rate.parse(load_settings().rate_per_sender))


def install() -> None:
    """Wrap `MessageProcessor._handle_message_with_tracker` (idempotent)."""
    from rasa.core.processor import MessageProcessor

    original = MessageProcessor._handle_message_with_tracker
    if getattr(original, "_clinic_guard", False):
        return

    async def guarded(self: Any, message: Any, tracker: Any) -> None:
        if message.parse_data is None:
            text, metadata = capped(message.text, message.metadata, limits())
            if text.lstrip().startswith("/") and not accepted_payload(text, tracker.events):
                text = plain_words(text)
            message.text, message.metadata = text, metadata
            if not sender_limiter().allow(str(message.sender_id)):
                message.parse_data = rate_limited_parse(text)
            elif metadata and TRUNCATED_KEY in metadata:
                parse_data = await self.parse_message(message, tracker)
                message.parse_data = parse_data if not safety_continues(parse_data) else too_long_parse(parse_data)
        await original(self, message, tracker)

    guarded._clinic_guard = True  # type: ignore[attr-defined]
    MessageProcessor._handle_message_with_tracker = guarded
