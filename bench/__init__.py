"""Load/latency benchmark of the assistant (`make bench`); see bench/run_bench.py."""
