"""Per-key message rate limits (one conversation, or one client address), in memory.

A sliding window per key: at most `count` events in any `seconds`. Memory is
bounded: beyond `max_keys` keys the least recently used are forgotten. Limits
are per process; behind a load balancer each server counts its own share.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable, Deque


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str) -> "Rate":
        """`"12/60"`: 12 per 60 seconds."""
        try:
            count, seconds = text.split("/")
            rate = cls(int(count), float(seconds))
        except ValueError as exc:
            raise ValueError(f"a rate is '<count>/<seconds>', not {text!r}") from exc
        if rate.count < 1 or rate.seconds <= 0:
            raise ValueError(f"a rate needs a positive count and window, not {text!r}")
        return rate


class RateLimiter:
    def __init__(self, rate: Rate, max_keys: int = 100_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.max_keys = max_keys
        self.clock = clock
        self._hits: "OrderedDict[str, Deque[float]]" = OrderedDict()

    def allow(self, key: str) -> bool:
        """Count one event for `key`; False (and not counted) when over the limit."""
        now = self.clock()
        hits = self._hits.pop(key, None) or deque()
        while hits and hits[0] <= now - self.rate.seconds:
            hits.popleft()
        allowed = len(hits) < self.rate.count
        if allowed:
            hits.append(now)
        self._hits[key] = hits
        while len(self._hits) > self.max_keys:
            self._hits.popitem(last=False)
        return allowed

    def retry_after(self, key: str) -> float:
        hits = self._hits.get(key)
        if not hits or len(hits) < self.rate.count:
            return 0.0
        return max(0.0, hits[0] + self.rate.seconds - self.clock())
