"""Measure what one patient's giant messages cost everyone else, with and without the caps.

    .venv/bin/python scripts/probe_limits.py [--out reports/security_probe.md]

Starts the stack twice on free ports (the project's launcher, the trained
model): once as configured, once with the caps lifted (the behaviour before
issue 11: any length reached NLU). In each, it times (a) one giant message on
its own, and (b) a short red-flag message sent while 8 giant messages from
other senders are in flight: how long that patient waits for the safety advice.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from clinic_bot.launcher import Stack  # noqa: E402

RED_FLAG = "I can't feel anything when I wipe and I've wet myself"
FILLER = "I have had back pain for a long time and it is worse in the morning. "


def turn(url: str, sender: str, text: str) -> Tuple[float, int, str]:
    body = json.dumps({"sender": sender, "message": text}).encode()
    req = urllib.request.Request(f"{url}/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            replies = json.loads(resp.read())
            return time.perf_counter() - start, resp.status, " ".join(r.get("text") or "" for r in replies)
    except urllib.error.HTTPError as err:
        return time.perf_counter() - start, err.code, ""


def measure(label: str, env: Dict[str, str], giant_chars: int, rounds: int) -> Dict[str, object]:
    giant = (FILLER * (giant_chars // len(FILLER) + 1))[:giant_chars]
    with (
        tempfile.TemporaryDirectory() as var,
        Stack(
            var_dir=Path(var), rasa_port=0, action_port=0, console_port=0, widget_port=0, with_console=False, with_widget=False, extra_env=env
        ) as stack,
    ):
        alone = [turn(stack.rasa_url, f"alone-{label}-{i}", giant)[0] for i in range(rounds)]
        beside: List[float] = []
        for r in range(rounds):
            with ThreadPoolExecutor(max_workers=9) as pool:
                giants = [pool.submit(turn, stack.rasa_url, f"giant-{label}-{r}-{i}", giant) for i in range(8)]
                time.sleep(0.2)  # let the giants reach the server first: the worst case for the red flag
                seconds, status, text = pool.submit(turn, stack.rasa_url, f"flag-{label}-{r}", RED_FLAG).result()
                assert status == 200 and text, f"{label}: the red flag got HTTP {status}"
                beside.append(seconds)
                for g in giants:
                    g.result()
    return {
        "label": label,
        "giant_chars": giant_chars,
        "giant_alone_s": statistics.median(alone),
        "red_flag_beside_8_giants_s": statistics.median(beside),
        "rounds": rounds,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("reports/security_probe.md"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--uncapped-chars", type=int, default=60_000)
    args = parser.parse_args()
    capped = measure("capped", {}, args.uncapped_chars, args.rounds)
    uncapped = measure(
        "uncapped",
        {"MAX_MESSAGE_CHARS": "10000000", "MAX_REQUEST_BYTES": "20000000", "RATE_PER_SENDER": "100000/1"},
        args.uncapped_chars,
        args.rounds,
    )
    rows = [capped, uncapped]
    lines = [
        "# What one patient's giant messages cost everyone else",
        "",
        f"`scripts/probe_limits.py` (median of {args.rounds} rounds, this 2-core machine; other work may have shared the CPU).",
        f"A {args.uncapped_chars:,}-character message, alone and 8 at once beside one short red-flag message from another patient.",
        "`capped` is the stack as configured (MAX_MESSAGE_CHARS 3,000: the rest is cut before NLU and the person is asked",
        "for a shorter message); `uncapped` lifts the caps, as before issue 11.",
        "",
        "| stack | one giant message, alone (s) | red flag's wait beside 8 giants (s) |",
        "|---|---:|---:|",
        *[f"| {r['label']} | {r['giant_alone_s']:.2f} | {r['red_flag_beside_8_giants_s']:.2f} |" for r in rows],
        "",
    ]
    args.out.write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
