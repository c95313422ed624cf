"""Token normalisation: the forms the patterns are written against.

Patients type "can't", "cant", "numbnes", "cos" and "I'm"; the patterns are
written once against normalised words ("can not", "numbness", "because",
"am") and their lemmas, so each token gets both here. Typos are corrected only
towards the pattern vocabulary and only for words English does not know.
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from components.red_flags.knowledge import APOSTROPHES, Knowledge

logger = logging.getLogger(__name__)

# "'s" after these is "is" (it's, that's, he's); elsewhere it stays a possessive
_S_IS_BEFORE = frozenset(
    (
        "it",
        "that",
        "what",
        "he",
        "she",
        "there",
        "who",
        "here",
        "how",
        "where",
        "this",
        "everything",
        "nothing",
        "something",
        "everyone",
        "someone",
        "which",
        "life",
        "pain",
        "back",
        "neck",
    )
)
# "'s" before these is "has" ("breathing's got hard", "balance's gone")
_HAS_BEFORE = frozenset(
    ("got", "gotten", "been", "gone", "become", "started", "stopped", "lost", "turned", "spread", "moved", "crept", "doubled", "tripled")
)
_NORM_CACHE_SIZE = 50000


def lowercase_keeping_offsets(text: str) -> str:
    """The text lower-cased, unless that changes its length (offsets must still point into it)."""
    lowered = text.lower()
    return lowered if len(lowered) == len(text) else text


# --------------------------------------------------------------------------- lexical resources
@functools.lru_cache(maxsize=4)
def _known_words(threshold: float) -> frozenset:
    """English words with a lexeme log-probability >= threshold (spacy-lookups-data)."""
    try:
        import spacy_lookups_data

        path = Path(spacy_lookups_data.__file__).parent / "data" / "en_lexeme_prob.json.gz"
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            probs = json.load(fh)
        return frozenset(w for w, p in probs.items() if p >= threshold)
    except Exception as exc:  # pragma: no cover - optional resource
        logger.warning("red flags: no English word list (%s); typo correction is limited", exc)
        return frozenset()


@functools.lru_cache(maxsize=1)
def lemma_table() -> Dict[str, str]:
    try:
        from spacy.lookups import load_lookups

        lookups = load_lookups("en", ["lemma_lookup"], strict=False)
        if lookups.has_table("lemma_lookup"):
            return dict(lookups.get_table("lemma_lookup").items())
    except Exception as exc:  # pragma: no cover - optional resource
        logger.warning("red flags: no lemma lookup table (%s)", exc)
    return {}


def _lemma_of(word: str) -> str:
    table = lemma_table()
    if not table:
        return word
    return " ".join(table.get(w, w) for w in word.split(" "))


def _edit_distance_le(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance, or limit+1 if larger than limit."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: List[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        row_min = cur[0]
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
            row_min = min(row_min, cur[j])
        if row_min > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


# --------------------------------------------------------------------------- per-token forms
class Normaliser:
    """Normalised form and lemma per token, with the slang and typo tables of one patterns file."""

    def __init__(self, knowledge: Knowledge) -> None:
        self.k = knowledge
        self._known: Optional[frozenset] = None
        self._cache: Dict[str, str] = {}

    def known_words(self) -> frozenset:
        if self._known is None:
            self._known = _known_words(self.k.fuzzy_threshold)
        return self._known

    def token_forms(self, doc: Any) -> Tuple[List[str], List[str]]:
        """(normalised form, lemma) per doc token; "" for whitespace tokens."""
        norms: List[str] = []
        lemmas: List[str] = []
        prev = ""
        for tok in doc:
            if tok.is_space:
                norms.append("")
                lemmas.append("")
                continue
            raw = tok.text.translate(APOSTROPHES).lower()
            norm = self._contraction(raw, prev, doc, tok.i)
            if norm is None:
                norm = self.k.slang[raw] if raw in self.k.slang else self._normalise_word(raw)
            if norm == raw:
                lemma = (tok.lemma_ or raw).translate(APOSTROPHES).lower()
                if raw in ("'s",):
                    lemma = raw
                if not lemma.strip():
                    lemma = _lemma_of(raw)
            else:
                lemma = _lemma_of(norm) if norm else ""
            if norm in self.k.lemma_exceptions:
                lemma = self.k.lemma_exceptions[norm]
            norms.append(norm)
            lemmas.append(lemma)
            prev = norm or prev
        return norms, lemmas

    @staticmethod
    def _contraction(raw: str, prev: str, doc: Any, i: int) -> Optional[str]:
        """The full word for a clitic spaCy split off ("I" + "m" -> "am"), or None."""
        if raw == "m" and prev == "i":
            return "am"
        if raw == "d" and prev == "i":
            return "'d"
        if raw == "'s" and prev and _next_word(doc, i) in _HAS_BEFORE:
            return "has"  # "breathing's got hard", "balance's gone", "it's been" -> "has"
        if raw in ("s", "'s") and prev in _S_IS_BEFORE:
            return "is"  # it's / that's / he's -> "is" (possessive 's elsewhere stays)
        if raw == "ve" and prev in ("i", "you", "we", "they", "could", "would", "should", "might", "must"):
            return "have"
        if raw == "re" and prev in ("you", "we", "they"):
            return "are"
        return None

    def _normalise_word(self, word: str) -> str:
        cached = self._cache.get(word)
        if cached is not None:
            return cached
        out = word
        if word.isalpha():
            if re.search(r"(.)\1\1", word):
                # "sooo numbbb": squeeze runs to one letter if that is a word, else to two
                one = re.sub(r"(.)\1{2,}", r"\1", word)
                two = re.sub(r"(.)\1{2,}", r"\1\1", word)
                known = self.known_words()
                if one in self.k.fuzzy_vocab_set or (one in known and two not in self.k.fuzzy_vocab_set):
                    out = one
                else:
                    out = two
            out = self._fuzzy(out)
        if len(self._cache) < _NORM_CACHE_SIZE:
            self._cache[word] = out
        return out

    def _fuzzy(self, word: str) -> str:
        """The closest pattern-vocabulary word for an unknown word, within 1-2 edits."""
        k = self.k
        if len(word) < k.fuzzy_min_length or word in k.fuzzy_vocab_set or not k.fuzzy_vocab:
            return word
        known = self.known_words()
        if word in known or word in k.slang:
            return word
        limit = 2 if len(word) >= 9 else 1
        best, best_d = word, limit + 1
        for cand in k.fuzzy_vocab:
            if abs(len(cand) - len(word)) > limit or len(cand) < k.fuzzy_min_length - 1:
                continue
            d = _edit_distance_le(word, cand, limit)
            if d < best_d:
                best, best_d = cand, d
        return best if best_d <= limit else word


def _next_word(doc: Any, i: int) -> str:
    for j in range(i + 1, min(i + 3, len(doc))):
        if not doc[j].is_space:
            return doc[j].text.translate(APOSTROPHES).lower()
    return ""
