"""Rule-based red-flag detection (pure Python + spaCy, no Rasa import).

`RedFlagDetector` reads the knowledge in `patterns.yml` (same folder) and runs
it over a spaCy `Doc` (or a text plus an `nlp`):

1. Each token gets a normalised form and a lemma (`normalise`); per sentence
   both are joined into views and cut into clauses (`sentences`).
2. Every category pattern is matched against both views (`matching`).
3. Every match is judged in its context (`context/`, in the order of `_judge`).
   Anything not suppressed fires. When in doubt the rules fire.

The result lists fired detections and suppressed mentions separately (`results`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

from components.red_flags.context.figures import is_figure_of_speech, uses_figures
from components.red_flags.context.hypothetical import confirmed_later, is_hypothetical
from components.red_flags.context.negation import is_denied, is_hedged
from components.red_flags.context.past import is_past_resolved
from components.red_flags.context.persons import asks_for_someone_else, happening_now, mentions_self, other_person_reason
from components.red_flags.knowledge import DEFAULT_PATTERNS_FILE, Knowledge, load_knowledge
from components.red_flags.matching import Match, find_matches
from components.red_flags.normalise import Normaliser, lemma_table, lowercase_keeping_offsets
from components.red_flags.results import (
    REASON_DENIED,
    REASON_EXPLAINED,
    REASON_FIGURE_OF_SPEECH,
    REASON_HYPOTHETICAL,
    REASON_OTHER_PERSON,
    REASON_PAST_RESOLVED,
    Detection,
    DetectionResult,
    SuppressedMention,
    merge_overlaps,
    sort_by_urgency,
)
from components.red_flags.sentences import Sentence, build_sentences

SpanKey = Tuple[str, int, int]  # category, start char, end char


class RedFlagDetector:
    """Rule-based red-flag detector over spaCy docs."""

    def __init__(self, patterns_file: Union[str, Path, None] = None, nlp: Any = None) -> None:
        self.patterns_file = Path(patterns_file or DEFAULT_PATTERNS_FILE)
        self.k: Knowledge = load_knowledge(self.patterns_file)
        self.nlp = nlp
        self.normaliser = Normaliser(self.k)

    def warm_up(self) -> "RedFlagDetector":
        """Load the word lists now (about 1 s) rather than on a patient's first turn."""
        self.normaliser.known_words()
        lemma_table()
        return self

    @property
    def categories(self) -> List[Dict[str, Any]]:
        return list(self.k.categories)

    def detect(self, doc_or_text: Any, nlp: Any = None) -> DetectionResult:
        """Run the rules over a spaCy Doc, or over a text with `nlp` (or self.nlp)."""
        if isinstance(doc_or_text, str):
            nlp = nlp or self.nlp
            if nlp is None:
                raise ValueError("RedFlagDetector.detect(text) needs an `nlp` (spaCy Language)")
            doc = nlp(lowercase_keeping_offsets(doc_or_text))
        else:
            doc = doc_or_text
        return self._detect_doc(doc)

    # -- one message
    def _detect_doc(self, doc: Any) -> DetectionResult:
        k = self.k
        text = doc.text
        sents = build_sentences(k, self.normaliser, doc)
        result = DetectionResult(text=text)
        if not sents:
            return result
        seen_self = False
        for s in sents:
            s.self_before = seen_self
            seen_self = seen_self or mentions_self(k, s)
        asking_for_other = asks_for_someone_else(k, sents)
        matches, explained = find_matches(k, sents)

        fired: Dict[SpanKey, Detection] = {}
        mentions: Dict[SpanKey, Detection] = {}
        suppressed: Dict[SpanKey, SuppressedMention] = {}
        for key, m in sorted(matches.items(), key=lambda kv: (kv[1].sent.idx, kv[1].start, -kv[1].end, kv[0][0])):
            sent = m.sent
            cat = m.pattern.category
            c0 = doc[sent.doc_tokens[m.start]].idx
            last = doc[sent.doc_tokens[m.end - 1]]
            c1 = last.idx + len(last.text)
            reason, about_other = (REASON_EXPLAINED, False) if key in explained else self._judge(sents, sent, m, asking_for_other)
            if reason is None:
                (mentions if m.pattern.mention_only else fired)[(cat, c0, c1)] = Detection(
                    category=cat,
                    urgency=m.pattern.urgency,
                    text=text[c0:c1],
                    start=c0,
                    end=c1,
                    pattern_id=m.pattern.pid,
                    hedged=is_hedged(k, sent, m),
                    about_other=about_other,
                )
            else:
                suppressed.setdefault(
                    (cat, c0, c1),
                    SuppressedMention(
                        category=cat,
                        urgency=m.pattern.urgency,
                        reason=reason,
                        text=text[c0:c1],
                        start=c0,
                        end=c1,
                        pattern_id=m.pattern.pid,
                    ),
                )
        result.figurative = uses_figures(k, sents)
        result.detections = sort_by_urgency(merge_overlaps(list(fired.values())))
        # a span that fired (or counts as a mention) under one pattern is not also "suppressed"
        result.suppressed = sorted(
            (s for key, s in suppressed.items() if key not in fired and key not in mentions), key=lambda s: (s.start, s.category)
        )
        fired_categories = {f.category for f in result.detections}
        result.mentions = sorted(
            (d for d in mentions.values() if d.category not in fired_categories),
            key=lambda d: (d.start, d.category),
        )
        return result

    # -- the order of the context rules
    def _judge(self, sents: List[Sentence], sent: Sentence, m: Match, asking_for_other: bool) -> Tuple[Optional[str], bool]:
        """(why the match is suppressed or None, whether it is someone else's sign now)."""
        k = self.k
        if is_figure_of_speech(k, sent, m):
            return REASON_FIGURE_OF_SPEECH, False
        person = other_person_reason(k, sent, m, asking_for_other)
        about_other = False
        if person == REASON_OTHER_PERSON:
            if is_past_resolved(k, sents, sent, m) or not happening_now(k, sent, m):
                return person, False
            about_other = True
        elif person is not None:
            return person, False
        return self._judge_self(sents, sent, m), about_other

    def _judge_self(self, sents: List[Sentence], sent: Sentence, m: Match) -> Optional[str]:
        k = self.k
        if is_past_resolved(k, sents, sent, m):
            return REASON_PAST_RESOLVED
        if is_hypothetical(k, sent, m) and not confirmed_later(k, sents, sent):
            return REASON_HYPOTHETICAL
        if not is_hedged(k, sent, m) and is_denied(k, sents, sent, m):
            return REASON_DENIED
        return None
