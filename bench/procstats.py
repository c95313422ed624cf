"""Memory and CPU of a server process *and its children*, from /proc (Linux only).

`rasa run` may start helper processes, so every figure here is summed over the
whole process tree under the pid the launcher started.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _ppid_map() -> Dict[int, List[int]]:
    children: Dict[int, List[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # the command may contain spaces and parentheses: split after the last ')'
        rest = stat[stat.rfind(")") + 2 :].split()
        if len(rest) > 1:
            children.setdefault(int(rest[1]), []).append(int(name))
    return children


def tree(pid: int) -> List[int]:
    """pid and all its descendants that are alive now."""
    children = _ppid_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        if os.path.exists(f"/proc/{p}"):
            out.append(p)
            todo.extend(children.get(p, []))
    return out


def _status_kb(pid: int, key: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def rss_mb(pid: int) -> float:
    """Resident memory of the process tree, MB (VmRSS summed)."""
    return sum(_status_kb(p, "VmRSS") for p in tree(pid)) / 1024.0


def hwm_mb(pid: int) -> float:
    """Peak resident memory the kernel recorded (VmHWM), summed over the tree, MB."""
    return sum(_status_kb(p, "VmHWM") for p in tree(pid)) / 1024.0


def own_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 if it is gone), seconds."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read().decode("ascii", "replace")
        rest = stat[stat.rfind(")") + 2 :].split()
        return (int(rest[11]) + int(rest[12])) / CLK_TCK  # utime, stime (fields 14, 15)
    except (OSError, ValueError, IndexError):
        return 0.0


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process tree (live processes), seconds."""
    return sum(own_cpu_seconds(p) for p in tree(pid))


def machine_busy(interval_s: float = 2.0) -> float:
    """Share of all CPUs busy during `interval_s` (everything on the machine), 0..1."""

    def snap() -> Tuple[int, int]:
        with open("/proc/stat") as f:
            parts = [int(x) for x in f.readline().split()[1:]]
        idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
        return sum(parts), idle

    t1, i1 = snap()
    time.sleep(interval_s)
    t2, i2 = snap()
    return 1.0 - (i2 - i1) / max(1, t2 - t1)


def load_average() -> Tuple[float, float, float]:
    return os.getloadavg()


@dataclass
class Sample:
    t: float  # seconds since the sampler started
    rss_mb: Dict[str, float]


@dataclass
class MemorySampler:
    """Samples the RSS of named process trees every `interval_s` in a thread."""

    interval_s: float = 1.0
    samples: List[Sample] = field(default_factory=list)
    _pids: Dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    t0: float = field(default_factory=time.monotonic)

    def watch(self, name: str, pid: int) -> None:
        with self._lock:
            self._pids[name] = pid

    def unwatch(self, name: str) -> None:
        with self._lock:
            self._pids.pop(name, None)

    def sample_now(self) -> Sample:
        with self._lock:
            pids = dict(self._pids)
        s = Sample(time.monotonic() - self.t0, {name: rss_mb(pid) for name, pid in pids.items()})
        with self._lock:
            self.samples.append(s)
        return s

    def start(self) -> "MemorySampler":
        def run() -> None:
            while not self._stop.wait(self.interval_s):
                self.sample_now()

        self._thread = threading.Thread(target=run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=5)

    def peak(self, name: str) -> float:
        with self._lock:
            return max((s.rss_mb.get(name, 0.0) for s in self.samples), default=0.0)

    def series(self, name: str, since: float = 0.0, until: float = float("inf")) -> List[Tuple[float, float]]:
        with self._lock:
            return [(s.t, s.rss_mb[name]) for s in self.samples if name in s.rss_mb and since <= s.t <= until]


def mean(values: Iterable[float]) -> float:
    values = list(values)
    return sum(values) / len(values) if values else 0.0
