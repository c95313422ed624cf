"""Red-flag categories and their urgency, read from the detector's pattern file.

The pattern file (components/red_flags/patterns.yml) is the one place the
categories are defined; the dialogue, tickets and console all read it here.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Iterable, Optional

import yaml

from clinic_bot.settings import PROJECT_ROOT

PATTERNS_FILE = PROJECT_ROOT / "components" / "red_flags" / "patterns.yml"
UNSPECIFIED = "unspecified"
UNSPECIFIED_URGENCY = "urgent"  # an ML-only detection: advise both today and 'call now if severe'
URGENCY_RANK = {"emergency": 0, "crisis": 1, "urgent": 2, "routine": 3}


@lru_cache(maxsize=1)
def category_urgencies(path: Path = PATTERNS_FILE) -> Dict[str, str]:
    with Path(path).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    cats = data["categories"]
    items = cats.items() if isinstance(cats, dict) else ((c["id"], c) for c in cats)
    return {cid: spec["urgency"] for cid, spec in items}


def category_urgency(category: str) -> str:
    return category_urgencies().get(category, UNSPECIFIED_URGENCY)


def most_urgent(categories: Iterable[Optional[str]]) -> Optional[str]:
    present = [c for c in categories if c]
    if not present:
        return None
    return min(present, key=lambda c: URGENCY_RANK.get(category_urgency(c), 9))
