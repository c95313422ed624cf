"""Where the benchmark keeps its files, what its servers and trainings find in their
environment, and how it logs: the few things every step of `make bench` shares.

Everything it writes goes under .cache/bench/ (not in git), except the report and its
charts (reports/).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / ".cache" / "bench"
RESULTS = CACHE / "results.json"
BASELINE_CONFIG = CACHE / "baseline_config.yml"
BASELINE_MODEL = CACHE / "baseline.tar.gz"
BASELINE_META = CACHE / "baseline.json"
TRAIN_TIMES = CACHE / "train_times.json"
PROJECT_MODEL = ROOT / "models" / "facet-assistant.tar.gz"
RASA = ROOT / ".venv" / "bin" / "rasa"
TRAIN_TIMEOUT_S = 90 * 60

# for `rasa train` and both servers: the project importable, quiet logs, no model downloads
BASE_ENV = {
    "PYTHONPATH": str(ROOT),
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def log(msg: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)
