"""What a benchmark conversation looks like.

The wording comes from data that is never trained on, so the NLU does real
work rather than recalling its training examples:

* tests/nlu/heldout.yml: greetings, FAQ questions (every topic, several
  wordings each), "tell me more" follow-ups, opening-hours and booking
  questions, thanks, goodbyes;
* tests/red_flags/dev_set.yml: red-flag reports (kind: positive).

A conversation: a greeting, then 4-8 turns mixing FAQ questions, "tell me more"
follow-ups after an answer, clinic-hours/booking questions, and at the end a
thank-you or goodbye. Each turn after the greeting is a red flag with
probability `red_flag_rate` (~5% of all turns); a red flag puts the
conversation into handoff, so the simulated person stops there and the next
conversation starts with a new sender id.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[1]
HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
RED_FLAG_SET = ROOT / "tests" / "red_flags" / "dev_set.yml"
FALLBACK_MORE = ["tell me more", "can you explain that in more detail?"]


@dataclass(frozen=True)
class Turn:
    kind: str  # greet | faq | more | clinic | thanks | goodbye | red_flag
    text: str


@dataclass
class Phrasebook:
    by_intent: Dict[str, List[str]]
    faq: List[Tuple[str, str]]  # (topic, text)
    red_flags: List[str]
    sources: Dict[str, str] = field(default_factory=dict)

    def pick(self, rng: random.Random, intent: str, fallback: List[str]) -> str:
        return rng.choice(self.by_intent.get(intent) or fallback)


def _examples(block: str) -> List[str]:
    out = []
    for line in (block or "").splitlines():
        line = line.strip()
        if line.startswith("- "):
            out.append(line[2:].strip())
    return [x for x in out if x]


def load_phrasebook() -> Phrasebook:
    data = yaml.safe_load(HELDOUT.read_text())
    by_intent: Dict[str, List[str]] = {}
    faq: List[Tuple[str, str]] = []
    for item in data.get("nlu", []):
        intent = item.get("intent")
        if not intent:
            continue
        examples = _examples(item.get("examples", ""))
        if intent.startswith("faq/"):
            faq.extend((intent.split("/", 1)[1], e) for e in examples)
        else:
            by_intent.setdefault(intent, []).extend(examples)
    red_flags: List[str] = []
    if RED_FLAG_SET.exists():
        for entry in yaml.safe_load(RED_FLAG_SET.read_text()) or []:
            if isinstance(entry, dict) and entry.get("kind") == "positive" and entry.get("text"):
                red_flags.append(str(entry["text"]))
    if not red_flags:  # never empty: the red-flag path must be exercised
        red_flags = ["since last night i cant tell when i need a wee and it's numb down below"]
    if not faq:
        raise SystemExit(f"no FAQ questions found in {HELDOUT}")
    return Phrasebook(
        by_intent, faq, red_flags, sources={"questions": str(HELDOUT.relative_to(ROOT)), "red flags": str(RED_FLAG_SET.relative_to(ROOT))}
    )


def conversation(rng: random.Random, book: Phrasebook, red_flag_rate: float = 0.066) -> Iterator[Turn]:
    """One scripted conversation; stops after a red flag (handoff)."""
    yield Turn("greet", book.pick(rng, "greet", ["hello"]))
    answered_faq = False
    for _ in range(rng.randint(4, 8)):
        if rng.random() < red_flag_rate:
            yield Turn("red_flag", rng.choice(book.red_flags))
            return
        r = rng.random()
        if answered_faq and r < 0.25:
            yield Turn("more", book.pick(rng, "more_info", FALLBACK_MORE) if rng.random() < 0.5 else rng.choice(FALLBACK_MORE))
            answered_faq = False
        elif r < 0.40:
            intent = "clinic_hours" if rng.random() < 0.7 else "clinic_booking"
            yield Turn("clinic", book.pick(rng, intent, ["what are your opening hours?"]))
            answered_faq = False
        else:
            yield Turn("faq", rng.choice(book.faq)[1])
            answered_faq = True
    if rng.random() < 0.5:
        yield Turn("thanks", book.pick(rng, "thank", ["thanks"]))
    else:
        yield Turn("goodbye", book.pick(rng, "goodbye", ["bye"]))
