"""CSV / JSONL exports of conversations and the unanswered-questions file.

Patient text is untrusted: CSV cells that a spreadsheet would run as a formula
(starting with = + - @ or a control character) are prefixed with a quote.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional

from console.masking import mask_phone_numbers
from console.repositories.conversations import Transcript
from console.repositories.unanswered import UnansweredGroup

EVENT_COLUMNS = [
    "conversation",
    "timestamp",
    "kind",
    "text",
    "intent",
    "intent_confidence",
    "faq_topic",
    "faq_confidence",
    "fallback",
    "action",
    "staff",
    "channel",
]
UNANSWERED_COLUMNS = ["count", "conversations", "example", "other_wordings", "normalised", "why", "best_guess", "lowest_confidence", "last_seen"]
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="seconds")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _round(x: Optional[float]) -> Optional[float]:
    return None if x is None else round(float(x), 4)


def event_rows(transcript: Transcript, mask: Callable[[str], str]) -> Iterable[Dict[str, Any]]:
    """One row per message, action and handoff change; masking is the viewer's."""
    conv = mask(transcript.sender_id)
    for item in transcript.items:
        row: Dict[str, Any] = {c: None for c in EVENT_COLUMNS}
        row.update(conversation=conv, timestamp=iso(item.at), kind=item.kind)
        if item.kind == "user" and item.info:
            info = item.info
            row.update(
                text=mask(item.text),
                intent=info.intent,
                intent_confidence=_round(info.confidence),
                faq_topic=info.topic,
                faq_confidence=_round(info.topic_confidence),
                fallback=info.fallback or ("core_fallback" if item.core_fallback else None) or ("low_confidence" if info.low_confidence else None),
                channel=info.channel,
            )
        elif item.kind == "staff":
            row.update(text=mask(item.text), staff=item.actor)
            if item.delivery is not None:
                row.update(fallback=f"not delivered: {mask(item.delivery.summary)}")
        elif item.kind == "delivery" and item.delivery:
            who = "a staff reply" if item.delivery.staff_reply else "a message from the assistant"
            row.update(text=f"{who} was not delivered: {mask(item.delivery.summary)}", channel=item.delivery.channel)
        elif item.kind == "bot":
            row.update(text=item.text, action=item.name or None, staff=item.actor or None)
        elif item.kind == "action":
            row.update(action=item.name)
        elif item.kind == "handoff":
            row.update(text="handoff started" if item.value else "handed back to the bot")
        elif item.kind == "ticket" and item.ticket:
            t = item.ticket
            row.update(text=f"ticket #{t.id} {t.urgency}/{t.category} ({t.status})", staff=t.updated_by)
        else:
            continue
        yield row


def to_csv(rows: Iterable[Dict[str, Any]], columns: List[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return buf.getvalue()


def to_jsonl(rows: Iterable[Dict[str, Any]]) -> str:
    return "".join(json.dumps(row, ensure_ascii=False, sort_keys=False) + "\n" for row in rows)


def unanswered_rows(groups: Iterable[UnansweredGroup], mask: Callable[[str], str]) -> Iterable[Dict[str, Any]]:
    for g in groups:
        yield {
            "count": g.count,
            "conversations": len(g.senders),
            "example": mask(g.example),
            "other_wordings": " | ".join(mask(e) for e in g.examples[1:]),
            "normalised": mask(g.key),
            "why": g.kind_labels,
            "best_guess": g.top_guess,
            "lowest_confidence": _round(g.min_confidence),
            "last_seen": iso(g.last_at),
        }


def _yaml_example(text: str) -> str:
    # One line per example inside a literal block: collapse whitespace; the
    # block needs no escaping apart from that.
    return " ".join(text.split())


def nlu_yaml_stub(groups: Iterable[UnansweredGroup], generated_at: Optional[float] = None) -> str:
    """Rasa NLU training-data stub: every wording under a placeholder intent.

    Phone numbers are always masked here, whatever the viewer's role: this
    file is meant to end up in the training data (and in git).
    """
    groups = list(groups)
    stamp = iso(generated_at) if generated_at else iso(datetime.now(timezone.utc).timestamp())
    lines = [
        "# Unanswered questions exported from the staff console on " + stamp + ".",
        "# Move each example under the right intent (or retrieval intent faq/<topic>),",
        "# delete the ones that should stay unanswered, then retrain. Best guesses:",
    ]
    for g in groups:
        lines.append(f"#   {g.count}x  {_yaml_example(mask_phone_numbers(g.example))[:80]!s}  ->  {g.top_guess or '?'}")
    lines += ['version: "3.1"', "nlu:", "- intent: unanswered_review_me", "  examples: |"]
    seen = set()
    for g in groups:
        for example in g.examples:
            text = _yaml_example(mask_phone_numbers(example))
            if text and text not in seen:
                seen.add(text)
                lines.append(f"    - {text}")
    if not seen:
        lines[-1] = '  examples: ""'
    return "\n".join(lines) + "\n"
