"""Fitting text into WhatsApp's limits: long messages split where a reader would pause, labels shortened at a word.

WhatsApp refuses a text body over 4096 characters, a reply-button title over
20 and a list-row title over 24, so text is cut at a paragraph, sentence,
line, clause or word end (in that order of preference), never mid-word unless
one word is longer than the limit, and nothing is lost or reordered.
"""

from __future__ import annotations

import re
from typing import List, Optional, Tuple

# Text bodies may be 4096 characters; we stay a little below because WhatsApp
# counts some emoji as two characters.
TEXT_LIMIT = 4000

_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n\s*"),  # paragraph
    re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+"),  # sentence
    re.compile(r"\n\s*"),  # line
    re.compile(r"(?<=[;:,])\s+"),  # clause
    re.compile(r"\s+"),  # word
)


def _cut_position(text: str, limit: int) -> Tuple[int, int]:
    """Where to end the first chunk (<= limit) and where the next one starts."""
    window = text[: limit + 1]
    for min_pos in (limit // 2, 1):
        for pattern in _BOUNDARIES:
            best = None
            for m in pattern.finditer(window):
                if min_pos <= m.start() <= limit:
                    best = m
            if best is not None:
                return best.start(), best.end()
    return limit, limit


def split_text(text: Optional[str], limit: int = TEXT_LIMIT) -> List[str]:
    """Split text into chunks of at most `limit` characters, preferring paragraph and sentence ends."""
    rest = (text or "").strip()
    parts: List[str] = []
    while len(rest) > limit:
        end, start = _cut_position(rest, limit)
        head = rest[:end].rstrip()
        if head:
            parts.append(head)
        rest = rest[start:].lstrip()
    if rest:
        parts.append(rest)
    return parts


def split_label(text: str, limit: int) -> Tuple[str, str]:
    """Shorten `text` to `limit` characters at a word boundary (with '…'); also return what was cut off."""
    text = " ".join(str(text or "").split())
    if len(text) <= limit:
        return text, ""
    words = text.split(" ")
    head = ""
    used = 0
    for i, word in enumerate(words):
        candidate = f"{head} {word}" if head else word
        if len(candidate) + 1 > limit:
            break
        head, used = candidate, i + 1
    if not head:  # one very long word
        head = text[: limit - 1]
        return head.rstrip() + "…", text[limit - 1 :]
    head = head.rstrip(" ,;:-–")
    return head + "…", " ".join(words[used:])


def shorten(text: str, limit: int) -> str:
    return split_label(text, limit)[0]
