"""Past and resolved: "I had a fall ten years ago", "numbness last year but it went away"."""

from __future__ import annotations

from typing import List, Optional

from components.red_flags.knowledge import Knowledge
from components.red_flags.matching import Match
from components.red_flags.sentences import Sentence, Span


def next_sentence(sents: List[Sentence], sent: Sentence) -> Optional[Sentence]:
    i = sents.index(sent)
    return sents[i + 1] if i + 1 < len(sents) else None


def is_past_resolved(k: Knowledge, sents: List[Sentence], sent: Sentence, m: Match) -> bool:
    """Long over, unless ongoing or recurring; never for signs whose history is the flag."""
    if m.pattern.history_is_flag:
        return False
    c_start, c_end = sent.clause_range(m.start)

    def in_clause(spans: List[Span]) -> List[Span]:
        return [sp for sp in spans if c_start <= sp[0] < c_end]

    ongoing = in_clause(sent.cue_spans("ongoing", k.ongoing))
    # recurrence anywhere after the match in this sentence or the next one
    recur = [sp for sp in sent.cue_spans("recurrence", k.recurrence) if sp[0] >= m.start]
    nxt = next_sentence(sents, sent)
    if nxt is not None and nxt.cue_spans("recurrence", k.recurrence):
        recur = recur + [(-1, -1)]
    if ongoing or recur:
        return False
    if in_clause(sent.cue_spans("past_strong", k.past_strong)):
        return True
    # "a dark time eight years ago and had thoughts of ...": a long-ago cue earlier
    # in the sentence covers a later clause told in the past tense
    if in_clause(sent.cue_spans("past_verb", k.past_verb)) and any(sp[0] < c_start for sp in sent.cue_spans("past_strong", k.past_strong)):
        return True
    resolved = [
        sp for sp in sent.cue_spans("resolution", k.resolution) if sp[0] >= m.end or (sp[0] >= c_start and sp[0] >= m.start and sp[1] > m.end)
    ]
    if not resolved and nxt is not None:
        nres = nxt.cue_spans("resolution", k.resolution)
        if nres and nres[0][0] <= 2:
            resolved = nres
    return bool(resolved)
