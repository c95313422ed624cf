"""reports/benchmark.md and the charts in reports/bench/, from the results dict of run_bench.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CHART_DIR = ROOT / "reports" / "bench"
P95_TARGET_MS = 150.0
MEMORY_GROWTH_LIMIT = 0.10
COLORS = {"project": "#1f6fb2", "baseline": "#b0b0b0"}
SERVICES = ("rasa server", "action server")


# ----------------------------------------------------------------------------- helpers


def fmt(x: Any, unit: str = "", digits: int = 0) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        x = round(x, digits)
        if digits == 0:
            x = int(x)
    return f"{x:,}{unit}" if isinstance(x, int) else f"{x}{unit}"


def _kinds(d: Optional[Dict[str, int]]) -> str:
    return f" ({', '.join(f'{k} {v}' for k, v in d.items())})" if d else ""


def ratio(a: Optional[float], b: Optional[float]) -> str:
    if a is None or b in (None, 0):
        return "–"
    return f"{a / b:.2f}×"


def level(results: Dict[str, Any], label: str, name: str) -> Optional[Dict[str, Any]]:
    return ((results.get("levels") or {}).get(label) or {}).get(name, {}).get("summary")


def lv(results: Dict[str, Any], label: str, name: str, key: str) -> Any:
    s = level(results, label, name)
    return s.get(key) if s else None


# ----------------------------------------------------------------------------- verdicts


def verdicts(results: Dict[str, Any]) -> List[Dict[str, Any]]:
    out = []
    p95 = lv(results, "project", "c10", "p95_ms")
    out.append(
        {
            "target": f"p95 turn latency < {P95_TARGET_MS:.0f} ms at 10 concurrent conversations",
            "measured": f"{fmt(p95, ' ms', 1)}" if p95 is not None else "not measured",
            "met": p95 is not None and p95 < P95_TARGET_MS,
        }
    )
    c50 = level(results, "project", "c50")
    if c50:
        bad = c50["errors"] + c50["timeouts"]
        alive = all((results["levels"]["project"]["c50"]["summary"].get("alive_after") or {}).values())
        out.append(
            {
                "target": "no errors at 50 concurrent conversations",
                "measured": f"{c50['errors']} errors, {c50['timeouts']} timeouts (> {results['settings']['timeout_s']:g} s) "
                f"in {c50['turns']} turns" + ("" if alive else "; a server died"),
                "met": bad == 0 and alive,
            }
        )
    else:
        out.append({"target": "no errors at 50 concurrent conversations", "measured": "not measured", "met": False})
    soak = results.get("soak")
    if soak:
        growths = {svc: m.get("growth") for svc, m in soak["memory"].items()}
        worst = max((g for g in growths.values() if g is not None), default=None)
        minutes = soak["duration_s"] / 60
        short = "" if minutes >= 10 else f" (only a {minutes:g}-minute soak: quick mode; the target asks for 10)"
        out.append(
            {
                "target": f"memory flat over the soak (≤ {MEMORY_GROWTH_LIMIT * 100:.0f}% RSS growth, first vs last minute)",
                "measured": ", ".join(f"{svc} {g * 100:+.1f}%" for svc, g in growths.items() if g is not None) + short,
                "met": worst is not None and worst <= MEMORY_GROWTH_LIMIT and soak["summary"]["errors"] == 0 and not short,
                "not_judged": bool(short) and worst is not None and worst <= MEMORY_GROWTH_LIMIT,
            }
        )
    return out


# ----------------------------------------------------------------------------- charts


def charts(results: Dict[str, Any]) -> Dict[str, str]:
    CHART_DIR.mkdir(parents=True, exist_ok=True)
    labels = list((results.get("levels") or {}).keys())
    names = [f"c{c}" for c in results["settings"]["levels"]]
    files: Dict[str, str] = {}

    # latency percentiles per level
    fig, axes = plt.subplots(1, 3, figsize=(12, 4), sharey=True)
    for ax, key, title in zip(axes, ("p50_ms", "p95_ms", "p99_ms"), ("median", "p95", "p99"), strict=False):
        width = 0.8 / max(1, len(labels))
        for i, label in enumerate(labels):
            ys = [lv(results, label, n, key) or 0 for n in names]
            xs = [j + i * width for j in range(len(names))]
            ax.bar(xs, ys, width=width, label=label, color=COLORS.get(label))
        ax.set_xticks([j + width * (len(labels) - 1) / 2 for j in range(len(names))])
        ax.set_xticklabels([n[1:] for n in names])
        ax.set_xlabel("concurrent conversations")
        ax.set_title(f"turn latency, {title}")
        ax.set_yscale("log")
        ax.set_ylim(10, max(1000.0, 2 * max((lv(results, l, n, "p99_ms") or 0) for l in labels for n in names)))
        for patch in ax.patches:
            h = patch.get_height()
            if h > 0:
                ax.annotate(f"{h:.0f}", (patch.get_x() + patch.get_width() / 2, h), ha="center", va="bottom", fontsize=7)
        if key == "p95_ms":
            ax.axhline(P95_TARGET_MS, color="#c0392b", linestyle="--", linewidth=1, label="p95 target")
    axes[0].set_ylabel("ms (log scale)")
    axes[1].legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(CHART_DIR / "latency_levels.png", dpi=110)
    plt.close(fig)
    files["latency"] = "bench/latency_levels.png"

    # throughput
    fig, ax = plt.subplots(figsize=(7, 4))
    allnames = names + ["saturation"]
    width = 0.8 / max(1, len(labels))
    for i, label in enumerate(labels):
        ys = [lv(results, label, n, "throughput_tps") or 0 for n in allnames]
        ax.bar([j + i * width for j in range(len(allnames))], ys, width=width, label=label, color=COLORS.get(label))
    ax.set_xticks([j + width * (len(labels) - 1) / 2 for j in range(len(allnames))])
    ax.set_xticklabels([n[1:] + " conv." if n.startswith("c") else "10, no think\ntime" for n in allnames])
    ax.set_ylabel("answered turns / s")
    ax.set_title("throughput")
    ax.legend()
    fig.tight_layout()
    fig.savefig(CHART_DIR / "throughput.png", dpi=110)
    plt.close(fig)
    files["throughput"] = "bench/throughput.png"

    # latency distribution at 10 conversations
    fig, ax = plt.subplots(figsize=(7, 4))
    for label in labels:
        lat = sorted(((results["levels"][label].get("c10") or {}).get("latencies_ms")) or [])
        if lat:
            ax.plot(lat, [(i + 1) / len(lat) for i in range(len(lat))], label=label, color=COLORS.get(label))
    ax.axvline(P95_TARGET_MS, color="#c0392b", linestyle="--", linewidth=1, label="150 ms")
    ax.axhline(0.95, color="#888", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("turn latency, ms (log scale)")
    ax.set_ylabel("share of turns")
    ax.set_title("latency distribution at 10 concurrent conversations")
    ax.legend()
    fig.tight_layout()
    fig.savefig(CHART_DIR / "latency_cdf_c10.png", dpi=110)
    plt.close(fig)
    files["cdf"] = "bench/latency_cdf_c10.png"

    # soak memory
    soak = results.get("soak")
    if soak:
        fig, ax = plt.subplots(figsize=(8, 4))
        for svc, m in soak["memory"].items():
            pts = m["series"]
            if pts:
                ax.plot([t / 60 for t, _ in pts], [v for _, v in pts], label=svc)
        w = soak["window_s"] / 60
        d = soak["duration_s"] / 60
        ax.axvspan(0, w, color="#2ecc71", alpha=0.12, label="first window")
        ax.axvspan(d - w, d, color="#e67e22", alpha=0.12, label="last window")
        ax.set_xlabel("minutes into the soak")
        ax.set_ylabel("RSS, MB (process tree)")
        ax.set_ylim(bottom=0)
        ax.set_title("memory during the soak (project, 10 concurrent conversations)")
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(CHART_DIR / "soak_memory.png", dpi=110)
        plt.close(fig)
        files["soak"] = "bench/soak_memory.png"

    # start-up and training
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    cold = results.get("cold_start") or {}
    ax = axes[0]
    width = 0.8 / max(1, len(cold))
    for i, label in enumerate(cold):
        ys = [cold[label]["ready_s"], cold[label]["first_turn_s"]]
        ax.bar([j + i * width for j in range(2)], ys, width=width, color=COLORS.get(label), label=label)
    ax.set_xticks([j + width * (len(cold) - 1) / 2 for j in range(2)])
    ax.set_xticklabels(["servers up (health)", "first answered turn"])
    ax.set_ylabel("seconds after launch")
    ax.set_title("cold start", fontsize=10)
    ax.legend(fontsize=8)
    ax = axes[1]
    train = {
        k: v
        for k, v in (("project", results.get("project_training")), ("baseline", results.get("baseline_training")))
        if v and v.get("status") == "ok"
    }
    ax.bar(range(len(train)), [v["seconds"] / 60 for v in train.values()], color=[COLORS.get(k) for k in train])
    ax.set_xticks(range(len(train)))
    ax.set_xticklabels(list(train))
    ax.set_ylabel("minutes")
    ax.set_title("training time (empty Rasa cache)", fontsize=10)
    fig.tight_layout()
    fig.savefig(CHART_DIR / "startup_training.png", dpi=110)
    plt.close(fig)
    files["startup"] = "bench/startup_training.png"
    return files


# ----------------------------------------------------------------------------- markdown


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


def ablation_section(results: Dict[str, Any]) -> List[str]:
    """What clinic_bot.rasa_runtime and the start-up warm-up are worth, measured in the same run."""
    ab = results.get("ablation")
    if not ab:
        return []
    levels = ab.get("levels") or {}
    fixed, stock = (levels.get("project") or {}).get("summary"), (levels.get("project-stock-rasa") or {}).get("summary")
    if not fixed or not stock:
        return []
    first_fixed = ((results.get("cold_start") or {}).get("project") or {}).get("first_turn_latency_s")
    first_stock = (ab.get("cold_start") or {}).get("first_turn_latency_s")
    L = [
        "## What the runtime fixes are worth",
        "",
        "The project model served twice, back to back at 10 concurrent conversations: as `make run` serves it "
        "(`python -m clinic_bot.rasa_runtime run`: Rasa's action-response schema validator built once instead of "
        "per custom-action call, SQLite tracker in WAL mode, a parse-only warm-up at start) and on plain `rasa run`. "
        "Both stacks also include the red-flag word lists loaded with the model. Found by profiling the Rasa "
        "server under this load with py-spy: about a third of its CPU went to re-checking the fixed JSON schema.",
        "",
        "| metric | as run (`clinic_bot.rasa_runtime`) | plain `rasa run` | ratio |",
        "|---|---|---|---|",
    ]
    for key, what, unit, digits in (
        ("p50_ms", "turn latency median", " ms", 1),
        ("p95_ms", "turn latency p95", " ms", 1),
        ("p99_ms", "turn latency p99", " ms", 1),
        ("server_cpu_ms_per_turn", "server CPU per turn (Rasa + actions)", " ms", 1),
        ("errors", "errors", "", 0),
    ):
        L.append(
            f"| {what} | {fmt(fixed.get(key), unit, digits)} | {fmt(stock.get(key), unit, digits)} | " f"{ratio(fixed.get(key), stock.get(key))} |"
        )
    L.append(f"| the first turn after start | {fmt(first_fixed, ' s', 2)} | {fmt(first_stock, ' s', 2)} | " f"{ratio(first_fixed, first_stock)} |")
    return L + [""]


def write_report(results: Dict[str, Any], out: Path) -> List[Dict[str, Any]]:
    files = charts(results)
    vs = verdicts(results)
    has_base = "baseline" in (results.get("levels") or {})
    st = results["settings"]
    think = st["think_s"]
    pt, bt = results.get("project_training") or {}, results.get("baseline_training") or {}
    L: List[str] = [
        "# Performance benchmark",
        "",
        f"Measured by `make bench` (`bench/run_bench.py`), **{results['mode']} mode**, started {results['started']}, "
        f"finished {results.get('finished', '?')}. Raw results: `.cache/bench/results.json` (not in git).",
        "",
    ]
    if results["mode"] == "quick":
        L += [
            "> Quick mode: 15-second load levels and a 1-minute soak, to check that the benchmark works. "
            "The figures are indicative only; the soak is too short for the 10-minute memory target.",
            "",
        ]
    if results.get("baseline_epochs"):
        L += [
            f"> The baseline was trained for {results['baseline_epochs']} epochs only (`--baseline-epochs`): its latency "
            "and CPU figures are fair (inference cost does not depend on training length), its accuracy-related rows "
            "(red flags under load) are not.",
            "",
        ]
    L += ["## Targets", "", "| target | measured (this project) | verdict |", "|---|---|---|"]
    for v in vs:
        verdict = (
            "⚪ not measured"
            if v["measured"] == "not measured"
            else "⚪ flat, but too short to judge"
            if v.get("not_judged")
            else ("✅ met" if v["met"] else "❌ missed")
        )
        L.append(f"| {v['target']} | {v['measured']} | {verdict} |")
    L += [""]

    # ---- comparison table
    def row(name: str, key: str, what: str, unit: str = " ms", digits: int = 1) -> str:
        p = lv(results, "project", name, key)
        b = lv(results, "baseline", name, key) if has_base else None
        return f"| {what} | {fmt(p, unit, digits)} | {fmt(b, unit, digits)} | {ratio(p, b)} |"

    L += [
        "## This project vs Rasa's default pipeline",
        "",
        "Baseline: the same data, domain, policies, custom actions and servers, with Rasa 3.6's default NLU pipeline "
        "(`config/nlu_candidates/rasa_default.yml`; the combined config is written to "
        "`.cache/bench/baseline_config.yml` at run time). Ratio = project / baseline (below 1×: the project is "
        "faster or smaller).",
        "",
        "| metric | project | baseline | ratio |",
        "|---|---|---|---|",
    ]
    for c in st["levels"]:
        n = f"c{c}"
        L.append(row(n, "p50_ms", f"turn latency median, {c} conv."))
        L.append(row(n, "p95_ms", f"turn latency p95, {c} conv."))
        L.append(row(n, "p99_ms", f"turn latency p99, {c} conv."))
    for c in st["levels"]:
        L.append(row(f"c{c}", "throughput_tps", f"throughput, {c} conv. (turns/s)", "", 2))
    L.append(row("saturation", "throughput_tps", "throughput ceiling, 10 conv. without think time (turns/s)", "", 2))
    L.append(row("saturation", "p95_ms", "turn latency p95 at that ceiling"))
    L.append(row("c10", "server_cpu_ms_per_turn", "server CPU per turn at 10 conv. (Rasa + actions)"))
    parse = results.get("parse") or {}
    pp, bp = parse.get("project", {}), parse.get("baseline", {})
    L.append(
        f"| NLU parse only (`/model/parse`) median | {fmt(pp.get('p50_ms'), ' ms', 1)} | {fmt(bp.get('p50_ms'), ' ms', 1)} | {ratio(pp.get('p50_ms'), bp.get('p50_ms'))} |"
    )
    L.append(
        f"| NLU parse only p95 | {fmt(pp.get('p95_ms'), ' ms', 1)} | {fmt(bp.get('p95_ms'), ' ms', 1)} | {ratio(pp.get('p95_ms'), bp.get('p95_ms'))} |"
    )
    cold = results.get("cold_start") or {}
    cp, cb = cold.get("project", {}), cold.get("baseline", {})
    L.append(
        f"| cold start: servers up (HTTP health) | {fmt(cp.get('ready_s'), ' s', 1)} | {fmt(cb.get('ready_s'), ' s', 1)} | {ratio(cp.get('ready_s'), cb.get('ready_s'))} |"
    )
    L.append(
        f"| cold start: launch → first answered turn | {fmt(cp.get('first_turn_s'), ' s', 1)} | {fmt(cb.get('first_turn_s'), ' s', 1)} | {ratio(cp.get('first_turn_s'), cb.get('first_turn_s'))} |"
    )
    L.append(
        f"| the first turn alone | {fmt(cp.get('first_turn_latency_s'), ' s', 2)} | {fmt(cb.get('first_turn_latency_s'), ' s', 2)} | {ratio(cp.get('first_turn_latency_s'), cb.get('first_turn_latency_s'))} |"
    )
    ptime = pt.get("seconds") if pt.get("status") == "ok" else None
    btime = bt.get("seconds") if bt.get("status") == "ok" else None
    L.append(
        f"| training time (`rasa train`, empty cache) | {fmt(ptime / 60 if ptime else None, ' min', 1) if ptime else pt.get('status', '–')} | {fmt(btime / 60 if btime else None, ' min', 1) if btime else (bt.get('status') or '–')} | {ratio(ptime, btime)} |"
    )
    mm = results.get("model_mb") or {}
    L.append(
        f"| model size | {fmt(mm.get('project'), ' MB', 1)} | {fmt(mm.get('baseline'), ' MB', 1)} | {ratio(mm.get('project'), mm.get('baseline'))} |"
    )
    pk = results.get("peak_rss_mb") or {}
    hwm = results.get("hwm_mb") or {}
    for svc in SERVICES:
        a, b = (pk.get("project") or {}).get(svc), (pk.get("baseline") or {}).get(svc)
        L.append(f"| peak RSS, {svc} (process tree, sampled every 1 s) | {fmt(a, ' MB', 0)} | {fmt(b, ' MB', 0)} | {ratio(a, b)} |")
    for svc in SERVICES:
        a, b = (hwm.get("project") or {}).get(svc), (hwm.get("baseline") or {}).get(svc)
        L.append(f"| peak RSS, {svc} (kernel VmHWM, incl. loading the model) | {fmt(a, ' MB', 0)} | {fmt(b, ' MB', 0)} | {ratio(a, b)} |")
    L += [""]
    notes = []
    if pt.get("reused"):
        notes.append(f"project training time reused from the measurement of {pt.get('at')} (`--skip-train-timing`)")
    if pt.get("status") and pt.get("status") != "ok":
        notes.append(
            f"training config.yml **{pt['status']}** in this run (exit {pt.get('exit_code')}; see "
            f"`{pt.get('log')}`); last lines:\n\n```\n{pt.get('error_tail', '')}\n```\n"
        )
    if bt.get("reused"):
        notes.append(
            f"baseline model reused (inputs unchanged since {bt.get('at')}); its training time was measured then "
            f"(load average {bt.get('loadavg_at_start')} at that start)"
        )
    if bt.get("status") and bt.get("status") != "ok":
        notes.append(f"baseline training **{bt['status']}** (see `{bt.get('log')}`)")
    if ptime and not pt.get("reused"):
        notes.append(
            f"project training measured in this run, load average {pt.get('loadavg_at_start')} at its start "
            f"and {pt.get('loadavg_at_end')} at its end"
        )
    for label, info in (results.get("models") or {}).items():
        stale = (
            (
                " — **older than its training inputs** (changed since: "
                + ", ".join(f"`{f}`" for f in info.get("newer_inputs", []))
                + "; `make bench` retrains first)"
            )
            if info.get("stale")
            else ""
        )
        notes.append(f"{label} model served: `{info.get('path')}`, trained {info.get('trained_at', '?')}{stale}")
    if notes:
        L += ["Notes:", ""] + [f"- {n}" for n in notes] + [""]

    L += [
        f"![turn latency per level]({files['latency']})",
        "",
        f"![throughput]({files['throughput']})",
        "",
        f"![latency distribution at 10 conversations]({files['cdf']})",
        "",
        f"![cold start and training]({files['startup']})",
        "",
    ]

    # ---- per level details
    L += [
        "## Load levels in detail",
        "",
        "| stack | level | turns | conversations | turns/s | median | p95 | p99 | max | errors | timeouts | empty replies | red flags escalated | other turns escalated | server CPU/turn |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, levels in (results.get("levels") or {}).items():
        for name, data in levels.items():
            s = data["summary"]
            L.append(
                f"| {label} | {name} | {s['turns']} | {s['conversations']} | {s['throughput_tps']} | {fmt(s['p50_ms'], ' ms', 1)} | "
                f"{fmt(s['p95_ms'], ' ms', 1)} | {fmt(s['p99_ms'], ' ms', 1)} | {fmt(s['max_ms'], ' ms', 1)} | {s['errors']} | "
                f"{s['timeouts']} | {s['empty_replies']}{_kinds(s.get('empty_by_kind'))} | {s['red_flags_escalated']}/{s['red_flags_sent']} | "
                f"{s.get('unexpected_escalations', '–')} | {fmt(s['server_cpu_ms_per_turn'], ' ms', 1)} |"
            )
    L += [
        "",
        "*Empty replies*: turns other than red flags that got an HTTP 200 with no bot message (by kind of turn). "
        "*Other turns escalated*: FAQ, clinic or small-talk turns from the held-out set that got the red-flag safety "
        "message (a false escalation, or a held-out question that does describe a red flag); the simulated person "
        "then starts a new conversation, as after a red flag. *Red flags escalated*: "
        "red-flag turns whose reply carried the safety message (`metadata.urgency`); the red-flag texts are the "
        "hand-labelled positives of `tests/red_flags/dev_set.yml`, so this is also a rough recall figure under load "
        "(see `make redflag-report` for the real one).",
        "",
    ]

    odd = {}
    for label, levels in (results.get("levels") or {}).items():
        for data in levels.values():
            for t in data["summary"].get("unexpected_escalation_texts") or []:
                odd.setdefault(label, set()).add(t)
    if odd:
        L += ["Held-out questions that got the red-flag safety message during the load levels:", ""]
        for label, items in odd.items():
            L += [f"- {label}: " + "; ".join(f'"{t}"' for t in sorted(items))]
        L += [""]

    L += ablation_section(results)

    # ---- soak
    soak = results.get("soak")
    if soak:
        s = soak["summary"]
        L += [
            "## Soak",
            "",
            f"Project stack alone, 10 concurrent conversations for {soak['duration_s'] / 60:g} min: {s['turns']} turns "
            f"in {s['conversations']} conversations, {s['throughput_tps']} turns/s, median {fmt(s['p50_ms'], ' ms', 1)}, "
            f"p95 {fmt(s['p95_ms'], ' ms', 1)}, p99 {fmt(s['p99_ms'], ' ms', 1)}, {s['errors']} errors, {s['timeouts']} timeouts.",
            "",
            f"| server | RSS, first {soak['window_s']:.0f} s (mean) | RSS, last {soak['window_s']:.0f} s (mean) | growth | max |",
            "|---|---|---|---|---|",
        ]
        for svc, m in soak["memory"].items():
            g = m.get("growth")
            L.append(
                f"| {svc} | {fmt(m['first_window_mb'], ' MB', 0)} | {fmt(m['last_window_mb'], ' MB', 0)} | "
                f"{'–' if g is None else f'{g * 100:+.1f}%'} | {fmt(m['max_mb'], ' MB', 0)} |"
            )
        L += ["", f"![memory during the soak]({files.get('soak', '')})", ""]

    L += machine_section(results) + [""]

    L += [
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
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(L))
    return vs
