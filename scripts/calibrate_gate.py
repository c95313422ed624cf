#!/usr/bin/env python
"""Choose the answer gate's thresholds on the held-out DEV set (never the blind sets).

Parses tests/nlu/heldout.yml with a trained model, then replays the gate
(FallbackClassifier + FaqConfidenceGate) offline for a grid of thresholds and
prints, per setting, how many FAQ questions are answered right, answered wrong
and deferred. Pick the setting with the most right answers whose
confidently-wrong rate stays at or under --max-wrong, then put it in config.yml.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
logging.disable(logging.WARNING)

from components.faq_confidence_gate import topic_uncertainty  # noqa: E402


def raw_scores(parse: Dict[str, Any]) -> Tuple[str, float, List[Tuple[str, float]]]:
    """Top intent (ignoring the fallback), its confidence, and the topic ranking."""
    ranking = [r for r in parse.get("intent_ranking") or [] if r["name"] != "nlu_fallback"]
    top = ranking[0] if ranking else {"name": "none", "confidence": 0.0}
    topics = [
        ((r.get("intent_response_key") or "").split("/", 1)[-1], float(r.get("confidence") or 0.0))
        for r in ((parse.get("response_selector") or {}).get("faq") or {}).get("ranking") or []
    ]
    return top["name"], float(top["confidence"]), topics


def outcome(gold: str, intent: str, conf: float, topics, t_intent: float, t_topic: float, ambiguity: float) -> str:
    if conf < t_intent:
        return "deferred"
    if intent != "faq":
        return "right" if gold == intent else ("wrong" if gold.startswith("faq/") or gold == "out_of_scope" else "other")
    if topic_uncertainty([c for _, c in topics], t_topic, ambiguity) is not None:
        return "deferred"
    return "right" if gold == f"faq/{topics[0][0]}" else "wrong"


async def collect(model: str, path: str):
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    agent = Agent.load(model)
    rows = []
    for ex in load_data(path).intent_examples:
        gold = ex.get("intent_response_key") or ex.get("intent")
        parse = await agent.parse_message(ex.get("text"))
        rows.append((gold, *raw_scores(parse)))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default=str(ROOT / "models" / "facet-assistant.tar.gz"))
    parser.add_argument("--dev", default=str(ROOT / "tests" / "nlu" / "heldout.yml"))
    parser.add_argument("--max-wrong", type=float, default=0.01)
    parser.add_argument("--current", type=float, nargs=3, default=(0.45, 0.45, 0.05), metavar=("INTENT_T", "TOPIC_T", "AMBIGUITY"))
    args = parser.parse_args()
    os.chdir(ROOT)
    rows = asyncio.run(collect(args.model, args.dev))
    faq_rows = [r for r in rows if r[0].startswith("faq/")]
    results = []
    for t_intent in (0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7):
        for t_topic in (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9):
            for amb in (0.0, 0.02, 0.05, 0.1, 0.2, 0.3):
                outs = [outcome(g, i, c, t, t_intent, t_topic, amb) for g, i, c, t in faq_rows]
                n = len(outs)
                results.append((outs.count("right") / n, outs.count("wrong") / n, outs.count("deferred") / n, t_intent, t_topic, amb))
    print(f"dev set {args.dev}: {len(faq_rows)} FAQ questions")
    current = [outcome(g, i, c, t, args.current[0], args.current[1], args.current[2]) for g, i, c, t in faq_rows]
    n = len(current)
    print(
        f"current setting {tuple(args.current)}: right {current.count('right') / n:.1%}, wrong {current.count('wrong') / n:.1%}, "
        f"deferred {current.count('deferred') / n:.1%}"
    )
    print("best setting under each cap on confidently-wrong answers:")
    print("wrong cap  right  wrong  deferred  intent_t topic_t ambiguity")
    for cap in sorted({args.max_wrong, 0.01, 0.02, 0.03, 0.05, 0.08, 1.0}):
        ok = [r for r in results if r[1] <= cap]
        if ok:
            r = max(ok)
            print(f"{cap:>8.0%}  {r[0]:.1%}  {r[1]:.1%}  {r[2]:.1%}  {r[3]}  {r[4]}  {r[5]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
