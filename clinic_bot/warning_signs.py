"""Warning-sign wording for patients, generated from the one red-flag table.

The FAQ answers list warning signs and what to do about them. Both come from
config/safety.yml: the signs from each category's patient wording, the advice
from the category's urgency, so the answers and the safety layer cannot drift
apart. An urgency changed in the table moves its signs to the other advice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Tuple

import yaml

from clinic_bot.safety import TABLE_FILE, UNSPECIFIED, SafetyTable, load_table

SLOT_PREFIX = "warning_signs_"
NECK_SLOT = "warning_signs_neck"


@dataclass(frozen=True)
class Wording:
    advice: Dict[str, Dict[str, str]]  # urgency -> {"lead": ..., "after": ...}
    signs: Dict[str, Tuple[str, ...]]  # category -> bullets
    neck: Tuple[str, ...]  # categories the neck answer lists


def load_wording(path: Path = TABLE_FILE, table: Optional[SafetyTable] = None) -> Wording:
    """The `warning_signs` block of the table file, checked against its categories."""
    table = table or load_table(path)
    with Path(path).open(encoding="utf-8") as fh:
        raw = (yaml.safe_load(fh) or {}).get("warning_signs") or {}
    wording = Wording(
        advice={u: dict(v or {}) for u, v in (raw.get("advice") or {}).items()},
        signs={c: tuple(b) for c, b in (raw.get("categories") or {}).items()},
        neck=tuple(raw.get("neck") or ()),
    )
    categories = set(table.category_urgency) - {UNSPECIFIED}
    if set(wording.signs) != categories:
        raise ValueError(
            f"{path}: warning_signs.categories must word every category but {UNSPECIFIED} "
            f"(missing {sorted(categories - set(wording.signs))}, unknown {sorted(set(wording.signs) - categories)})"
        )
    for category in categories:
        urgency = table.urgency_of(category)
        if not wording.signs[category] or not wording.advice.get(urgency, {}).get("lead"):
            raise ValueError(f"{path}: {category} needs bullets, and its urgency {urgency} needs advice.lead")
    if not set(wording.neck) <= categories:
        raise ValueError(f"{path}: warning_signs.neck names unknown categories {sorted(set(wording.neck) - categories)}")
    return wording


def block(urgency: str, values: Mapping[str, str], table: SafetyTable, wording: Wording, only: Optional[Iterable[str]] = None) -> str:
    """'<what to do> if you have:' and the bullets of every category at this urgency (table order)."""
    keep = set(only) if only is not None else None
    bullets = [
        f"• {b}"
        for category, u in table.category_urgency.items()
        if u == urgency and category in wording.signs and (keep is None or category in keep)
        for b in wording.signs[category]
    ]
    if not bullets:
        return ""
    advice = wording.advice[urgency]
    lines = [advice["lead"].format_map(values), *bullets]
    if advice.get("after"):
        lines.append(advice["after"].format_map(values))
    return "\n".join(lines)


def slots(values: Mapping[str, str], table: Optional[SafetyTable] = None, wording: Optional[Wording] = None) -> Dict[str, str]:
    """`warning_signs_<urgency>` for every urgency, and `warning_signs_neck`, filled with the locale's values."""
    table = table or load_table()
    wording = wording or load_wording(table=table)
    ranked = sorted(table.urgency_rank, key=table.rank_of_urgency)
    out = {f"{SLOT_PREFIX}{u}": block(u, values, table, wording) for u in ranked}
    out[NECK_SLOT] = "\n".join(b for b in (block(u, values, table, wording, only=wording.neck) for u in ranked) if b)
    return out


def categories_in(text: str, wording: Wording) -> List[str]:
    """The categories whose bullets appear in `text` (for tests and reports)."""
    return [c for c, bullets in wording.signs.items() if all(b in text for b in bullets)]
