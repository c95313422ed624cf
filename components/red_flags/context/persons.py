"""Whose sign is it: the writer's, someone else's history, or a carer's report of now."""

from __future__ import annotations

from typing import Iterable, List, Optional

from components.red_flags.knowledge import Knowledge
from components.red_flags.matching import Match
from components.red_flags.results import REASON_HYPOTHETICAL, REASON_OTHER_PERSON
from components.red_flags.sentences import PersonRef, Sentence, Span

_OTHER_KINDS = ("other", "other_weak", "other_named")
# words that may open a clause before its subject ("and my dad ...")
_CLAUSE_LEAD_INS = ("and", "but", "so", "also", "then", ",", "plus")


def _overlaps(a: Span, spans: Iterable[Span]) -> bool:
    return any(a[0] < b[1] and b[0] < a[1] for b in spans)


def person_refs(k: Knowledge, sent: Sentence) -> List[PersonRef]:
    """(start, end, kind) for person references in the sentence, kind in self/other/generic.

    Computed once per sentence; needs `sent.self_before` set first.
    """
    if sent.person_refs is not None:
        return sent.person_refs
    selfs = sent.cue_spans("person_self", k.person_self)
    others = sent.cue_spans("person_other", k.person_other)
    generics = sent.cue_spans("person_generic", k.person_generic)
    refs: List[PersonRef] = []
    group_self = [(s, e) for s, e in selfs if e - s > 1]
    single_self = [(s, e) for s, e in selfs if e - s == 1]

    kept_other = [o for o in others if not _overlaps(o, group_self)]
    refs += [(s, e, "self") for s, e in group_self]
    refs += [(s, e, "other") for s, e in kept_other]
    refs += [(s, e, "self") for s, e in single_self if not _overlaps((s, e), kept_other + group_self)]
    refs += [(s, e, "generic") for s, e in generics if not _overlaps((s, e), kept_other + group_self + single_self)]
    # first names: someone else in their own clause (never carried over)
    for s, e in sent.cue_spans("person_other_named", k.person_other_named):
        if not _overlaps((s, e), [(r[0], r[1]) for r in refs]):
            refs.append((s, e, "other_named"))
    # they/them/their: someone else only if the writer has not mentioned
    # anything of their own before it (it could be "my legs ... they")
    self_starts = [r[0] for r in refs if r[2] == "self"]
    for s, e in sent.cue_spans("person_other_weak", k.person_other_weak):
        if sent.self_before or any(p < s for p in self_starts) or _overlaps((s, e), [(r[0], r[1]) for r in refs]):
            continue
        refs.append((s, e, "other_weak"))
    refs.sort()
    sent.person_refs = refs
    return refs


def mentions_self(k: Knowledge, sent: Sentence) -> bool:
    return any(r[2] == "self" for r in person_refs(k, sent))


def asks_for_someone_else(k: Knowledge, sents: List[Sentence]) -> bool:
    """The message says it is asking on someone else's behalf ("asking for my mum")."""
    return bool(k.asking_for and any(k.asking_for.search(s.norm_view.text) for s in sents))


def other_person_reason(k: Knowledge, sent: Sentence, m: Match, asking_for_other: bool) -> Optional[str]:
    """REASON_OTHER_PERSON if the sign is someone else's, REASON_HYPOTHETICAL for a
    question about people in general, else None (the writer's own)."""
    refs = person_refs(k, sent)
    c_start, _ = sent.clause_range(m.start)
    in_clause = [r for r in refs if c_start <= r[0] < m.end]
    before = [r for r in in_clause if r[0] <= m.start]
    if before and before[-1][2] == "self":
        # someone named INSIDE the match after the writer ("I've written
        # letters to my kids") is the object, not the person it happens to
        kind: Optional[str] = "self"
    elif in_clause:
        kind = in_clause[-1][2]
    else:
        kind = _carried_over_subject(sent, m, refs)
        if kind is None and asking_for_other:
            if not any(r[2] == "self" for r in refs if r[0] < m.end):
                kind = "other"
    if kind in _OTHER_KINDS:
        return REASON_OTHER_PERSON
    if kind == "generic" and sent.interrogative:
        return REASON_HYPOTHETICAL
    return None


def _carried_over_subject(sent: Sentence, m: Match, refs: List[PersonRef]) -> Optional[str]:
    """ "other" when the nearest earlier clause with a person opens with someone else
    ("my dad ..."), who is then the subject of the match's clause too."""
    cid = sent.clause_of[m.start]
    for prev in range(cid - 1, -1, -1):
        ps, pe = sent.clauses[prev]
        prefs = [r for r in refs if ps <= r[0] < pe]
        if prefs:
            lead = ps
            while lead < pe and (not sent.norms[lead] or sent.norms[lead] in _CLAUSE_LEAD_INS):
                lead += 1
            if prefs[0][2] == "other" and prefs[0][0] == lead and all(r[2] != "self" for r in prefs):
                return "other"
            return None
    return None


def happening_now(k: Knowledge, sent: Sentence, m: Match) -> bool:
    """Someone else's sign is current ("dad's legs keep giving way since this morning")."""
    if sent.cue_spans("carer_now_strong", k.carer_now_strong):
        return True
    c_start, c_end = sent.clause_range(m.start)
    history = [sp for sp in sent.cue_spans("carer_history", k.carer_history) if c_start <= sp[0] < c_end]
    now = sent.cue_spans("carer_now", k.carer_now)
    return bool(now) and not history
