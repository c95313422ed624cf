"""Hypotheticals and general questions: "what if I get numbness?", "can facet pain cause a stroke?"."""

from __future__ import annotations

from typing import List

from components.red_flags.knowledge import Knowledge
from components.red_flags.matching import Match
from components.red_flags.sentences import Sentence, Span


def is_hypothetical(k: Knowledge, sent: Sentence, m: Match) -> bool:
    c_start, _ = sent.clause_range(m.start)
    first_clause_start = sent.clauses[0][0]

    def governs(sp: Span) -> bool:
        # before the match in its clause, or opening the sentence
        return (c_start <= sp[0] < m.start) or (sp[0] == first_clause_start and sp[0] < m.start)

    if m.pattern.category in k.intent_categories:
        # crisis wording is a report even inside a question or a "would be"
        # ("is it normal to feel like disappearing?"); only an explicit
        # conditional ("what if", "in case") makes it hypothetical
        return any(governs(sp) for sp in sent.cue_spans("cond_strong", k.cond_strong))
    sentence_modal = bool(k.modal_consequent and k.modal_consequent.search(sent.norm_view.text))
    questionish = sent.interrogative or sentence_modal

    for sp in sent.cue_spans("cond_strong", k.cond_strong):
        if governs(sp):
            return True
    if questionish:
        for sp in sent.cue_spans("cond_question", k.cond_question):
            if governs(sp):
                return True
        for pos in range(0, m.start):
            if sent.norms[pos] in k.if_words and governs((pos, pos + 1)):
                before = " ".join(sent.words(max(0, pos - 3), pos)) + " "
                if k.if_binders is not None and k.if_binders.search(before):
                    continue  # "not sure if ..." is a hedge, not a hypothetical
                if _intent_consequent(k, sent, m, pos):
                    continue  # "if the op fails I'll end it": a stated intent
                return True
    if sent.interrogative and not m.pattern.question_is_report and sent.cue_spans("general_question", k.general_question):
        if not _has_experiencer(k, sent, c_start, max(m.end, c_start)):
            return True
    return False


def confirmed_later(k: Knowledge, sents: List[Sentence], sent: Sentence) -> bool:
    """A later sentence says it is happening to the writer ("I've had one since Sunday")."""
    if k.confirmation is None:
        return False
    i = sents.index(sent)
    return any(k.confirmation.search(s.norm_view.text) for s in sents[i + 1 : i + 3])


def _has_experiencer(k: Knowledge, sent: Sentence, s: int, e: int) -> bool:
    """A first-person experiencer ("my", "I keep", "I've") between s and e, not an inverted "do I"."""
    if k.experiencer is None:
        return False
    for sp in sent.cue_spans("experiencer", k.experiencer):
        if not (s <= sp[0] < e):
            continue
        before = " ".join(sent.words(max(0, sp[0] - 1), sp[0]))
        if k.inverted_aux is not None and k.inverted_aux.search(before + " "):
            continue
        return True
    return False


def _intent_consequent(k: Knowledge, sent: Sentence, m: Match, if_pos: int) -> bool:
    """The match follows a first-person intent ("I'll", "I'm going to") that follows the "if"."""
    if k.intent_consequent is None or m.pattern.category not in k.intent_categories:
        return False
    return any(if_pos < sp[0] < m.start or sp[0] == m.start for sp in sent.cue_spans("intent_consequent", k.intent_consequent))
