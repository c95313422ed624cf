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
import asyncio
import hashlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench import procstats  # noqa: E402
from bench.loadgen import LevelResult, parse_latencies, percentile, run_level  # noqa: E402
from bench.scenario import load_phrasebook  # noqa: E402

CACHE = ROOT / ".cache" / "bench"
RESULTS = CACHE / "results.json"
BASELINE_CONFIG = CACHE / "baseline_config.yml"
BASELINE_MODEL = CACHE / "baseline.tar.gz"
BASELINE_META = CACHE / "baseline.json"
TRAIN_TIMES = CACHE / "train_times.json"
PROJECT_MODEL = ROOT / "models" / "facet-assistant.tar.gz"
RASA = ROOT / ".venv" / "bin" / "rasa"
TRAIN_TIMEOUT_S = 90 * 60

BASE_ENV = {
    "PYTHONPATH": str(ROOT),
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}


def log(msg: str) -> None:
    print(f"[bench {datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)


# ----------------------------------------------------------------------------- options


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
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


# ----------------------------------------------------------------------------- machine


def machine_description() -> Dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    versions: Dict[str, str] = {}
    try:
        from importlib.metadata import version

        for pkg in ("rasa", "rasa-sdk", "tensorflow", "spacy", "sanic", "aiohttp"):
            try:
                versions[pkg] = version(pkg)
            except Exception:
                pass
    except ImportError:
        pass
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "cpus_usable": affinity,
        "memory_gb": mem_gb,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "hostname_hash": hashlib.sha256(platform.node().encode()).hexdigest()[:8],
    }


def conditions(label: str) -> Dict[str, Any]:
    busy = procstats.machine_busy(2.0)
    la = procstats.load_average()
    log(f"{label}: load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, CPUs busy {busy * 100:.0f}%")
    return {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "loadavg": [round(x, 2) for x in la], "cpu_busy": round(busy, 3)}


# ----------------------------------------------------------------------------- training


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
                paths.append(candidate if candidate.is_file() else candidate)
                break
    return sorted(set(paths))


def model_info(path: Path) -> Dict[str, Any]:
    """Size and training date of a model archive (from its metadata.json)."""
    import tarfile

    info: Dict[str, Any] = {
        "path": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "mb": round(path.stat().st_size / 1e6, 1),
    }
    try:
        with tarfile.open(path, "r:gz") as tar:
            member = next(m for m in tar.getmembers() if m.name.lstrip("/") == "metadata.json")
            meta = json.load(tar.extractfile(member))
        info.update(trained_at=meta.get("trained_at"), rasa=meta.get("rasa_open_source_version"))
    except Exception:
        pass
    return info


