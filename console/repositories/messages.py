"""What the NLU made of each user message, read from Rasa's stored parse data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from clinic_bot import names
from clinic_bot.parse_data import faq_pick, topic_of_key
from clinic_bot.safety import CHECK, ESCALATE

FALLBACK_INTENT = names.INTENT_FALLBACK
FAQ_INTENT = names.INTENT_FAQ
CORE_FALLBACK_ACTION = "action_default_fallback"
HANDOFF_SLOT = names.SLOT_HANDOFF


@dataclass
class UserMessageInfo:
    text: str
    intent: Optional[str] = None
    confidence: Optional[float] = None
    topic: Optional[str] = None  # FAQ topic (response selector's intent_response_key)
    topic_confidence: Optional[float] = None
    original_intent: Optional[str] = None  # what the classifier guessed before the fallback
    original_confidence: Optional[float] = None
    fallback: Optional[str] = None  # None | "nlu_fallback" | "faq_gate"
    fallback_reason: Optional[str] = None
    entities: List[Tuple[str, str]] = field(default_factory=list)
    channel: Optional[str] = None
    low_confidence: bool = False
    is_payload: bool = False  # a button press ("/intent{...}"), not typed text
    safety: Optional[str] = None  # the safety decision when not "continue": escalate | check
    safety_reasons: List[str] = field(default_factory=list)

    @property
    def unanswered_kind(self) -> Optional[str]:
        if self.is_payload:
            return None
        if self.fallback:
            return self.fallback
        return "low_confidence" if self.low_confidence else None


def _float(value: Any) -> Optional[float]:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def analyse_user_event(data: Dict[str, Any], low_confidence: float = 0.6) -> UserMessageInfo:
    parse = data.get("parse_data") or {}
    text = data.get("text") or parse.get("text") or ""
    intent = parse.get("intent") or {}
    info = UserMessageInfo(
        text=text,
        intent=intent.get("name"),
        confidence=_float(intent.get("confidence")),
        channel=data.get("input_channel"),
        is_payload=text.startswith("/"),
    )
    decision = parse.get(names.PARSE_SAFETY)
    if isinstance(decision, dict) and decision.get("action") in (ESCALATE, CHECK):
        info.safety = decision["action"]
        info.safety_reasons = [str(r) for r in decision.get("reasons") or []]
    topic, confidence = faq_pick(parse)
    topic = topic or topic_of_key(intent.get("full_retrieval_intent_name"))
    # The response selector ranks topics for every message; its pick only means
    # something when the message was (or might have been) an FAQ question.
    if topic and info.intent in (FAQ_INTENT, FALLBACK_INTENT):
        info.topic = topic
        info.topic_confidence = confidence
    for entity in parse.get("entities") or []:
        if entity.get("entity") and entity.get("value") is not None:
            info.entities.append((str(entity["entity"]), str(entity["value"])))
            if entity["entity"] == "faq_topic" and info.intent == "choose_faq":
                info.topic, info.topic_confidence = str(entity["value"]), 1.0
    ranking = [r for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK_INTENT]
    if info.intent == FALLBACK_INTENT:
        gate = parse.get(names.PARSE_FAQ_GATE)
        top_ranked = (parse.get("intent_ranking") or [{}])[0].get("name")
        if isinstance(gate, dict) or (top_ranked == FAQ_INTENT and ranking):
            # FaqConfidenceGate: the intent was `faq` but the topic was unsure.
            info.fallback = "faq_gate"
            original = (gate or {}).get("original_intent") or ranking[0]
            info.fallback_reason = (gate or {}).get("reason") or "FAQ topic unsure"
        else:
            info.fallback = "nlu_fallback"
            original = ranking[0] if ranking else {}
            info.fallback_reason = "intent unsure"
        info.original_intent = original.get("name")
        info.original_confidence = _float(original.get("confidence"))
    elif not info.is_payload:
        if info.confidence is not None and info.confidence < low_confidence:
            info.low_confidence = True
        elif info.intent == FAQ_INTENT and info.topic_confidence is not None and info.topic_confidence < low_confidence:
            info.low_confidence = True
    return info
