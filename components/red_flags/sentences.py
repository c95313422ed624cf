"""Sentences and clauses: the units the context rules judge a match in.

Each sentence keeps two views - its normalised words and their lemmas joined
by single spaces - that the regexes run over, with a map from every character
back to the sentence position, and its cut into clauses (at "but", ";",
", I ...", "and my ..."), since a negation or a "my dad" reaches only as far as
its clause.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

from components.red_flags.knowledge import Knowledge
from components.red_flags.normalise import Normaliser

Span = Tuple[int, int]  # sentence positions, end exclusive
PersonRef = Tuple[int, int, str]  # span and kind (self, other, generic, other_named, other_weak)


@dataclass
class View:
    text: str
    char_tok: List[int]  # for each char of text: sentence-token position, or -1

    def tokens_for(self, start: int, end: int) -> Span:
        toks = [t for t in self.char_tok[start:end] if t >= 0]
        if not toks:
            return -1, -1
        return toks[0], toks[-1] + 1


def _build_view(words: Sequence[str], glue: Optional[Sequence[bool]] = None) -> View:
    """Join words with single spaces (no space before a word whose glue flag is set)."""
    parts: List[str] = []
    char_tok: List[int] = []
    for pos, word in enumerate(words):
        if not word:
            continue
        if parts and not (glue and glue[pos]):
            parts.append(" ")
            char_tok.append(-1)
        parts.append(word)
        char_tok.extend([pos] * len(word))
    return View("".join(parts), char_tok)


@dataclass
class Sentence:
    idx: int
    doc_tokens: List[int]  # doc token index for each sentence position
    norms: List[str]
    lemmas: List[str]
    clause_of: List[int]  # clause id per position
    clauses: List[Span]  # (start, end) positions
    norm_view: View
    lemma_view: View
    interrogative: bool
    cues: Dict[str, List[Span]] = field(default_factory=dict)
    person_refs: Optional[List[PersonRef]] = None  # filled once by context.persons
    # the writer referred to themselves in an earlier sentence ("My legs are weak.")
    self_before: bool = False

    def cue_spans(self, name: str, rx: Optional["re.Pattern[str]"]) -> List[Span]:
        """Where a cue list matches the normalised view (cached per sentence under `name`)."""
        if rx is None:
            return []
        if name not in self.cues:
            spans = []
            for m in rx.finditer(self.norm_view.text):
                s, e = self.norm_view.tokens_for(m.start(), m.end())
                if s >= 0:
                    spans.append((s, e))
            self.cues[name] = spans
        return self.cues[name]

    def clause_range(self, pos: int) -> Span:
        return self.clauses[self.clause_of[pos]]

    def words(self, s: int, e: int) -> List[str]:
        """The normalised words between two positions ("can not" counts as two)."""
        out: List[str] = []
        for w in self.norms[s:e]:
            if w:
                out.extend(w.split(" "))
        return out


def build_sentences(k: Knowledge, normaliser: Normaliser, doc: Any) -> List[Sentence]:
    """The doc's non-empty sentences with their views and clauses."""
    all_norms, all_lemmas = normaliser.token_forms(doc)
    sentences: List[Sentence] = []
    for idx, positions in enumerate(_sentence_spans(doc)):
        norms = [all_norms[i] for i in positions]
        lemmas = [all_lemmas[i] for i in positions]
        if not any(norms):
            continue
        clauses = _clauses(k, doc, positions, norms)
        # intra-word hyphens ("rear-ended", "self-harm") stay glued to their neighbours
        glue = [False] * len(positions)
        for p, i in enumerate(positions):
            tok = doc[i]
            if tok.text == "-" and 0 < p < len(positions) - 1 and not doc[i - 1].whitespace_ and not tok.whitespace_:
                glue[p] = True
                glue[p + 1] = True
        clause_of = [0] * len(positions)
        for cid, (s, e) in enumerate(clauses):
            for p in range(s, e):
                clause_of[p] = cid
        sentences.append(
            Sentence(
                idx=idx,
                doc_tokens=positions,
                norms=norms,
                lemmas=lemmas,
                clause_of=clause_of,
                clauses=clauses,
                norm_view=_build_view(norms, glue),
                lemma_view=_build_view(lemmas, glue),
                interrogative=_interrogative(k, norms),
            )
        )
    return sentences


def _interrogative(k: Knowledge, norms: List[str]) -> bool:
    """A question mark, or a question word first ("is it ...", but not "is not ...")."""
    content = [w for w in norms if w]
    first = content[0].split(" ")[0] if content else ""
    second = content[1].split(" ")[0] if len(content) > 1 else ""
    return "?" in "".join(w for w in norms if w and set(w) <= set("?!.")) or (first in k.question_starters and second not in ("not", "n't"))


def _sentence_spans(doc: Any) -> List[List[int]]:
    """Doc token indexes per sentence; line breaks and "?!" runs also end one."""
    spans: List[List[int]] = []
    if doc.has_annotation("SENT_START"):
        raw = [list(range(s.start, s.end)) for s in doc.sents]
    else:
        raw, cur = [], []
        for tok in doc:
            cur.append(tok.i)
            if tok.text in (".", "!", "?") or set(tok.text) <= set(".!?") and tok.text:
                raw.append(cur)
                cur = []
        if cur:
            raw.append(cur)
    for sent in raw:
        cur = []
        for i in sent:
            tok = doc[i]
            if tok.is_space:
                if "\n" in tok.text and cur:
                    spans.append(cur)
                    cur = []
                continue
            cur.append(i)
            # sentencizer misses "?!"-runs glued to the next word and "..." mid-line
            if tok.text.count("?") >= 1 and tok.text.strip("?!") == "" and i != sent[-1]:
                spans.append(cur)
                cur = []
        if cur:
            spans.append(cur)
    return spans


def _clauses(k: Knowledge, doc: Any, positions: List[int], norms: List[str]) -> List[Span]:
    n = len(positions)
    starts = {0}
    for p in range(n):
        w = norms[p]
        if w in k.clause_break_tokens or (w == "-" and p > 0 and doc[positions[p - 1]].whitespace_):
            starts.add(p + 1)
        elif w in k.contrast_words and p > 0:
            starts.add(p)
        elif w in k.joiners and p + 1 < n:
            nxt = norms[p + 1].split(" ")[0] if norms[p + 1] else ""
            if nxt in k.clause_starters:
                starts.add(p + 1)
    cuts = sorted(s for s in starts if s < n)
    bounds = []
    for i, s in enumerate(cuts):
        e = cuts[i + 1] if i + 1 < len(cuts) else n
        if e > s:
            bounds.append((s, e))
    return bounds or [(0, n)]
