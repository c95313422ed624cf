"""reports/benchmark.md and the charts in reports/bench/, from the results dict of run_bench.py.

page.py puts the page together; each section and the charts have their own module, so a
change to one part of the report is made in one place.
"""

from bench.report.page import write_report

__all__ = ["write_report"]
