"""Where the category patterns match, before any context rule is asked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Set, Tuple

from components.red_flags.knowledge import Knowledge, Pattern
from components.red_flags.sentences import Sentence

MatchKey = Tuple[str, int, int, int]  # pattern id, sentence idx, start, end


@dataclass
class Match:
    pattern: Pattern
    sent: Sentence
    start: int  # sentence positions
    end: int


def find_matches(k: Knowledge, sents: List[Sentence]) -> Tuple[Dict[MatchKey, Match], Set[MatchKey]]:
    """Every (pattern, sentence, span) hit on either view, and the keys of those a pattern's `unless` explains.

    Several patterns may hit the same words and each is judged on its own (e.g.
    only some carry history_is_flag). An explained match never fires; it is kept
    as a suppressed mention so the component can overrule an ML-only red flag on it.
    """
    views = [s.norm_view.text for s in sents] + [s.lemma_view.text for s in sents]
    requirement_met: Dict[str, bool] = {}

    def met(name: str) -> bool:
        if name not in requirement_met:
            rx = k.requirements[name]
            requirement_met[name] = any(rx.search(v) for v in views)
        return requirement_met[name]

    matches: Dict[MatchKey, Match] = {}
    explained: Set[MatchKey] = set()
    for sent in sents:
        for pat in k.patterns:
            if pat.requires and not any(met(r) for r in pat.requires):
                continue
            found = False
            for view in (sent.norm_view, sent.lemma_view):
                for mm in pat.regex.finditer(view.text):
                    s, e = view.tokens_for(mm.start(), mm.end())
                    if s < 0:
                        continue
                    key = (pat.pid, sent.idx, s, e)
                    if key not in matches:
                        matches[key] = Match(pat, sent, s, e)
                        if pat.unless is not None and (pat.unless.search(sent.norm_view.text) or pat.unless.search(sent.lemma_view.text)):
                            explained.add(key)
                            found = True
                            break
                if found:
                    break
    return matches, explained
