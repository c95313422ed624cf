"""reports/benchmark.md put together: the header with the run's caveats, then the
sections in reading order (verdicts first, method last), and the charts they link."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from bench.report.charts import charts
from bench.report.comparison import ablation_section, comparison_section, notes_section
from bench.report.details import escalated_questions_section, levels_section, soak_section
from bench.report.method import machine_section, method_section
from bench.report.verdicts import targets_section, verdicts


def header(results: Dict[str, Any]) -> List[str]:
    """Title, when and how the run was made, and the warnings a quick or short-trained run needs."""
    L = [
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
    return L


def chart_links(files: Dict[str, str]) -> List[str]:
    return [
        f"![turn latency per level]({files['latency']})",
        "",
        f"![throughput]({files['throughput']})",
        "",
        f"![latency distribution at 10 conversations]({files['cdf']})",
        "",
        f"![cold start and training]({files['startup']})",
        "",
    ]


def write_report(results: Dict[str, Any], out: Path) -> List[Dict[str, Any]]:
    """Draw the charts, write the page to `out`, and return the verdicts (run_bench.py logs them)."""
    files = charts(results)
    vs = verdicts(results)
    L = header(results) + targets_section(vs)
    L += comparison_section(results) + notes_section(results) + chart_links(files)
    L += levels_section(results) + escalated_questions_section(results) + ablation_section(results)
    L += soak_section(results, files.get("soak", ""))
    L += machine_section(results) + [""]
    L += method_section(results)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(L))
    return vs
