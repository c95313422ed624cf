"""The report's charts (reports/bench/*.png), one function per chart, drawn headless.

Each returns the chart's path relative to reports/, as the page links it.
"""

from __future__ import annotations

from typing import Any, Dict, List

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from bench.report.formatting import lv  # noqa: E402
from bench.report.verdicts import P95_TARGET_MS  # noqa: E402
from bench.workspace import ROOT  # noqa: E402

CHART_DIR = ROOT / "reports" / "bench"
COLORS = {"project": "#1f6fb2", "baseline": "#b0b0b0"}


def save(fig: Figure, name: str) -> str:
    fig.tight_layout()
    fig.savefig(CHART_DIR / name, dpi=110)
    plt.close(fig)
    return f"bench/{name}"


def latency_levels(results: Dict[str, Any], labels: List[str], names: List[str]) -> str:
    """Median, p95 and p99 turn latency per load level and stack, with the p95 target."""
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
    return save(fig, "latency_levels.png")


def throughput(results: Dict[str, Any], labels: List[str], names: List[str]) -> str:
    """Answered turns per second at each level and at saturation."""
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
    return save(fig, "throughput.png")


def latency_cdf(results: Dict[str, Any], labels: List[str]) -> str:
    """The whole latency distribution at 10 conversations, where the p95 target applies."""
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
    return save(fig, "latency_cdf_c10.png")


def soak_memory(soak: Dict[str, Any]) -> str:
    """RSS of each server over the soak, with the first and last windows the growth compares."""
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
    return save(fig, "soak_memory.png")


def startup_training(results: Dict[str, Any]) -> str:
    """Cold start of each stack, and training time of the models trained successfully."""
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
    return save(fig, "startup_training.png")


def charts(results: Dict[str, Any]) -> Dict[str, str]:
    """Draw every chart the results allow; {what: path relative to reports/}."""
    CHART_DIR.mkdir(parents=True, exist_ok=True)
    labels = list((results.get("levels") or {}).keys())
    names = [f"c{c}" for c in results["settings"]["levels"]]
    files = {
        "latency": latency_levels(results, labels, names),
        "throughput": throughput(results, labels, names),
        "cdf": latency_cdf(results, labels),
    }
    soak = results.get("soak")
    if soak:
        files["soak"] = soak_memory(soak)
    files["startup"] = startup_training(results)
    return files
