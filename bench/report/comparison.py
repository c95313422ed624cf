"""The project against what it is measured with: Rasa's default pipeline (same data,
policies, actions and servers) and, in the ablation, plain `rasa run`; with the notes
that say how far each comparison can be trusted (reused, failed or stale trainings)."""

from __future__ import annotations

from typing import Any, Dict, List

from bench.report.formatting import fmt, lv, ratio, table_row

SERVICES = ("rasa server", "action server")


def comparison_section(results: Dict[str, Any]) -> List[str]:
    """Project vs baseline: latency, throughput, CPU, NLU, cold start, training, size, memory."""
    has_base = "baseline" in (results.get("levels") or {})
    st = results["settings"]
    pt, bt = results.get("project_training") or {}, results.get("baseline_training") or {}

    def row(name: str, key: str, what: str, unit: str = " ms", digits: int = 1) -> str:
        p = lv(results, "project", name, key)
        b = lv(results, "baseline", name, key) if has_base else None
        return table_row(what, p, b, unit, digits)

    L = [
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
    L.append(table_row("NLU parse only (`/model/parse`) median", pp.get("p50_ms"), bp.get("p50_ms"), " ms", 1))
    L.append(table_row("NLU parse only p95", pp.get("p95_ms"), bp.get("p95_ms"), " ms", 1))
    cold = results.get("cold_start") or {}
    cp, cb = cold.get("project", {}), cold.get("baseline", {})
    L.append(table_row("cold start: servers up (HTTP health)", cp.get("ready_s"), cb.get("ready_s"), " s", 1))
    L.append(table_row("cold start: launch → first answered turn", cp.get("first_turn_s"), cb.get("first_turn_s"), " s", 1))
    L.append(table_row("the first turn alone", cp.get("first_turn_latency_s"), cb.get("first_turn_latency_s"), " s", 2))
    ptime = pt.get("seconds") if pt.get("status") == "ok" else None
    btime = bt.get("seconds") if bt.get("status") == "ok" else None
    ptext = fmt(ptime / 60, " min", 1) if ptime else pt.get("status", "–")
    btext = fmt(btime / 60, " min", 1) if btime else (bt.get("status") or "–")
    L.append(f"| training time (`rasa train`, empty cache) | {ptext} | {btext} | {ratio(ptime, btime)} |")
    mm = results.get("model_mb") or {}
    L.append(table_row("model size", mm.get("project"), mm.get("baseline"), " MB", 1))
    pk = results.get("peak_rss_mb") or {}
    hwm = results.get("hwm_mb") or {}
    for svc in SERVICES:
        a, b = (pk.get("project") or {}).get(svc), (pk.get("baseline") or {}).get(svc)
        L.append(table_row(f"peak RSS, {svc} (process tree, sampled every 1 s)", a, b, " MB", 0))
    for svc in SERVICES:
        a, b = (hwm.get("project") or {}).get(svc), (hwm.get("baseline") or {}).get(svc)
        L.append(table_row(f"peak RSS, {svc} (kernel VmHWM, incl. loading the model)", a, b, " MB", 0))
    return L + [""]


def notes_section(results: Dict[str, Any]) -> List[str]:
    """Where the training times come from, trainings that failed, and the models served (stale or not)."""
    pt, bt = results.get("project_training") or {}, results.get("baseline_training") or {}
    ptime = pt.get("seconds") if pt.get("status") == "ok" else None
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
        return ["Notes:", ""] + [f"- {n}" for n in notes] + [""]
    return []


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
        L.append(table_row(what, fixed.get(key), stock.get(key), unit, digits))
    L.append(table_row("the first turn after start", first_fixed, first_stock, " s", 2))
    return L + [""]
