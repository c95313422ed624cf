"""`make bench`: latency, throughput, start-up, training time and memory of the
assistant, against Rasa's default NLU pipeline trained on the same data, on the
same machine, in the same run. Writes reports/benchmark.md and charts in
reports/bench/.

    .venv/bin/python bench/run_bench.py                  # full run (~35-45 min, 10-minute soak)
    .venv/bin/python bench/run_bench.py --quick          # short levels, 1-minute soak (~10 min)
    .venv/bin/python bench/run_bench.py --soak-minutes 30
    BENCH_ARGS="--quick" make bench                      # flags through make
    .venv/bin/python bench/run_bench.py --report-only    # re-render the report from the last results

What runs (everything on 127.0.0.1, free ports, temporary data folders):
1. training time: `rasa train` of config.yml into .cache/bench/ with an empty
   Rasa training cache (timed every run); the baseline model (Rasa's default
   pipeline + this project's policies) is trained into .cache/bench/baseline.tar.gz
   only when it is missing or its inputs changed (hash), and timed then;
2. two stacks from clinic_bot.launcher.Stack (action server + Rasa server), one on
   models/facet-assistant.tar.gz, one on the baseline; cold start of each
   (process launch -> first answered turn);
3. NLU-only latency (POST /model/parse), alternating project/baseline requests;
4. load levels of 1, 10 and 50 concurrent conversations (closed loop, think
   time between turns), project and baseline back to back at each level in
   alternating order, so both see the same machine conditions; plus a
   saturation level (10 conversations, no think time) for the throughput ceiling;
5. soak of the project stack at 10 concurrent conversations (default 10 minutes)
   while the RSS of each server (process tree) is sampled every second.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.runner import run  # noqa: E402
from bench.workspace import CACHE, PROJECT_MODEL, RESULTS, log  # noqa: E402


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    """The options, with BENCH_ARGS appended (how `make bench` takes flags) and the quick/full defaults filled in."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="short levels (15 s) and a 1-minute soak, to try it out")
    p.add_argument("--soak-minutes", type=float, default=None, help="soak length (default 10, quick 1)")
    p.add_argument("--level-seconds", type=float, default=None, help="duration of each load level (default 60, quick 15)")
    p.add_argument("--levels", default="1,10,50", help="concurrent conversations per level (default 1,10,50)")
    p.add_argument("--think", default="1.0,3.0", help="think time between a person's turns, min,max seconds (default 1,3)")
    p.add_argument("--timeout", type=float, default=10.0, help="a turn slower than this counts as a timeout (s)")
    p.add_argument("--parse-requests", type=int, default=None, help="NLU-only requests per model (default 200, quick 60)")
    p.add_argument(
        "--min-turns", type=int, default=None, help="a level goes on past its duration until this many turns (max 3x duration; default 60, quick 20)"
    )
    p.add_argument("--skip-train-timing", action="store_true", help="reuse the last measured training time instead of training config.yml again")
    p.add_argument("--retrain-baseline", action="store_true", help="retrain the baseline even if its inputs did not change")
    p.add_argument("--no-baseline", action="store_true", help="only the project (no ratios)")
    p.add_argument(
        "--baseline-epochs",
        type=int,
        default=None,
        help="train the baseline for this many epochs: for latency/CPU ratios only (inference cost does not depend on epochs)",
    )
    p.add_argument(
        "--no-ablation", action="store_true", help="skip the run of the project model on plain `rasa run` (what clinic_bot.rasa_runtime is worth)"
    )
    p.add_argument("--model", default=str(PROJECT_MODEL), help="project model to serve (default models/facet-assistant.tar.gz)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--report-only", action="store_true", help="re-render reports/benchmark.md from the last results")
    p.add_argument("--out", default=str(ROOT / "reports" / "benchmark.md"))
    extra = shlex.split(os.environ.get("BENCH_ARGS", ""))
    args = p.parse_args((argv if argv is not None else sys.argv[1:]) + extra)
    args.levels_list = [int(x) for x in args.levels.split(",") if x.strip()]
    lo, hi = (float(x) for x in args.think.split(","))
    args.think_range = (lo, hi)
    if args.level_seconds is None:
        args.level_seconds = 15.0 if args.quick else 60.0
    if args.soak_minutes is None:
        args.soak_minutes = 1.0 if args.quick else 10.0
    if args.parse_requests is None:
        args.parse_requests = 60 if args.quick else 200
    if args.min_turns is None:
        args.min_turns = 20 if args.quick else 60
    args.saturation_seconds = max(10.0, args.level_seconds / 2)
    return args


def main(argv: Optional[List[str]] = None) -> int:
    """Run the benchmark (or, --report-only, reload the last results), keep the results, render the report."""
    args = parse_args(argv)
    from bench.report import write_report

    out = Path(args.out)
    if args.report_only:
        if not RESULTS.exists():
            print(f"no results at {RESULTS}; run the benchmark first", file=sys.stderr)
            return 1
        results = json.loads(RESULTS.read_text())
    else:
        results = run(args)
        CACHE.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results))
        stamp = results["started"].replace(":", "").replace("-", "")[:15]
        (CACHE / f"results-{stamp}.json").write_text(json.dumps(results))
    verdicts = write_report(results, out)
    log(f"report: {out.relative_to(ROOT) if out.is_relative_to(ROOT) else out}")
    for v in verdicts:
        word = "NOT JUDGED" if v.get("not_judged") else ("MET" if v["met"] else "MISSED")
        log(f"target {word}: {v['target']} -> {v['measured']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
