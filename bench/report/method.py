"""How the figures were obtained: the machine and how busy it was, the method, and how
to re-run; what a reader needs before trusting or comparing the numbers above."""

from __future__ import annotations

from typing import Any, Dict, List

from bench.report.formatting import fmt


def machine_section(results: Dict[str, Any]) -> List[str]:
    m = results["machine"]
    s, e = results.get("conditions_start") or {}, results.get("conditions_end") or {}
    cpus = m.get("cpus_usable") or m.get("cpus") or 1
    # CPU busy is measured with nothing of ours running; the load average also counts what
    # `make bench` itself ran just before (venv, training), so it does not decide alone
    noisy = any((c.get("cpu_busy") or 0) > 0.25 for c in (s, e))
    busy_before = (s.get("loadavg") or [0])[0] > 0.5 * cpus
    v = m.get("versions", {})
    lines = [
        "## Machine and conditions",
        "",
        f"- CPU: {m['cpu']}, {m['cpus']} logical CPUs ({m.get('cpus_usable')} usable by this process); "
        f"memory {m.get('memory_gb')} GB; {m['os']}; Python {m['python']}",
        f"- Rasa {v.get('rasa', '?')}, rasa-sdk {v.get('rasa-sdk', '?')}, TensorFlow {v.get('tensorflow', '?')}, "
        f"spaCy {v.get('spacy', '?')}, Sanic {v.get('sanic', '?')}; load generator: aiohttp {v.get('aiohttp', '?')} "
        "in the same machine (its CPU use competes with the servers)",
        f"- Load average (1/5/15 min) at start: {' / '.join(str(x) for x in s.get('loadavg', []))} "
        f"({s.get('at', '?')}); at end: {' / '.join(str(x) for x in e.get('loadavg', []))} ({e.get('at', '?')})",
        f"- All CPUs busy, measured over 2 s with nothing of ours running: {fmt((s.get('cpu_busy') or 0) * 100, '%')} "
        f"at start; {fmt((e.get('cpu_busy') or 0) * 100, '%')} at end (after our servers stopped)",
    ]
    if busy_before and not noisy:
        lines.append(
            "- The load average at the start counts the installs and trainings this same `make bench` ran "
            "just before (CPU time, not other jobs: the CPUs were idle when the measurements began)."
        )
    if noisy:
        lines.append(
            "- **The machine was shared with other jobs during this run** (CPUs busy with other work before we "
            "started or after we stopped). Absolute times are inflated and noisy; the project/baseline *ratios* are "
            "the more reliable figures, because both stacks were measured back to back at every level, in "
            "alternating order, and server CPU time per turn (from /proc) does not count time spent waiting for "
            "the CPU."
        )
    return lines


def method_section(results: Dict[str, Any]) -> List[str]:
    """The method with this run's settings filled in, then how to re-run and the command of this run."""
    st = results["settings"]
    think = st["think_s"]
    return [
        "## Method",
        "",
        "- Everything runs on 127.0.0.1: two stacks started by `clinic_bot.launcher.Stack` (action server + Rasa "
        "server, free ports, temporary data folders, SQLite tracker store and ticket database, in-memory lock store "
        "as in `endpoints.yml`), and a loopback recording server as the staff webhook.",
        f"- A *conversation* is a scripted patient (`bench/scenario.py`): a greeting, 4-8 turns mixing FAQ "
        f"questions, \"tell me more\" follow-ups, clinic-hours and booking questions, then thanks or goodbye; about 5% "
        f"of turns are red flags, which put the conversation into handoff, after which the simulated person starts "
        f"a new conversation with a new sender id. Wording comes from `{results.get('phrase_sources', {}).get('questions', 'tests/nlu/heldout.yml')}` "
        f"(never trained on) and red flags from `{results.get('phrase_sources', {}).get('red flags', 'tests/red_flags/dev_set.yml')}`.",
        f"- *N concurrent conversations* = N simulated people, each waiting for the full answer and then thinking "
        f"{think[0]:g}-{think[1]:g} s (uniform) before the next turn: about 5-10× faster than real patients, who read "
        f"the answer and type. The *saturation* row removes the think time (10 requests always in flight) to find "
        f"the throughput ceiling.",
        f"- Turn latency: from sending `POST /webhooks/rest/webhook` to having read the whole reply (NLU, policies, "
        f"tracker store, custom actions over HTTP). A turn slower than {st['timeout_s']:g} s counts as a timeout; an "
        "HTTP status other than 200 or a connection failure counts as an error.",
        f"- Levels last {st['level_seconds']:g} s each (saturation {st['saturation_seconds']:g} s), and go on until at "
        f"least {st.get('min_turns', 0)} turns are done (at most 3× as long); the project and the "
        "baseline run back to back at each level, alternating which goes first, with both stacks started. Warm-up "
        "turns before measuring. NLU-only latency: "
        f"{st['parse_requests']} `POST /model/parse` requests per model, alternating between the models.",
        "- Cold start: from launching the server processes to the first answered REST turn (and to the HTTP health "
        "check passing); each stack is started alone.",
        "- Memory: VmRSS from `/proc/<pid>/status` summed over each server's process tree, sampled every second; "
        "peak = highest sample. Server CPU per turn: utime+stime from `/proc/<pid>/stat` over the level, divided by "
        "answered turns (unaffected by time spent waiting for a busy CPU, so comparable on a shared machine).",
        "- Soak: growth = mean RSS of the last window / mean RSS of the first window - 1 (window = 1 minute, or a "
        "quarter of the soak if it is shorter than 4 minutes); flat = at most +10% for each server.",
        "- Training time: `rasa train` of `config.yml` into `.cache/bench/` with an empty training cache "
        "(`RASA_CACHE_DIRECTORY` set to a fresh folder), measured every run unless `--skip-train-timing`; the "
        "baseline model is retrained only when its inputs change (hash of its config, `data/`, `domain/`, "
        "`components/` and the Rasa version), and its training time is the one measured then.",
        "",
        "## How to re-run",
        "",
        "```bash",
        "make bench                                        # full run: 60 s levels, 10-minute soak (~40 min)",
        'BENCH_ARGS="--quick" make bench                   # quick check (~10 min + baseline training the first time)',
        ".venv/bin/python bench/run_bench.py --quick       # the same without make (does not retrain models/)",
        ".venv/bin/python bench/run_bench.py --soak-minutes 30 --levels 1,10,50,100",
        ".venv/bin/python bench/run_bench.py --report-only # re-render this page from .cache/bench/results.json",
        "```",
        "",
        "Other options: `--level-seconds`, `--think MIN,MAX`, `--timeout`, `--parse-requests`, "
        "`--skip-train-timing`, `--retrain-baseline`, `--no-baseline`, `--seed`. Run it on an otherwise idle "
        "machine for absolute numbers; on a shared one, compare ratios.",
        "",
        f"Command of this run: `{results.get('command', '')}`",
        "",
    ]
