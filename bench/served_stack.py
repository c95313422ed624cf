"""One model served for the benchmark: an action server + Rasa server started by
clinic_bot.launcher.Stack on free ports with a throwaway data folder, its cold start
timed, its processes' memory watched and CPU read, so every measurement of a model
goes through the same handle."""

from __future__ import annotations

import json
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

from bench import procstats
from bench.workspace import BASE_ENV, CACHE, log


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
            self.sampler.watch(self.key(svc.name), self.pid(svc.name))
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
