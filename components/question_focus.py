"""Find the question in a long message.

Patients often write several sentences of history and ask their question at
the end (or in the middle). Encoding the whole message dilutes the question
with the story, so the MiniLM featurizer also encodes the sentence picked here
and combines the two. Pure Python, no Rasa import, so it is easy to test.
"""

from __future__ import annotations

import re
from typing import List, Optional

# a sentence ends at . ! ? or a line break (runs like "?!" or "..." included)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"')\]])\s+|\n+")
_QUESTION_STARTERS = frozenset(
    "what whats how is isnt are arent should shouldnt can cant could couldnt do does doesnt dont did will "
    "would wouldnt why when where which who whom am any has have hasnt havent might may must shall "
    "wat wot hw r cn shud wud".split()
)
_FIRST_WORD = re.compile(r"[a-z']+")
MIN_SENTENCE_CHARS = 8


def sentences(text: str) -> List[str]:
    """Sentences of a message, in order, without empty or very short pieces."""
    parts = [p.strip() for p in _SENTENCE_END.split(text or "")]
    return [p for p in parts if len(p) >= MIN_SENTENCE_CHARS]


def is_question(sentence: str) -> bool:
    if "?" in sentence:
        return True
    m = _FIRST_WORD.match(sentence.lower().lstrip("-*• \"'"))
    return m is not None and m.group(0).replace("'", "") in _QUESTION_STARTERS


def focus_sentence(text: str) -> Optional[str]:
    """The sentence that most likely carries the question, or None when the message is one sentence.

    The last question-like sentence wins (a story comes first, the question
    last); a message with no question-like sentence falls back to its last
    sentence.
    """
    parts = sentences(text)
    if len(parts) < 2:
        return None
    questions = [p for p in parts if is_question(p)]
    return questions[-1] if questions else parts[-1]
