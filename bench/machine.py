"""The machine a run measured on and how busy it was, so the report can say whether
its absolute figures mean anything (a shared machine inflates them; ratios survive)."""

from __future__ import annotations

import hashlib
import os
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Optional

from bench import procstats
from bench.workspace import log


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
    affinity: Optional[int]
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
    """Load average and the share of CPUs busy over 2 s, logged and returned (start and end of a run)."""
    busy = procstats.machine_busy(2.0)
    la = procstats.load_average()
    log(f"{label}: load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}, CPUs busy {busy * 100:.0f}%")
    return {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "loadavg": [round(x, 2) for x in la], "cpu_busy": round(busy, 3)}
