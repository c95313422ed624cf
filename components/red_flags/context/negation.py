"""Denials and hedges: "no numbness", "numbness? no", and "not sure if I can feel my legs".

Hedged wording counts as a report: a hedge before the match switches the
denial check off, and the detection is marked `hedged`.
"""

from __future__ import annotations

from typing import List, Optional

from components.red_flags.context.past import next_sentence
from components.red_flags.knowledge import Knowledge
from components.red_flags.matching import Match
from components.red_flags.sentences import Sentence

_NEGATION_TOKENS = frozenset({"not", "no", "never", "without", "nor", "none", "cannot", "neither", "nothing", "unable"})
_PUNCTUATION = (",", "?", ":", "-", ".", "!")


def is_hedged(k: Knowledge, sent: Sentence, m: Match) -> bool:
    c_start, _ = sent.clause_range(m.start)
    return any(c_start <= sp[0] < m.end for sp in sent.cue_spans("hedge", k.hedge))


def _intrinsically_negative(sent: Sentence, m: Match) -> bool:
    """The match itself carries the negation ("can't pee", "no feeling down there")."""
    return any(w in _NEGATION_TOKENS for w in sent.words(m.start, m.end))


def is_denied(k: Knowledge, sents: List[Sentence], sent: Sentence, m: Match) -> bool:
    if _intrinsically_negative(sent, m):
        return False
    return _denied_before(k, sent, m) or _denied_after(k, sents, sent, m)


def _denied_before(k: Knowledge, sent: Sentence, m: Match) -> bool:
    """A negation cue earlier in the clause reaches the match ("I don't have any bladder problems")."""
    c_start, _ = sent.clause_range(m.start)
    exc_starts = {sp[0] for sp in sent.cue_spans("neg_exceptions", k.neg_exceptions)}
    for cs, ce in sent.cue_spans("neg_pre", k.neg_pre):
        # the cue starts before the match; it may run into it ("not
        # THINKING OF harming myself" vs the match "thinking of harming myself")
        if cs in exc_starts or not (c_start <= cs < m.start and ce <= m.end):
            continue
        between = list(range(ce, m.start))
        words = [sent.norms[p] for p in between if sent.norms[p]]
        if len(words) > k.neg_max_distance:
            continue
        if not any(_breaks_scope(k, sent, p) for p in between if sent.norms[p]):
            return True
    return False


def _breaks_scope(k: Knowledge, sent: Sentence, p: int) -> bool:
    """A new subject, verb or conjunction that ends a negation's reach."""
    first = sent.norms[p].split(" ")[0]
    return first in k.neg_terminators or first in k.neg_subject_breakers or first in k.neg_scope_breakers or sent.lemmas[p] in k.neg_scope_breakers


def _denied_after(k: Knowledge, sents: List[Sentence], sent: Sentence, m: Match) -> bool:
    """A bare denial right after the match: "numbness? no", "bladder problems - none", "my balance is fine"."""
    if k.neg_post is None:
        return False
    _, c_end = sent.clause_range(m.start)
    rest_words = sent.words(m.end, c_end)
    rest = " ".join(rest_words)
    if k.neg_post_normal is not None and k.neg_post_normal.match(rest):
        return True
    if rest_words and k.neg_post.match(rest):
        return True
    if not [w for w in rest_words if w not in _PUNCTUATION]:
        # nothing but punctuation left in the clause: the answer may be the next clause or sentence
        nxt_text = _next_clause_text(sents, sent, m)
        if nxt_text and k.neg_post.match(nxt_text):
            return True
    return False


def _next_clause_text(sents: List[Sentence], sent: Sentence, m: Match) -> Optional[str]:
    cid = sent.clause_of[m.start]
    if cid + 1 < len(sent.clauses):
        ns, ne = sent.clauses[cid + 1]
        return " ".join(sent.words(ns, ne))
    nxt = next_sentence(sents, sent)
    return nxt.norm_view.text if nxt is not None else None
