"""Reading grade of patient-facing text, so plain English is measured, not hoped for.

Flesch-Kincaid grade from textstat 0.7.3 (pinned: it counts syllables with
pyphen's bundled dictionaries and downloads nothing; later releases fetch a
dictionary through nltk at run time). Each bullet point and each line counts as
a sentence of its own, as a reader on a phone takes it.
"""

from __future__ import annotations

import re
from typing import List

import textstat

BULLET = re.compile(r"^\s*(?:[•\-*]|\d+[.)])\s+")


def sentences(text: str) -> List[str]:
    """The text's lines as sentences: bullets stripped, each line ended with a full stop."""
    out: List[str] = []
    for line in text.splitlines():
        line = BULLET.sub("", line).strip()
        if not line:
            continue
        if line[-1] not in ".!?":
            line = line.rstrip(":;,–- ") + "."
        out.append(line)
    return out


def reading_grade(text: str) -> float:
    """Flesch-Kincaid grade level of `text`, bullets and lines counted as sentences."""
    textstat.set_lang("en_US")
    return float(textstat.flesch_kincaid_grade(" ".join(sentences(text))))