def newer_inputs(model: Path) -> Optional[List[str]]:
    """Training inputs (the Makefile's MODEL_INPUTS) changed after `model` was written;
    None when make cannot say."""
    try:
        listed = subprocess.run(
            ["make", "-s", "--no-print-directory", "model-inputs"], cwd=ROOT, check=True, capture_output=True, text=True, timeout=60
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    t = model.stat().st_mtime
    return sorted(f for f in listed if (ROOT / f).is_file() and (ROOT / f).stat().st_mtime > t)


def ensure_baseline(force: bool, epochs: Optional[int] = None) -> Dict[str, Any]:
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
    previous = json.loads(TRAIN_TIMES.read_text()) if TRAIN_TIMES.exists() else {}
    if skip and previous.get("status") == "ok":
        log(f"training time: reusing the measurement of {previous.get('at')} ({previous.get('seconds')} s)")
        return dict(previous, reused=True)
    result = train(ROOT / "config.yml", "project-timing")
    TRAIN_TIMES.write_text(json.dumps(result, indent=2))
    return dict(result, reused=False)


# ----------------------------------------------------------------------------- stacks


def post_json(url: str, payload: Any, timeout: float = 120.0) -> Any:
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.loads(resp.read())


class Bench:
    """One served model: its Stack, cold start, and process handles."""

    def __init__(self, label: str, model: Path, staff_hook: str, sampler: procstats.MemorySampler, runtime_fixes: bool = True) -> None:
        from clinic_bot.launcher import Stack

        self.label = label
        self.model = model
        self.var_dir = Path(tempfile.mkdtemp(prefix=f"bench-{label}-"))
        self.stack = Stack(
            var_dir=self.var_dir,
            model=model,
            rasa_port=0,
            action_port=0,
            console_port=0,
            widget_port=0,
            with_console=False,
            with_widget=False,
            log_dir=CACHE / "logs" / label,
            runtime_fixes=runtime_fixes,
            extra_env={
                **BASE_ENV,
                "STAFF_WEBHOOK_URL": staff_hook,
                "STAFF_WEBHOOK_TIMEOUT": "2",
                "CLINIC_DB_URL": f"sqlite:///{self.var_dir / 'clinic.db'}",
            },
        )
        self.sampler = sampler
        self.cold: Dict[str, Any] = {}

    def service_names(self) -> List[str]:
        return [s.name for s in self.stack.services]

    def pid(self, service: str) -> int:
        svc = next(s for s in self.stack.services if s.name == service)
        assert svc.proc is not None
        return svc.proc.pid

    def key(self, service: str) -> str:
        return f"{self.label}/{service}"

    def start(self) -> None:
        log(f"{self.label}: starting action server + Rasa server on {self.model}")
        t0 = time.perf_counter()
        self.stack.start()
        t_ready = time.perf_counter()
        for svc in self.stack.services:
            self.sampler.watch(self.key(svc.name), svc.proc.pid)
        post_json(f"{self.stack.rasa_url}/webhooks/rest/webhook", {"sender": f"cold-{self.label}", "message": "hello"})
        t_first = time.perf_counter()
        self.cold = {"ready_s": round(t_ready - t0, 1), "first_turn_s": round(t_first - t0, 1), "first_turn_latency_s": round(t_first - t_ready, 2)}
        log(
            f"{self.label}: servers up after {self.cold['ready_s']} s; first answered turn after "
            f"{self.cold['first_turn_s']} s (that turn alone took {self.cold['first_turn_latency_s']} s)"
        )

    def warm_up(self, texts: List[str]) -> None:
        for i, text in enumerate(texts):
            post_json(f"{self.stack.rasa_url}/webhooks/rest/webhook", {"sender": f"warm-{self.label}-{i // 5}", "message": text})

    def cpu(self) -> Dict[str, float]:
        return {s.name: procstats.cpu_seconds(s.proc.pid) for s in self.stack.services if s.proc}

    def alive(self) -> Dict[str, bool]:
        return {s.name: bool(s.proc and s.proc.poll() is None) for s in self.stack.services}

    def stop(self) -> None:
        for svc in self.stack.services:
            self.sampler.unwatch(self.key(svc.name))
        self.stack.stop()
        shutil.rmtree(self.var_dir, ignore_errors=True)


def measured_level(bench: Bench, book, **kw: Any) -> Dict[str, Any]:
    cpu0 = bench.cpu()
    level: LevelResult = asyncio.run(run_level(bench.stack.rasa_url, book, sender_prefix=bench.label, **kw))
    cpu1 = bench.cpu()
    level.cpu_s = {k: max(0.0, cpu1.get(k, 0.0) - cpu0.get(k, 0.0)) for k in cpu0}
    s = level.summary()
    s["alive_after"] = bench.alive()
    log(
        f"{bench.label} {s['name']}: {s['turns']} turns, {s['throughput_tps']}/s, p50 {s['p50_ms']} ms, "
        f"p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, errors {s['errors']}, timeouts {s['timeouts']}, "
        f"server CPU {s['server_cpu_ms_per_turn']} ms/turn"
    )
    return {"summary": s, "latencies_ms": [round(x, 2) for x in level.latencies_ms()]}


def runtime_ablation(
    project: Bench, model: Path, staff_hook: str, sampler: procstats.MemorySampler, book, warm: List[str], args: argparse.Namespace
) -> Dict[str, Any]:
    """The project model on plain `rasa run` (no runtime fixes, no warm-up) against the
    project stack as run, at 10 conversations, back to back."""
    stock = Bench("project-stock-rasa", model, staff_hook, sampler, runtime_fixes=False)
    try:
        stock.start()
        stock.warm_up(warm)
        out: Dict[str, Any] = {"cold_start": stock.cold, "levels": {}}
        for b in (stock, project):
            out["levels"][b.label] = measured_level(
                b,
                book,
                name="c10-ablation",
                concurrency=10,
                duration_s=args.level_seconds,
                think_s=args.think_range,
                timeout_s=args.timeout,
                seed=args.seed + 50,
                min_turns=args.min_turns,
            )
        return out
    finally:
        stock.stop()


# ----------------------------------------------------------------------------- run


def run(args: argparse.Namespace) -> Dict[str, Any]:
    from tests.fakes import RecordingServer

    project_model = Path(args.model).resolve()
    if not project_model.exists():
        raise SystemExit(f"no trained model at {project_model}: run `make bench` (it trains the model first)")
    started = datetime.now(timezone.utc)
    results: Dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "started": started.isoformat(timespec="seconds"),
        "machine": machine_description(),
        "settings": {
            "levels": args.levels_list,
            "level_seconds": args.level_seconds,
            "think_s": list(args.think_range),
            "timeout_s": args.timeout,
            "soak_minutes": args.soak_minutes,
            "parse_requests": args.parse_requests,
            "saturation_seconds": args.saturation_seconds,
            "seed": args.seed,
            "min_turns": args.min_turns,
        },
        "command": "bench/run_bench.py " + " ".join(sys.argv[1:] + shlex.split(os.environ.get("BENCH_ARGS", ""))),
    }
    results["conditions_start"] = conditions("start")

    # 1. training (CPU heavy: before any latency measurement)
    results["baseline_training"] = None if args.no_baseline else ensure_baseline(args.retrain_baseline, args.baseline_epochs)
    results["baseline_epochs"] = args.baseline_epochs
    results["project_training"] = project_training(args.skip_train_timing)
    results["models"] = {"project": model_info(project_model)}
    # `make bench` retrains first; run directly, the model may be older than what it is trained from
    newer = newer_inputs(project_model)
    results["models"]["project"]["stale"] = bool(newer) if newer is not None else None
    results["models"]["project"]["newer_inputs"] = (newer or [])[:5]
    if not args.no_baseline and BASELINE_MODEL.exists():
        results["models"]["baseline"] = model_info(BASELINE_MODEL)
    results["model_mb"] = {k: v["mb"] for k, v in results["models"].items()}
    use_baseline = not args.no_baseline and (results["baseline_training"] or {}).get("status") == "ok"

    book = load_phrasebook()
    results["phrase_sources"] = book.sources
    sampler = procstats.MemorySampler(interval_s=1.0).start()
    recorder = RecordingServer().start()
    benches: List[Bench] = []
    try:
        # 2. cold starts, one stack at a time
        for label, model in [("project", project_model)] + ([("baseline", BASELINE_MODEL)] if use_baseline else []):
            b = Bench(label, model, recorder.url + "/staff-hook", sampler)
            benches.append(b)
            b.start()
        results["cold_start"] = {b.label: b.cold for b in benches}
        warm = [t for _, t in book.faq[:12]] + ["hello", "what time do you open?", "tell me more"]
        for b in benches:
            b.warm_up(warm)

        # 3. NLU only, alternating requests between the models
        texts = [t for _, t in book.faq]
        texts = (texts * (args.parse_requests // len(texts) + 1))[: args.parse_requests]
        parse = asyncio.run(parse_latencies({b.label: (b.stack.rasa_url, b.stack.token) for b in benches}, texts))
        results["parse"] = {
            k: {"n": len(v), "p50_ms": percentile(v, 50), "p95_ms": percentile(v, 95), "p99_ms": percentile(v, 99)} for k, v in parse.items()
        }
        log("NLU parse: " + ", ".join(f"{k} p50 {v['p50_ms']} ms p95 {v['p95_ms']} ms" for k, v in results["parse"].items()))

        # 4. load levels, project and baseline back to back, alternating who goes first
        results["levels"] = {b.label: {} for b in benches}
        plan: List[Tuple[str, int, Tuple[float, float], float]] = [(f"c{c}", c, args.think_range, args.level_seconds) for c in args.levels_list] + [
            ("saturation", 10, (0.0, 0.0), args.saturation_seconds)
        ]
        for i, (name, conc, think, secs) in enumerate(plan):
            order = benches if i % 2 == 0 else list(reversed(benches))
            for b in order:
                results["levels"][b.label][name] = measured_level(
                    b,
                    book,
                    name=name,
                    concurrency=conc,
                    duration_s=secs,
                    think_s=think,
                    timeout_s=args.timeout,
                    seed=args.seed + i,
                    min_turns=args.min_turns,
                )

        # peak memory so far, per server (process tree), before anything stops
        results["peak_rss_mb"] = {b.label: {svc: round(sampler.peak(b.key(svc)), 1) for svc in b.service_names()} for b in benches}
        results["hwm_mb"] = {b.label: {svc: round(procstats.hwm_mb(b.pid(svc)), 1) for svc in b.service_names()} for b in benches}

        for b in benches[1:]:
            b.stop()
        project = benches[0]

        # 5. what clinic_bot.rasa_runtime and the warm-up are worth: the same model on plain `rasa run`
        if not args.no_ablation:
            results["ablation"] = runtime_ablation(project, project_model, recorder.url + "/staff-hook", sampler, book, warm, args)

        # 6. soak: the project alone
        soak_s = args.soak_minutes * 60
        log(f"soak: project at 10 concurrent conversations for {args.soak_minutes:g} min")
        t_soak = time.monotonic() - sampler.t0
        soak = measured_level(
            project, book, name="soak", concurrency=10, duration_s=soak_s, think_s=args.think_range, timeout_s=args.timeout, seed=args.seed + 99
        )
        t_end = time.monotonic() - sampler.t0
        window = min(60.0, soak_s / 4)
        mem = {}
        for svc in project.service_names():
            series = sampler.series(project.key(svc), t_soak, t_end)
            first = [v for t, v in series if t <= t_soak + window]
            last = [v for t, v in series if t >= t_end - window]
            f, l = procstats.mean(first), procstats.mean(last)
            mem[svc] = {
                "first_window_mb": round(f, 1),
                "last_window_mb": round(l, 1),
                "growth": round(l / f - 1, 4) if f else None,
                "max_mb": round(max((v for _, v in series), default=0), 1),
                "series": [(round(t - t_soak, 1), round(v, 1)) for t, v in series],
            }
            log(f"soak {svc}: {f:.0f} MB (first {window:.0f} s) -> {l:.0f} MB (last {window:.0f} s), " f"{(l / f - 1) * 100 if f else 0:+.1f}%")
        results["soak"] = {"summary": soak["summary"], "latencies_ms": soak["latencies_ms"], "window_s": window, "duration_s": soak_s, "memory": mem}
        for svc in project.service_names():
            results["peak_rss_mb"]["project"][svc] = round(max(results["peak_rss_mb"]["project"][svc], sampler.peak(project.key(svc))), 1)
            results["hwm_mb"]["project"][svc] = round(procstats.hwm_mb(project.pid(svc)), 1)
        results["staff_notifications"] = len(recorder.matching("/staff-hook"))
    finally:
        for b in benches:
            try:
                b.stop()
            except Exception as exc:  # keep stopping the others
                log(f"could not stop {b.label}: {exc}")
        recorder.stop()
        sampler.stop()
    results["conditions_end"] = conditions("end")
    results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    return results


def main(argv: Optional[List[str]] = None) -> int:
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
