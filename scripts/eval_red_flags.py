#!/usr/bin/env python
"""Measure red-flag detection on a labelled set (default: the dev set).

Set format (YAML list): {text, expected: <category id or none>, kind}.

Modes
  --detector        the rule layer only (components/red_flags), fast; needs just
                    the spaCy pipeline (built on the fly if missing). Default.
  --model PATH      a trained Rasa model (.tar.gz): every text goes through
                    `Agent.parse_message`; a message escalates if the intent is
                    `report_red_flag` (either layer). Categories come from the
                    `red_flag` entities; the component emits only the most urgent
                    one, so "category" recall undercounts messages with several
                    flags there - use "escalation" recall.

Reported
  recall per category   positives that escalate with the expected category
                        among the detected ones ("category" recall), and
                        positives that escalate at all ("escalation" recall)
  false escalations     negatives that escalate: overall rate, per category
                        that fired, per kind (denied, other_person, ...)
  wrong category        positives that escalated but not with the expected
                        category

Exit code 1 if recall < --min-recall (default 1.0) or the false-escalation
rate > --max-false-rate (default 0.05). Recall kind checked: `category` for
--detector, `escalation` for --model (override with --recall-kind).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

DEFAULT_SET = PROJECT_ROOT / "tests" / "red_flags" / "dev_set.yml"
DEFAULT_SPACY_DIR = PROJECT_ROOT / ".cache" / "spacy" / "en_facet"
from clinic_bot import names  # noqa: E402

INTENT_NAME = names.INTENT_RED_FLAG

# (escalated, detected categories, extra info)
Prediction = Tuple[bool, List[str], Dict[str, Any]]


def load_set(path: Path) -> List[Dict[str, Any]]:
    with Path(path).open(encoding="utf-8") as fh:
        items = yaml.safe_load(fh) or []
    for i, item in enumerate(items):
        if not isinstance(item, dict) or "text" not in item or "expected" not in item:
            raise ValueError(f"{path}: item {i} needs text and expected: {item!r}")
        item["expected"] = str(item["expected"])
        item.setdefault("kind", "positive" if item["expected"] != "none" else "unrelated")
    return items


# ---------------------------------------------------------------- predictors
def detector_predictor(spacy_dir: Path, patterns_file: Optional[Path]) -> Callable[[List[str]], List[Prediction]]:
    import spacy

    from components.red_flags import RedFlagDetector
    from scripts.build_spacy_pipeline import build

    build(spacy_dir)  # no-op when already built
    nlp = spacy.load(spacy_dir)
    detector = RedFlagDetector(patterns_file=patterns_file, nlp=nlp)

    def predict(texts: List[str]) -> List[Prediction]:
        out = []
        for text in texts:
            result = detector.detect(text)
            out.append(
                (
                    result.fired,
                    result.categories,
                    {
                        "detections": [(d.category, d.text, d.pattern_id) for d in result.detections],
                        "suppressed": [(s.category, s.reason, s.text) for s in result.suppressed],
                    },
                )
            )
        return out

    return predict


def model_predictor(model_path: Path) -> Callable[[List[str]], List[Prediction]]:
    os.chdir(PROJECT_ROOT)  # config.yml refers to the spaCy pipeline by a relative path
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))

    async def run(texts: List[str]) -> List[Prediction]:
        out = []
        for text in texts:
            parsed = await agent.parse_message(text)
            intent = (parsed.get("intent") or {}).get("name")
            cats = [e.get("value") for e in parsed.get("entities") or [] if e.get("entity") == "red_flag"]
            out.append(
                (
                    intent == INTENT_NAME,
                    cats,
                    {
                        "intent": intent,
                        "confidence": (parsed.get("intent") or {}).get("confidence"),
                        "override": parsed.get("red_flag_override"),
                        "suppressed": parsed.get("red_flag_suppressed"),
                    },
                )
            )
        return out

    return lambda texts: asyncio.run(run(texts))


# ---------------------------------------------------------------- metrics
def evaluate(items: Sequence[Dict[str, Any]], preds: Sequence[Prediction]) -> Dict[str, Any]:
    per_cat: Dict[str, Dict[str, int]] = defaultdict(lambda: {"n": 0, "category_hits": 0, "escalated": 0})
    neg_total = 0
    neg_fired = 0
    fp_by_cat: Counter = Counter()
    by_kind: Dict[str, Dict[str, int]] = defaultdict(lambda: {"n": 0, "escalated": 0})
    wrong_category: Counter = Counter()
    misses: List[Dict[str, Any]] = []
    false_escalations: List[Dict[str, Any]] = []
    wrong: List[Dict[str, Any]] = []
    # a kind is a red-flag kind when its messages expect a category
    positive_kinds = {item["kind"] for item in items if item["expected"] != "none"}

    for item, (escalated, cats, info) in zip(items, preds, strict=False):
        exp, kind = item["expected"], item["kind"]
        by_kind[kind]["n"] += 1
        by_kind[kind]["escalated"] += int(escalated)
        if exp != "none":
            row = per_cat[exp]
            row["n"] += 1
            row["escalated"] += int(escalated)
            hit = escalated and exp in cats
            row["category_hits"] += int(hit)
            if not escalated:
                misses.append({"text": item["text"], "expected": exp, "kind": kind, "got": cats, **info})
            elif not hit:
                wrong_category[(exp, ",".join(cats) or "(none)")] += 1
                wrong.append({"text": item["text"], "expected": exp, "kind": kind, "got": cats, **info})
        else:
            neg_total += 1
            if escalated:
                neg_fired += 1
                for c in sorted(set(cats)) or ["(unspecified)"]:
                    fp_by_cat[c] += 1
                false_escalations.append({"text": item["text"], "kind": kind, "got": cats, **info})

    pos_total = sum(r["n"] for r in per_cat.values())
    cat_hits = sum(r["category_hits"] for r in per_cat.values())
    esc_hits = sum(r["escalated"] for r in per_cat.values())
    return {
        "n": len(items),
        "positives": pos_total,
        "negatives": neg_total,
        "recall": {
            "category": cat_hits / pos_total if pos_total else 1.0,
            "escalation": esc_hits / pos_total if pos_total else 1.0,
        },
        "per_category": {
            c: {
                **r,
                "category_recall": r["category_hits"] / r["n"] if r["n"] else 1.0,
                "escalation_recall": r["escalated"] / r["n"] if r["n"] else 1.0,
                "false_escalations": fp_by_cat.get(c, 0),
                "false_escalation_rate": fp_by_cat.get(c, 0) / neg_total if neg_total else 0.0,
            }
            for c, r in sorted(per_cat.items())
        },
        "false_escalation": {
            "count": neg_fired,
            "rate": neg_fired / neg_total if neg_total else 0.0,
            "by_category": dict(fp_by_cat),
            "by_kind": {k: v for k, v in sorted(by_kind.items()) if k not in positive_kinds},
        },
        "positives_by_kind": {k: v for k, v in sorted(by_kind.items()) if k in positive_kinds},
        "wrong_category": {f"{a} -> {b}": n for (a, b), n in wrong_category.items()},
        "misses": misses,
        "false_escalations": false_escalations,
        "wrong_category_items": wrong,
    }


def print_report(report: Dict[str, Any], mode: str, set_file: Path, show: bool) -> None:
    print(f"Red-flag evaluation - {mode} - {set_file}")
    print(f"{report['n']} messages: {report['positives']} positives, {report['negatives']} negatives\n")
    print(f"{'category':<28}{'n':>4}{'cat.recall':>12}{'esc.recall':>12}{'false esc.':>12}{'FE rate':>9}")
    for cat, r in report["per_category"].items():
        print(
            f"{cat:<28}{r['n']:>4}{r['category_recall']:>12.1%}{r['escalation_recall']:>12.1%}"
            f"{r['false_escalations']:>12}{r['false_escalation_rate']:>9.1%}"
        )
    fe = report["false_escalation"]
    extra = {k: v for k, v in fe["by_category"].items() if k not in report["per_category"]}
    for cat, n in extra.items():
        print(f"{cat:<28}{'':>4}{'':>12}{'':>12}{n:>12}{n / max(report['negatives'], 1):>9.1%}")
    print(
        f"\noverall: category recall {report['recall']['category']:.1%}, "
        f"escalation recall {report['recall']['escalation']:.1%}, "
        f"false-escalation rate {fe['rate']:.1%} ({fe['count']}/{report['negatives']})"
    )
    print("positives by kind: " + ", ".join(f"{k} {v['escalated']}/{v['n']}" for k, v in report["positives_by_kind"].items()))
    print("negatives by kind (escalated/n): " + ", ".join(f"{k} {v['escalated']}/{v['n']}" for k, v in fe["by_kind"].items()))
    if report["wrong_category"]:
        print("wrong category: " + "; ".join(f"{k} x{n}" for k, n in report["wrong_category"].items()))
    if show:
        for title, key in (("MISSED", "misses"), ("WRONG CATEGORY", "wrong_category_items"), ("FALSE ESCALATION", "false_escalations")):
            for row in report[key]:
                print(f"  {title}: [{row.get('expected', row.get('kind'))}] {row['text']!r} -> {row.get('got')}")


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Red-flag recall / false-escalation report")
    parser.add_argument("set_file", nargs="?", default=str(DEFAULT_SET), help="labelled YAML set (default: dev set)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--detector", action="store_true", help="rule layer only (default)")
    mode.add_argument("--model", metavar="MODEL_TAR_GZ", help="trained Rasa model; escalates if intent == report_red_flag")
    parser.add_argument("--spacy-model", default=str(DEFAULT_SPACY_DIR), help="spaCy pipeline dir for --detector")
    parser.add_argument("--patterns", default=None, help="pattern file for --detector (default: the component's)")
    parser.add_argument("--min-recall", type=float, default=1.0)
    parser.add_argument("--max-false-rate", type=float, default=0.05)
    parser.add_argument("--recall-kind", choices=("category", "escalation"), default=None)
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")
    parser.add_argument(
        "--out",
        metavar="JSON_FILE",
        default=None,
        help="also write the full JSON report to this file (--model mode logs to stdout, so --json output is not clean there)",
    )
    parser.add_argument("-v", "--show-errors", action="store_true", help="list misses and false escalations")
    args = parser.parse_args(argv)

    set_file = Path(args.set_file)
    items = load_set(set_file)
    if args.model:
        mode_name = f"model {args.model}"
        predict = model_predictor(Path(args.model).resolve())
        recall_kind = args.recall_kind or "escalation"
    else:
        mode_name = "detector"
        predict = detector_predictor(Path(args.spacy_model), Path(args.patterns) if args.patterns else None)
        recall_kind = args.recall_kind or "category"

    report = evaluate(items, predict([i["text"] for i in items]))
    report["mode"] = mode_name
    report["set_file"] = str(set_file)
    recall = report["recall"][recall_kind]
    ok = recall >= args.min_recall and report["false_escalation"]["rate"] <= args.max_false_rate
    report["gate"] = {
        "recall_kind": recall_kind,
        "min_recall": args.min_recall,
        "max_false_rate": args.max_false_rate,
        "passed": ok,
    }
    if args.out:
        Path(args.out).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print_report(report, mode_name, set_file, args.show_errors)
        print(
            f"\ngate ({recall_kind} recall >= {args.min_recall:.0%}, false-escalation rate <= {args.max_false_rate:.0%}): "
            f"{'PASS' if ok else 'FAIL'}"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
