"""How figures are written in the report, and how a level's figure is looked up in the
results, so every table formats a missing value, a ratio or a unit the same way."""

from __future__ import annotations

from typing import Any, Dict, Optional


def fmt(x: Any, unit: str = "", digits: int = 0) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        x = round(x, digits)
        if digits == 0:
            x = int(x)
    return f"{x:,}{unit}" if isinstance(x, int) else f"{x}{unit}"


def kinds(d: Optional[Dict[str, int]]) -> str:
    """' (faq 2, more 1)' for counts by kind of turn; nothing when there are none."""
    return f" ({', '.join(f'{k} {v}' for k, v in d.items())})" if d else ""


def ratio(a: Optional[float], b: Optional[float]) -> str:
    if a is None or b is None or b == 0:
        return "–"
    return f"{a / b:.2f}×"


def table_row(what: str, a: Optional[float], b: Optional[float], unit: str, digits: int) -> str:
    """A `| what | a | b | a/b |` row of a two-column comparison."""
    return f"| {what} | {fmt(a, unit, digits)} | {fmt(b, unit, digits)} | {ratio(a, b)} |"


def level(results: Dict[str, Any], label: str, name: str) -> Optional[Dict[str, Any]]:
    """The summary of load level `name` (c10, saturation...) of stack `label`, if measured."""
    return ((results.get("levels") or {}).get(label) or {}).get(name, {}).get("summary")


def lv(results: Dict[str, Any], label: str, name: str, key: str) -> Any:
    s = level(results, label, name)
    return s.get(key) if s else None
