"""Phone-number masking for roles that do not need the numbers.

WhatsApp sender ids are phone numbers, and people type numbers into messages.
For reception, every run of 7+ digits (with the usual separators) in a sender
id, a patient message or a staff reply is shown with all but its last three
digits replaced by '•'. Bot templates (the clinic's own numbers, 999, 111) are
not masked. Clinicians and admins see numbers in full.
"""

from __future__ import annotations

import re

MASK_CHAR = "•"
KEEP_LAST = 3
MIN_DIGITS = 7
PHONE_RE = re.compile(r"(?<![\w+])\+?\d(?:[\d\s().\-]*\d)?(?![\w])")
_DATE_RE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}$|^\d{1,2}[./-]\d{1,2}[./-]\d{2,4}$")


def _mask_match(m: "re.Match[str]") -> str:
    s = m.group(0)
    digits = sum(c.isdigit() for c in s)
    if digits < MIN_DIGITS or _DATE_RE.match(s.strip()):
        return s
    keep_from = digits - KEEP_LAST
    out, seen = [], 0
    for c in s:
        if c.isdigit():
            out.append(c if seen >= keep_from else MASK_CHAR)
            seen += 1
        else:
            out.append(c)
    return "".join(out)


def mask_phone_numbers(text: str) -> str:
    if not text:
        return text
    return PHONE_RE.sub(_mask_match, text)


def looks_like_phone_number(text: str) -> bool:
    return mask_phone_numbers(text) != text


class Masker:
    """Masks for one viewer: `full=True` shows everything unchanged."""

    def __init__(self, full: bool) -> None:
        self.full = full

    def __call__(self, text: str) -> str:
        return text if self.full or not text else mask_phone_numbers(text)
