"""Figures of speech built on red-flag words ("paralysed with fear", "dead tired")."""

from __future__ import annotations

from typing import List

from components.red_flags.knowledge import Knowledge
from components.red_flags.matching import Match
from components.red_flags.sentences import Sentence


def is_figure_of_speech(k: Knowledge, sent: Sentence, m: Match) -> bool:
    """The match overlaps an idiom."""
    return any(s < m.end and m.start < e for s, e in sent.cue_spans("figures", k.figures))


def uses_figures(k: Knowledge, sents: List[Sentence]) -> bool:
    """Any sentence has an idiom: evidence against an ML-only red flag."""
    return any(s.cue_spans("figures", k.figures) for s in sents)
