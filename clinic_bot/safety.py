"""The red-flag table (config/safety.yml) and the three-way safety decision.

One place decides, for every message, whether the assistant escalates (safety
advice, ticket, handoff), asks one short safety question first (weak evidence),
or carries on. The NLU component calls `decide`; the dialogue, tickets and the
console read categories and urgencies from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

import yaml

from clinic_bot.settings import PROJECT_ROOT

TABLE_FILE = PROJECT_ROOT / "config" / "safety.yml"
UNSPECIFIED = "unspecified"
CRISIS_CATEGORY = "self_harm"

ESCALATE = "escalate"
CHECK = "check"
CONTINUE = "continue"

ABOUT_SELF = "self"
ABOUT_OTHER = "other"


@dataclass(frozen=True)
class SafetyTable:
    urgency_rank: Dict[str, int]
    marked_urgencies: frozenset
    category_urgency: Dict[str, str]
    ml_escalate: float
    ml_check: float

    def urgency_of(self, category: Optional[str]) -> str:
        return self.category_urgency.get(category or UNSPECIFIED, self.category_urgency[UNSPECIFIED])

    def rank_of_urgency(self, urgency: Optional[str]) -> int:
        return self.urgency_rank.get(urgency or "", len(self.urgency_rank))

    def most_urgent(self, categories: Iterable[Optional[str]]) -> Optional[str]:
        present = [c for c in categories if c]
        if not present:
            return None
        return min(present, key=lambda c: self.rank_of_urgency(self.urgency_of(c)))


@lru_cache(maxsize=4)
def load_table(path: Path = TABLE_FILE) -> SafetyTable:
    with Path(path).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    urgencies = data["urgencies"]
    cats = data["categories"]
    for cid, spec in cats.items():
        if spec["urgency"] not in urgencies:
            raise ValueError(f"{path}: category {cid} has unknown urgency {spec['urgency']!r}")
    if UNSPECIFIED not in cats:
        raise ValueError(f"{path}: the table needs an {UNSPECIFIED!r} category")
    decision = data.get("decision") or {}
    return SafetyTable(
        urgency_rank={u: int(s["rank"]) for u, s in urgencies.items()},
        marked_urgencies=frozenset(u for u, s in urgencies.items() if s.get("marked")),
        category_urgency={c: s["urgency"] for c, s in cats.items()},
        ml_escalate=float(decision.get("ml_escalate", 0.85)),
        ml_check=float(decision.get("ml_check", 0.3)),
    )


def message_urgency(message: Any) -> Optional[str]:
    """The urgency of one outgoing bot message, or None: the one place that knows where it rides.

    Safety responses (domain/safety.yml) carry it in the response's `metadata`
    (`metadata: {urgency: emergency}`). Rasa 3.6 keeps a response's extra keys in
    `BotUttered.metadata` and `BotUttered.message()` hands them to every output
    channel's `send_response`, so `message["metadata"]["urgency"]` is what the
    channels read; the same shape is what our socket.io and REST channels send on.
    It is not in `custom`: standard clients (rasa-webchat, Rasa's own REST and
    socket.io outputs) drop or mangle a message that has a `custom` part, and
    the safety advice would not be shown.
    """
    metadata = message.get("metadata") if isinstance(message, Mapping) else None
    urgency = metadata.get("urgency") if isinstance(metadata, Mapping) else None
    if not isinstance(urgency, str):
        return None
    return urgency.strip().lower() or None


@dataclass(frozen=True)
class Evidence:
    """What the two layers saw in one message."""

    # categories the rules fired on, most urgent first
    rule_categories: Sequence[str] = ()
    # True when every fired rule match is about someone else happening now (a carer's report)
    about_other: bool = False
    # the rules saw crisis wording that did not fire on its own (e.g. a bare "suicidal")
    crisis_mention: bool = False
    # the rules saw red-flag wording only as denied / past / someone else's history / figure of speech
    only_suppressed: bool = False
    # the message holds an everyday figure of speech built on a red-flag word ("dead tired")
    figurative: bool = False
    # the ML layer's confidence in report_red_flag, and its rank among intents (1 = top)
    ml_confidence: float = 0.0
    ml_rank: int = 99


@dataclass(frozen=True)
class Decision:
    action: str
    category: Optional[str] = None
    urgency: Optional[str] = None
    about: str = ABOUT_SELF
    reasons: List[str] = field(default_factory=list)

    def as_dict(self) -> Dict[str, object]:
        return {"action": self.action, "category": self.category, "urgency": self.urgency, "about": self.about, "reasons": list(self.reasons)}


def decide(evidence: Evidence, table: Optional[SafetyTable] = None) -> Decision:
    """Escalate on a clear sign, check on weak evidence, otherwise continue."""
    t = table or load_table()
    about = ABOUT_OTHER if evidence.about_other else ABOUT_SELF
    if evidence.rule_categories:
        category = t.most_urgent(evidence.rule_categories)
        return Decision(ESCALATE, category, t.urgency_of(category), about, ["rule"])
    if evidence.crisis_mention and evidence.ml_rank <= 2 and evidence.ml_confidence >= t.ml_check:
        # crisis language never gets only a check
        return Decision(ESCALATE, CRISIS_CATEGORY, t.urgency_of(CRISIS_CATEGORY), ABOUT_SELF, ["ml", "crisis wording"])
    if evidence.only_suppressed:
        return Decision(CONTINUE, reasons=["rules saw only denied, past, other-history or figurative mentions"])
    if evidence.figurative and evidence.ml_rank <= 2:
        return Decision(CONTINUE, reasons=["a figure of speech, and no rule match"])
    if evidence.ml_rank == 1 and evidence.ml_confidence >= t.ml_escalate:
        return Decision(ESCALATE, UNSPECIFIED, t.urgency_of(UNSPECIFIED), ABOUT_SELF, ["ml confident"])
    if evidence.ml_rank <= 2 and evidence.ml_confidence >= t.ml_check:
        return Decision(CHECK, reasons=[f"ml unsure ({evidence.ml_confidence:.2f}, rank {evidence.ml_rank})"])
    return Decision(CONTINUE)
