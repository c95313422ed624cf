"""Reading the FAQ part of Rasa's parse data, in one place.

The ResponseSelector puts its pick under `response_selector.faq.response`
(`intent_response_key` "faq/<topic>", `confidence`) and its scores under
`...ranking`. Actions, the console and the evaluation scripts all need the
topic; they read it here, so a change of Rasa's layout is fixed once.
"""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Tuple

from clinic_bot import names

FAQ_PREFIX = names.INTENT_FAQ + "/"


def faq_selector(parse: Mapping[str, Any]) -> Dict[str, Any]:
    return (parse.get("response_selector") or {}).get(names.INTENT_FAQ) or {}


def faq_response_key(parse: Mapping[str, Any]) -> Optional[str]:
    """ "faq/<topic>" the selector picked, if any."""
    return (faq_selector(parse).get("response") or {}).get("intent_response_key") or None


def topic_of_key(key: Optional[str]) -> Optional[str]:
    return key[len(FAQ_PREFIX) :] if key and key.startswith(FAQ_PREFIX) else None


def faq_pick(parse: Mapping[str, Any]) -> Tuple[Optional[str], float]:
    """The picked topic and its confidence (None, 0.0 when there is no pick)."""
    response = faq_selector(parse).get("response") or {}
    return topic_of_key(response.get("intent_response_key")), float(response.get("confidence") or 0.0)


def faq_ranking(parse: Mapping[str, Any]) -> List[Tuple[str, float]]:
    """(topic, confidence) for every topic the selector ranked, best first."""
    out = []
    for item in faq_selector(parse).get("ranking") or []:
        topic = topic_of_key(item.get("intent_response_key"))
        if topic:
            out.append((topic, float(item.get("confidence") or 0.0)))
    return out
