#!/usr/bin/env python
"""Score a trained model on the frozen blind sets (tests/blind/*.yml).

What is scored is what the patient would get from the turn, decided from the
model's parse the same way the dialogue decides it:

FAQ items (tests/blind/faq_v*.yml)
  right      answered directly with the expected topic (or, for an
             out-of-catalog question, the `out_of_scope` "I don't have
             information on that" path)
  offered    the bot said it was unsure and offered the expected topic as a button
  deferred   unsure, expected topic not offered (or any other non-answer)
  wrong      answered directly with another topic, or a FAQ answer to an
             out-of-catalog question
  escalated  the safety message and a ticket (a false escalation here)
  checked    the one-question safety check

Red-flag items (tests/blind/red_flags_v*.yml): escalated / checked / continued
per kind, positives vs hard negatives.

The sets are never trained or tuned on; this script only reads them. Results
go to reports/blind/<label>.json; `--markdown` prints the tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.disable(logging.WARNING)

from actions.faq import suggestions, topic_from_parse  # noqa: E402
from clinic_bot import names  # noqa: E402

FAQ_SET = ROOT / "tests" / "blind" / "faq_v1.yml"
RED_FLAG_SET = ROOT / "tests" / "blind" / "red_flags_v1.yml"
NEGATIVE = "none"


def text_key(text: str) -> str:
    """What makes two messages the same message: letters and digits, case and punctuation aside."""
    return " ".join("".join(c if c.isalnum() else " " for c in text.lower()).split())


def load(path: Path) -> List[Dict[str, Any]]:
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh) or []


def safety_outcome(parse: Dict[str, Any]) -> str:
    intent = (parse.get("intent") or {}).get("name")
    if intent == names.INTENT_RED_FLAG:
        return "escalated"
    if intent == names.INTENT_RED_FLAG_CHECK:
        return "checked"
    return "continued"


def faq_outcome(parse: Dict[str, Any], expected: str, domain: Dict[str, Any]) -> str:
    safety = safety_outcome(parse)
    if safety != "continued":
        return safety
    intent = (parse.get("intent") or {}).get("name")
    if expected == names.INTENT_OUT_OF_SCOPE:
        if intent == names.INTENT_OUT_OF_SCOPE:
            return "right"
        return "wrong" if topic_from_parse(parse) else "deferred"
    topic = topic_from_parse(parse)
    want = expected.split("/", 1)[1]
    if topic:
        return "right" if topic == want else "wrong"
    if intent == names.INTENT_FALLBACK:
        offered = [b["payload"] for b in suggestions(parse, domain)]
        if any(f'"{want}"' in p for p in offered):
            return "offered"
    return "deferred"


async def run(model: str, label: str, faq_set: Path = FAQ_SET, red_flag_set: Path = RED_FLAG_SET) -> Dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.shared.core.domain import Domain

    agent = Agent.load(model)
    domain = Domain.load(str(ROOT / "domain")).as_dict()
    await agent.parse_message("warm up")
    out: Dict[str, Any] = {"label": label, "model": model, "faq": [], "red_flags": []}
    latencies: List[float] = []
    for item in load(faq_set) if faq_set else []:
        start = time.perf_counter()
        parse = await agent.parse_message(item["text"])
        latencies.append((time.perf_counter() - start) * 1000)
        out["faq"].append(
            {
                **item,
                "outcome": faq_outcome(parse, item["expected"], domain),
                "topic": topic_from_parse(parse),
                "intent": (parse.get("intent") or {}).get("name"),
            }
        )
    for item in load(red_flag_set) if red_flag_set else []:
        start = time.perf_counter()
        parse = await agent.parse_message(item["text"])
        latencies.append((time.perf_counter() - start) * 1000)
        cats = [e.get("value") for e in parse.get("entities") or [] if e.get("entity") == names.ENTITY_RED_FLAG]
        ml = next((r.get("confidence") for r in parse.get("intent_ranking") or [] if r.get("name") == names.INTENT_RED_FLAG), None)
        out["red_flags"].append(
            {**item, "outcome": safety_outcome(parse), "categories": cats, "ml_confidence": ml, "decision": parse.get(names.PARSE_SAFETY)}
        )
    latencies.sort()
    out["parse_ms"] = {"median": statistics.median(latencies), "p95": latencies[int(0.95 * (len(latencies) - 1))]}
    return out


def faq_table(result: Dict[str, Any]) -> List[str]:
    rows = ["| kind | n | right | right or offered | deferred | wrong | escalated | checked |", "|---|---|---|---|---|---|---|---|"]
    by_kind: Dict[str, Counter] = defaultdict(Counter)
    for item in result["faq"]:
        by_kind[item["kind"]][item["outcome"]] += 1
    for kind in ("short", "long", "forum", "out_of_catalog"):
        c = by_kind.get(kind)
        if not c:
            continue
        n = sum(c.values())
        rows.append(
            f"| {kind} | {n} | {c['right'] / n:.1%} | {(c['right'] + c['offered']) / n:.1%} | {c['deferred'] / n:.1%} | {c['wrong'] / n:.1%} | {c['escalated'] / n:.1%} | {c['checked'] / n:.1%} |"
        )
    return rows


def red_flag_table(result: Dict[str, Any]) -> List[str]:
    rows = ["| kind | expected | n | escalated | checked | continued |", "|---|---|---|---|---|---|"]
    by_kind: Dict[str, Counter] = defaultdict(Counter)
    pos_kind = {}
    for item in result["red_flags"]:
        by_kind[item["kind"]][item["outcome"]] += 1
        pos_kind[item["kind"]] = "red flag" if item["expected"] != NEGATIVE else "none"
    for kind in sorted(by_kind, key=lambda k: (pos_kind[k] == "none", k)):
        c = by_kind[kind]
        n = sum(c.values())
        rows.append(
            f"| {kind} | {pos_kind[kind]} | {n} | {c['escalated']} ({c['escalated'] / n:.0%}) | {c['checked']} ({c['checked'] / n:.0%}) | {c['continued']} ({c['continued'] / n:.0%}) |"
        )
    pos = [i for i in result["red_flags"] if i["expected"] != NEGATIVE]
    neg = [i for i in result["red_flags"] if i["expected"] == NEGATIVE]
    esc = sum(i["outcome"] == "escalated" for i in pos)
    rows.append(
        f"| **all positives** | red flag | {len(pos)} | {esc} ({esc / max(len(pos), 1):.1%}) | "
        f"{sum(i['outcome'] == 'checked' for i in pos)} | {sum(i['outcome'] == 'continued' for i in pos)} |"
    )
    fe = sum(i["outcome"] == "escalated" for i in neg)
    ch = sum(i["outcome"] == "checked" for i in neg)
    rows.append(
        f"| **all hard negatives** | none | {len(neg)} | {fe} ({fe / max(len(neg), 1):.1%}) | {ch} ({ch / max(len(neg), 1):.1%}) | "
        f"{sum(i['outcome'] == 'continued' for i in neg)} |"
    )
    return rows


def _rates(items: List[Dict[str, Any]], key: str) -> Dict[str, Counter]:
    out: Dict[str, Counter] = defaultdict(Counter)
    for item in items:
        out[item[key]][item["outcome"]] += 1
    return out


def still_blind(result: Dict[str, Any]) -> Dict[str, Any]:
    """A saved result without the items since moved out of the blind sets (found in training data)."""
    current = {text_key(i["text"]) for path in (ROOT / "tests" / "blind").glob("*.yml") for i in load(path)}
    return {**result, **{key: [i for i in result[key] if text_key(i["text"]) in current] for key in ("faq", "red_flags")}}


def red_flag_group(result: Dict[str, Any], positive: bool, length: Optional[str]) -> List[Dict[str, Any]]:
    """The red-flag items of one group: positives or hard negatives, of one length (None: any)."""
    return [i for i in result["red_flags"] if (i["expected"] != NEGATIVE) == positive and length in (None, i.get("length"))]


def compare(before: Dict[str, Any], after: Dict[str, Any]) -> str:
    """Side-by-side tables (before -> after) for the reports, on the items still in the blind sets."""
    before, after = still_blind(before), still_blind(after)
    pct = lambda c, *ks: f"{sum(c[k] for k in ks) / max(sum(c.values()), 1):.1%}"  # noqa: E731
    lines = [
        "| FAQ set | n | answered right | right or offered | wrong (confident) | false escalation | safety check |",
        "|---|---|---|---|---|---|---|",
    ]
    b, a = _rates(before["faq"], "kind"), _rates(after["faq"], "kind")
    for kind in ("short", "long", "forum", "out_of_catalog"):
        if kind in a:
            lines.append(
                f"| {kind} | {sum(a[kind].values())} | {pct(b[kind], 'right')} → **{pct(a[kind], 'right')}** "
                f"| {pct(b[kind], 'right', 'offered')} → **{pct(a[kind], 'right', 'offered')}** "
                f"| {pct(b[kind], 'wrong')} → **{pct(a[kind], 'wrong')}** | {pct(b[kind], 'escalated')} → **{pct(a[kind], 'escalated')}** "
                f"| {pct(b[kind], 'checked')} → **{pct(a[kind], 'checked')}** |"
            )
    lines += ["", "| red-flag set: kind | expected | n | escalated | safety check | carried on |", "|---|---|---|---|---|---|"]
    b, a = _rates(before["red_flags"], "kind"), _rates(after["red_flags"], "kind")
    expected = {i["kind"]: ("red flag" if i["expected"] != NEGATIVE else "none") for i in after["red_flags"]}
    for kind in sorted(a, key=lambda k: (expected[k] == "none", k)):
        lines.append(
            f"| {kind} | {expected[kind]} | {sum(a[kind].values())} | {pct(b[kind], 'escalated')} → **{pct(a[kind], 'escalated')}** "
            f"| {pct(b[kind], 'checked')} → **{pct(a[kind], 'checked')}** | {pct(b[kind], 'continued')} → **{pct(a[kind], 'continued')}** |"
        )
    groups = [
        ("all red flags", True, None),
        ("red flags, short messages", True, "short"),
        ("red flags, long messages", True, "long"),
        ("all hard negatives", False, None),
        ("hard negatives, short", False, "short"),
        ("hard negatives, long", False, "long"),
    ]
    for label, positive, length in groups:
        cb, ca = (Counter(i["outcome"] for i in red_flag_group(r, positive, length)) for r in (before, after))
        lines.append(
            f"| **{label}** | {'red flag' if positive else 'none'} | {sum(ca.values())} | {pct(cb, 'escalated')} → **{pct(ca, 'escalated')}** "
            f"| {pct(cb, 'checked')} → **{pct(ca, 'checked')}** | {pct(cb, 'continued')} → **{pct(ca, 'continued')}** |"
        )
    lines += [
        "",
        f"In-process parse latency over both sets (same machine, other work running): median "
        f"{before['parse_ms']['median']:.1f} → {after['parse_ms']['median']:.1f} ms, p95 {before['parse_ms']['p95']:.1f} → {after['parse_ms']['p95']:.1f} ms.",
        "",
    ]
    return "\n".join(lines)


def markdown(result: Dict[str, Any]) -> str:
    lines = [
        f"### {result['label']}",
        "",
        *(faq_table(result) if result["faq"] else []),
        "",
        *(red_flag_table(result) if result["red_flags"] else []),
        "",
        f"Parse latency over both sets: median {result['parse_ms']['median']:.1f} ms, p95 {result['parse_ms']['p95']:.1f} ms.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "models" / "facet-assistant.tar.gz"))
    parser.add_argument("--label", default="current")
    parser.add_argument("--markdown", action="store_true", help="print the tables of a saved result instead of running")
    parser.add_argument("--compare", nargs=2, metavar=("BEFORE", "AFTER"), help="side-by-side tables of two saved results")
    parser.add_argument("--faq-set", default=str(FAQ_SET), help="'' to skip")
    parser.add_argument("--red-flag-set", default=str(RED_FLAG_SET), help="'' to skip (e.g. tests/red_flags/dev_v3.yml for tuning)")
    args = parser.parse_args()
    path = ROOT / "reports" / "blind" / f"{args.label}.json"
    if args.compare:
        saved = [json.loads((ROOT / "reports" / "blind" / f"{name}.json").read_text(encoding="utf-8")) for name in args.compare]
        print(compare(*saved))
        return 0
    if args.markdown:
        print(markdown(json.loads(path.read_text(encoding="utf-8"))))
        return 0
    os.chdir(ROOT)
    result = asyncio.run(
        run(args.model, args.label, Path(args.faq_set) if args.faq_set else None, Path(args.red_flag_set) if args.red_flag_set else None)
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
