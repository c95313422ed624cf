"""Rasa buttons as WhatsApp interactive messages: up to 3 reply buttons, else a list of up to 10 rows.

A tapped button or row comes back with its id, so the id is the button's Rasa
payload (e.g. `/request_human`) and the dialogue sees exactly what it offered.
Titles are shortened to WhatsApp's limits at a word; a list row shows the rest
of a long title in its description.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, Iterator, List, Set, Tuple

from channels.whatsapp.text_splitting import shorten, split_label

logger = logging.getLogger(__name__)

# Cloud API limits for interactive messages
INTERACTIVE_BODY_LIMIT = 1024
BUTTON_TITLE_LIMIT = 20
BUTTON_ID_LIMIT = 256
MAX_REPLY_BUTTONS = 3
LIST_ROW_TITLE_LIMIT = 24
LIST_ROW_DESCRIPTION_LIMIT = 72
LIST_ROW_ID_LIMIT = 200
LIST_BUTTON_LABEL_LIMIT = 20
LIST_SECTION_TITLE_LIMIT = 24
MAX_LIST_ROWS = 10
DEFAULT_BODY = "Please choose an option:"


def interactive_message(body: str, buttons: List[Dict[str, Any]], list_button_label: str) -> Dict[str, Any]:
    """The `interactive` object for `body` and up to MAX_LIST_ROWS `buttons`."""
    if len(buttons) <= MAX_REPLY_BUTTONS:
        return reply_buttons(body, buttons)
    return list_message(body, buttons, list_button_label)


def reply_buttons(body: str, buttons: List[Dict[str, Any]]) -> Dict[str, Any]:
    items: List[Dict[str, Any]] = []
    titles: Set[str] = set()
    for bid, button in _distinct_ids(buttons, BUTTON_ID_LIMIT):
        title = _unique_title(shorten(str(button.get("title") or bid), BUTTON_TITLE_LIMIT), titles, BUTTON_TITLE_LIMIT)
        items.append({"type": "reply", "reply": {"id": bid, "title": title}})
    return {"type": "button", "body": {"text": body}, "action": {"buttons": items}}


def list_message(body: str, buttons: List[Dict[str, Any]], button_label: str) -> Dict[str, Any]:
    rows: List[Dict[str, Any]] = []
    titles: Set[str] = set()
    for rid, button in _distinct_ids(buttons, LIST_ROW_ID_LIMIT):
        head, rest = split_label(str(button.get("title") or rid), LIST_ROW_TITLE_LIMIT)
        row: Dict[str, Any] = {"id": rid, "title": _unique_title(head, titles, LIST_ROW_TITLE_LIMIT)}
        description = str(button.get("description") or (f"…{rest}" if rest else "")).strip()
        if description:
            row["description"] = shorten(description, LIST_ROW_DESCRIPTION_LIMIT)
        rows.append(row)
    label = shorten(button_label or "Choose", LIST_BUTTON_LABEL_LIMIT)
    return {
        "type": "list",
        "body": {"text": body},
        "action": {"button": label, "sections": [{"title": shorten("Options", LIST_SECTION_TITLE_LIMIT), "rows": rows}]},
    }


def _distinct_ids(buttons: List[Dict[str, Any]], limit: int) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """Each button with its id; one without an id, or repeating an earlier one, is left out (WhatsApp refuses those)."""
    seen: Set[str] = set()
    for button in buttons:
        bid = _button_id(button, limit)
        if bid and bid not in seen:
            seen.add(bid)
            yield bid, button


def _button_id(button: Dict[str, Any], limit: int) -> str:
    payload = str(button.get("payload") or button.get("title") or "").strip()
    if len(payload) <= limit:
        return payload
    # Too long for WhatsApp: fall back to the title, which the NLU reads as text.
    logger.warning("whatsapp: button payload longer than %d characters; using its title instead", limit)
    return " ".join(str(button.get("title") or payload).split())[:limit]


def _unique_title(title: str, seen: Set[str], limit: int) -> str:
    candidate, n = title, 2
    while candidate in seen:
        suffix = f" ({n})"
        candidate = shorten(title, limit - len(suffix)) + suffix
        n += 1
    seen.add(candidate)
    return candidate
