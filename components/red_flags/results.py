"""What the detector reports: signs that fired, mentions that did not and why.

Ordering by urgency reads the one safety table (config/safety.yml), so the
detector, the dialogue and tickets agree on what is most urgent.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict, Iterable, List, Optional

from clinic_bot.safety import load_table

# why a mention did not fire
REASON_DENIED = "denied"
REASON_OTHER_PERSON = "other_person"
REASON_PAST_RESOLVED = "past_resolved"
REASON_HYPOTHETICAL = "hypothetical"
# the sign is explained by a benign context named in the pattern's `unless`
# (weight lost on a diet, tablets taken as prescribed)
REASON_EXPLAINED = "explained"
# an everyday idiom built on a red-flag word ("on my last legs", "bored to death")
REASON_FIGURE_OF_SPEECH = "figure_of_speech"


@dataclass(frozen=True)
class Detection:
    """A red flag that fired."""

    category: str
    urgency: str
    text: str
    start: int
    end: int
    pattern_id: str = ""
    hedged: bool = False
    # a carer or relative reporting someone else's sign happening now
    about_other: bool = False

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SuppressedMention:
    """A red-flag mention that did not fire, and why."""

    category: str
    urgency: str
    reason: str  # one of the REASON_* constants
    text: str
    start: int
    end: int
    pattern_id: str = ""

    def as_dict(self) -> Dict[str, Any]:
        return asdict(self)


@dataclass
class DetectionResult:
    text: str
    detections: List[Detection] = field(default_factory=list)
    suppressed: List[SuppressedMention] = field(default_factory=list)
    # bare topic words ("bladder", "fall") in a reporting context: not enough to
    # fire, but evidence against overruling an ML-only red flag
    mentions: List[Detection] = field(default_factory=list)
    # the message uses an everyday figure of speech built on a red-flag word
    # ("dead tired", "dying to know"): evidence against an ML-only red flag
    figurative: bool = False

    @property
    def fired(self) -> bool:
        return bool(self.detections)

    @property
    def categories(self) -> List[str]:
        """Fired categories, most urgent first, each once."""
        seen: List[str] = []
        for det in sort_by_urgency(self.detections):
            if det.category not in seen:
                seen.append(det.category)
        return seen

    @property
    def about_other(self) -> bool:
        """Every fired sign is someone else's, happening now (a carer writing)."""
        return bool(self.detections) and all(d.about_other for d in self.detections)

    @property
    def suppressed_reasons(self) -> List[str]:
        seen: List[str] = []
        for mention in self.suppressed:
            if mention.reason not in seen:
                seen.append(mention.reason)
        return seen

    def first_per_category(self) -> List[Detection]:
        """One detection per fired category (its earliest span), most urgent first."""
        best: Dict[str, Detection] = {}
        for det in self.detections:
            if det.category not in best or det.start < best[det.category].start:
                best[det.category] = det
        return sort_by_urgency(best.values())

    def as_dict(self) -> Dict[str, Any]:
        return {
            "text": self.text,
            "fired": self.fired,
            "categories": self.categories,
            "detections": [d.as_dict() for d in self.detections],
            "suppressed": [s.as_dict() for s in self.suppressed],
            "mentions": [m.as_dict() for m in self.mentions],
            "figurative": self.figurative,
        }


def urgency_rank(urgency: Optional[str]) -> int:
    return load_table().rank_of_urgency(urgency)


def sort_by_urgency(detections: Iterable[Detection]) -> List[Detection]:
    """Stable sort: emergency > crisis > urgent, then by position in the text."""
    return sorted(detections, key=lambda d: (urgency_rank(d.urgency), d.start))


def most_urgent(detections: Iterable[Detection]) -> Optional[Detection]:
    """The most urgent detection (emergency > crisis > urgent), or None."""
    ordered = sort_by_urgency(detections)
    return ordered[0] if ordered else None


def merge_overlaps(dets: List[Detection]) -> List[Detection]:
    """Per category, keep one detection per overlapping group (the longest)."""
    out: List[Detection] = []
    by_cat: Dict[str, List[Detection]] = {}
    for d in dets:
        by_cat.setdefault(d.category, []).append(d)
    for items in by_cat.values():
        items.sort(key=lambda d: (d.start, -(d.end - d.start)))
        group: List[Detection] = []
        group_end = -1
        for d in items:
            if group and d.start < group_end:
                group.append(d)
                group_end = max(group_end, d.end)
                continue
            if group:
                out.append(max(group, key=lambda x: (x.end - x.start, -x.start)))
            group, group_end = [d], d.end
        if group:
            out.append(max(group, key=lambda x: (x.end - x.start, -x.start)))
    return out
