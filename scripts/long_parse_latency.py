#!/usr/bin/env python
"""Parse latency on long messages (450-700 characters), project model vs the bench baseline.

`make bench` times /model/parse on held-out questions, which are short. Long
messages cost more here (two MiniLM passes, more sentences for the rule layer),
so this times both models in one process on 500-750 character messages made
of two long training examples back to back (latency does not depend on whether
a text was trained on), alternating per message, and prints medians and the
ratio. Never the blind sets.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


async def main(project: str, baseline: str, rounds: int) -> None:
    from rasa.core.agent import Agent
    from rasa.shared.nlu.training_data.loading import load_data

    texts = [m.get("text") for m in load_data(str(ROOT / "data" / "nlu" / "faq")).intent_examples]
    # the longest examples are ~350 characters: two of them back to back make a 600-character message
    longest = [t for t in texts if len(t) >= 250]
    texts = [f"{a} {b}" for a, b in zip(longest[0::2], longest[1::2], strict=False)][:60]
    agents = {"project": Agent.load(project), "baseline": Agent.load(baseline)}
    times = {name: [] for name in agents}
    for agent in agents.values():
        await agent.parse_message("warm up")
    for _ in range(rounds):
        for text in texts:
            for name, agent in agents.items():
                start = time.perf_counter()
                await agent.parse_message(text)
                times[name].append((time.perf_counter() - start) * 1000)
    med = {n: statistics.median(t) for n, t in times.items()}
    print(f"{len(texts)} long messages (mean {statistics.mean(map(len, texts)):.0f}), {rounds} rounds")
    for name, t in times.items():
        print(f"{name}: median {med[name]:.1f} ms, p95 {sorted(t)[int(0.95 * (len(t) - 1))]:.1f} ms")
    print(f"ratio (median): {med['project'] / med['baseline']:.2f}x")


if __name__ == "__main__":
    asyncio.run(
        main(
            sys.argv[1] if len(sys.argv) > 1 else str(ROOT / "models" / "facet-assistant.tar.gz"),
            sys.argv[2] if len(sys.argv) > 2 else str(ROOT / ".cache" / "bench" / "baseline.tar.gz"),
            int(sys.argv[3]) if len(sys.argv) > 3 else 3,
        )
    )
