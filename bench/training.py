"""Training time of config.yml, and the baseline model the project is compared with.

Both are trained by `rasa train` with an empty Rasa training cache, so the time is
the full cost. The project is trained (and timed) on every run unless told to reuse
the last time; the baseline (Rasa's default NLU pipeline + this project's policies)
is retrained only when what it is trained from changes, since that takes long.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional

import yaml

from bench import procstats
from bench.workspace import BASE_ENV, BASELINE_CONFIG, BASELINE_META, BASELINE_MODEL, CACHE, RASA, ROOT, TRAIN_TIMEOUT_S, TRAIN_TIMES, log


def files_hash(paths: List[Path], extra: str = "") -> str:
    h = hashlib.sha256(extra.encode())
    for base in paths:
        files = [base] if base.is_file() else sorted(p for p in base.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
        for f in files:
            h.update(str(f.relative_to(ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def write_baseline_config(epochs: Optional[int] = None) -> str:
    """Rasa's default NLU pipeline + this project's policies, in one config file.

    `epochs` (latency-only runs) caps DIET's and the ResponseSelector's training
    epochs: inference cost does not depend on how long a model was trained, so
    the latency and CPU ratios stay fair while the baseline trains in minutes;
    the baseline's accuracy figures are then not comparable (the report says so).
    """
    default = yaml.safe_load((ROOT / "config" / "nlu_candidates" / "rasa_default.yml").read_text())
    if epochs:
        for component in default["pipeline"]:
            if component.get("name") in ("DIETClassifier", "ResponseSelector"):
                component["epochs"] = epochs
    project = yaml.safe_load((ROOT / "config.yml").read_text())
    combined = {
        "recipe": project.get("recipe", "default.v1"),
        "language": default.get("language", project.get("language", "en")),
        "assistant_id": f"{project.get('assistant_id', 'assistant')}-baseline",
        "pipeline": default["pipeline"],
        "policies": project["policies"],
    }
    text = (
        "# Written by bench/run_bench.py at run time: Rasa's default NLU pipeline\n"
        "# (config/nlu_candidates/rasa_default.yml) + this project's policies (config.yml).\n" + yaml.safe_dump(combined, sort_keys=False)
    )
    CACHE.mkdir(parents=True, exist_ok=True)
    BASELINE_CONFIG.write_text(text)
    return text


def rasa_version() -> str:
    try:
        from importlib.metadata import version

        return version("rasa")
    except Exception:
        return "unknown"


def train(config: Path, name: str) -> Dict[str, Any]:
    """`rasa train` into .cache/bench/<name>.tar.gz with an empty training cache; timed."""
    CACHE.mkdir(parents=True, exist_ok=True)
    logs = CACHE / "logs"
    logs.mkdir(exist_ok=True)
    log_path = logs / f"train-{name}.log"
    cache_dir = Path(tempfile.mkdtemp(prefix=f"rasa-cache-{name}-", dir=CACHE))
    env = dict(os.environ, **BASE_ENV, RASA_CACHE_DIRECTORY=str(cache_dir))
    cmd = [str(RASA), "train", "--domain", "domain", "--data", "data", "--config", str(config), "--out", str(CACHE), "--fixed-model-name", name]
    log(f"training {name}: {' '.join(cmd[1:])} (log: {log_path.relative_to(ROOT)})")
    la0 = procstats.load_average()[0]
    start = time.perf_counter()
    status, code = "ok", None
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            code = proc.wait(timeout=TRAIN_TIMEOUT_S)
            if code != 0:
                status = "failed"
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            status = "timeout"
    seconds = time.perf_counter() - start
    shutil.rmtree(cache_dir, ignore_errors=True)
    model = CACHE / f"{name}.tar.gz"
    tail = ""
    if status != "ok":
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
        log(f"training {name} {status} (exit {code}); last lines:\n{tail}")
    else:
        log(f"training {name}: {seconds:.0f} s")
    return {
        "name": name,
        "config": str(config.relative_to(ROOT)),
        "status": status,
        "exit_code": code,
        "seconds": round(seconds, 1),
        "model_mb": round(model.stat().st_size / 1e6, 1) if model.exists() and status == "ok" else None,
        "at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "loadavg_at_start": round(la0, 2),
        "loadavg_at_end": round(procstats.load_average()[0], 2),
        "error_tail": tail,
        "log": str(log_path.relative_to(ROOT)),
    }


def custom_code(config_text: str) -> List[Path]:
    """Project modules a config names (e.g. components.handoff_policy.HandoffPolicy -> components/handoff_policy.py)."""
    config = yaml.safe_load(config_text)
    paths: List[Path] = []
    for item in (config.get("pipeline") or []) + (config.get("policies") or []):
        parts = str(item.get("name", "")).split(".")[:-1]
        if not parts:
            continue
        module = ROOT.joinpath(*parts)
        for candidate in (module.with_suffix(".py"), module):
            if candidate.exists():
                paths.append(candidate)
                break
    return sorted(set(paths))


def ensure_baseline(force: bool, epochs: Optional[int] = None) -> Dict[str, Any]:
    """The baseline model, trained only when missing, failed last time, or trained from other inputs."""
    text = write_baseline_config(epochs)
    # what the baseline is trained from: its config, the data, the domain, and the project code its config names
    digest = files_hash([ROOT / "data", ROOT / "domain"] + custom_code(text), extra=text + rasa_version())
    meta = json.loads(BASELINE_META.read_text()) if BASELINE_META.exists() else {}
    if BASELINE_MODEL.exists() and meta.get("hash") == digest and meta.get("status") == "ok" and not force:
        log(f"baseline model up to date ({BASELINE_MODEL.relative_to(ROOT)}, trained {meta.get('at')})")
        return dict(meta, reused=True)
    result = train(BASELINE_CONFIG, "baseline")
    result["hash"] = digest
    BASELINE_META.write_text(json.dumps(result, indent=2))
    return dict(result, reused=False)


def project_training(skip: bool) -> Dict[str, Any]:
    """Train and time config.yml, or (`skip`) reuse the last successful measurement."""
    previous = json.loads(TRAIN_TIMES.read_text()) if TRAIN_TIMES.exists() else {}
    if skip and previous.get("status") == "ok":
        log(f"training time: reusing the measurement of {previous.get('at')} ({previous.get('seconds')} s)")
        return dict(previous, reused=True)
    result = train(ROOT / "config.yml", "project-timing")
    TRAIN_TIMES.write_text(json.dumps(result, indent=2))
    return dict(result, reused=False)
